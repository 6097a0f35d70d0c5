"""One ``kperf run`` per results folder at a time: ``DIR/kperf.lock``.

Two sweeps writing into one folder would both run every run and overwrite each
other's summary and manifest. ``kperf run`` therefore takes the folder's lock before
it reads what is already done, and keeps it until the summary and manifest are
written; a second ``kperf run`` into the same folder meanwhile refuses at once (one
line naming the holder's pid, host and start time, exit code 2) rather than
waiting: a sweep can take hours, and a command that silently waits for one is
worse than one that says what is going on. Run it again when the first one ends
(it then resumes), or use another ``--out``.

How. The lock is an OS lock on the open file (``flock`` on POSIX, ``msvcrt.locking``
on Windows), so it is held exactly as long as the process lives: the kernel
releases it when the holder exits, is killed (SIGKILL, out of memory) or its
machine's NFS client goes away. The file also holds the holder's pid, host, start
time and command, for the message. A lock file left by a process that died is
therefore *stale*: the next run gets the OS lock, says whose lock it takes over,
and overwrites it. The pid in the file is never trusted on its own (it may have
been reused); only where the file system offers no locks at all (``ENOLCK`` on some
network file systems) does kperf fall back to it: a lock file of a live pid on this
host, or of any other host, is then respected.

The holder removes the file when it is done (while still holding the lock); a
process that opened the old file meanwhile notices, once it gets the lock, that the
path no longer names the file it locked, and starts over.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kperf.errors import SpecError

LOCK_NAME = "kperf.lock"

_BUSY = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK}


@dataclass
class FolderLock:
    """A held lock on a results folder; :meth:`release` it (or use ``with``)."""

    path: Path
    fd: int
    previous: dict[str, Any] | None = None
    """What a stale lock file said (pid, host, started_at...) when this lock took it
    over; None when there was none."""
    os_lock: bool = True
    released: bool = field(default=False, repr=False)

    def takeover_note(self) -> str | None:
        """One line about the stale lock taken over, or None."""
        prev = self.previous
        if not prev:
            return None
        who = f"pid {prev.get('pid', '?')} on {prev.get('host', '?')}"
        since = f" (started {prev['started_at']})" if prev.get("started_at") else ""
        return (f"took over the stale lock {self.path} of {who}{since}: that run ended "
                "without releasing it (killed?); its finished runs are kept")

    def release(self) -> None:
        """Remove the lock file (if it is still this one) and release the lock."""
        if self.released:
            return
        self.released = True
        try:
            with contextlib.suppress(OSError):
                if _same_file(self.fd, self.path):
                    if sys.platform == "win32":  # an open file cannot be removed there
                        _unlock(self.fd)
                        os.close(self.fd)
                        self.fd = -1
                    self.path.unlink()
        finally:
            if self.fd >= 0:
                os.close(self.fd)  # releases the OS lock
                self.fd = -1

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _try_lock(fd: int) -> bool:
    """Take the OS lock without waiting: True if taken, False if another process
    holds it; OSError if the file system has no locks."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in _BUSY or exc.errno == errno.EDEADLK:
                return False
            raise
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (POSIX; True when unsure)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it is someone else's
        return True
    return True


def _read_holder(path: Path, fd: int | None = None) -> dict[str, Any]:
    try:
        if fd is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            text = raw.decode("utf-8", "replace")
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _busy(folder: Path, path: Path, holder: dict[str, Any]) -> SpecError:
    pid = holder.get("pid", "unknown")
    host = holder.get("host") or "unknown host"
    since = f" since {holder['started_at']}" if holder.get("started_at") else ""
    return SpecError(
        "--out", str(folder),
        f"another kperf run (pid {pid} on {host}{since}) is writing to this folder "
        f"({path}); allowed: one kperf run per folder at a time: wait for it to end, "
        "then run again to resume, or use another --out",
    )


def acquire(folder: str | os.PathLike[str], command: str = "") -> FolderLock:
    """Take ``folder``'s lock (the folder must exist) or raise a SpecError naming the
    process that holds it. Does not wait."""
    folder = Path(folder)
    path = folder / LOCK_NAME
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }
    for _ in range(50):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        except OSError as exc:
            raise SpecError("--out", str(folder), f"cannot create the lock file {path} "
                            f"({type(exc).__name__}: {exc.strerror or exc}); allowed: a "
                            "folder you can write to") from None
        try:
            os_lock = True
            try:
                taken = _try_lock(fd)
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                os_lock, taken = False, True  # no locks here: trust the pid in the file
            if not taken:
                holder: dict[str, Any] = {}
                for _ in range(20):  # the holder writes its details right after locking
                    holder = _read_holder(path)
                    if holder:
                        break
                    time.sleep(0.025)
                raise _busy(folder, path, holder)
            if not _same_file(fd, path):  # removed by its last holder meanwhile: again
                os.close(fd)
                continue
            previous = _read_holder(path, fd) or None
            if not os_lock and previous is not None:
                pid = previous.get("pid")
                here = previous.get("host") == me["host"]
                if not here or not isinstance(pid, int) or pid_alive(pid):
                    raise _busy(folder, path, previous)
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(me) + "\n").encode())
            return FolderLock(path=path, fd=fd, previous=previous, os_lock=os_lock)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
    raise SpecError("--out", str(folder), f"could not take the lock {path} (it keeps being "
                    "replaced); allowed: one kperf run per folder at a time")
