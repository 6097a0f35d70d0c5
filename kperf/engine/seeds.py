"""A run's random streams, the same bits as numpy's, made faster.

:meth:`kperf.engine.sim.Simulation.rng` hands every traffic source a
``Generator(PCG64(SeedSequence(seed, spawn_key=key)))``. numpy builds that
SeedSequence with array work per call (about 10-40 µs here, most of a 75,000-client
run's stream set-up), although a run's keys differ only in their last word. numpy's
SeedSequence (``numpy/random/bit_generator.pyx``: ``mix_entropy``, ``generate_state``)
hashes the run entropy (the seed, padded to the pool's four words when there is a
spawn key) into a four-word pool, then mixes each further word (the spawn key's) into
every pool word with a hash constant that advances the same way whatever the data.
So the pool after all but the key's last element depends on (seed, key[:-1]) alone:
:class:`StreamSeeds` keeps it and mixes in the last element, then derives the four
64-bit words PCG64 seeds from, and gives PCG64 those (:class:`_Seeded`). Same state,
same stream (tests/test_seeds.py compares them with numpy's over many seeds and keys);
anything else asked of the seed sequence (``spawn``, ``pool``) is numpy's own
SeedSequence, built then.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

_M32 = 0xFFFFFFFF
# numpy/random/bit_generator.pyx constants (SeedSequence's hash and mix)
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_XSHIFT = 16
_POOL = 4

# generate_state's hash constants: the one each output word is xored with, and the one
# it is multiplied by (INIT_B times MULT_B^i), for the 8 words of 4 uint64
_OUT: list[tuple[int, int]] = []
_h = _INIT_B
for _ in range(8):
    _OUT.append((_h, (_h * _MULT_B) & _M32))
    _h = (_h * _MULT_B) & _M32
del _h


def _words(n: int) -> list[int]:
    """numpy's ``_int_to_uint32_array``: little-endian 32-bit words, [0] for 0."""
    if n == 0:
        return [0]
    out = []
    while n > 0:
        out.append(n & _M32)
        n >>= 32
    return out


def _mix_in(mixer: list[int], words: list[int], h: int) -> int:
    """Mix ``words`` into every pool word (``mix_entropy``'s tail); the hash constant
    after them."""
    for w in words:
        for d in range(_POOL):
            v = w ^ h
            h = (h * _MULT_A) & _M32
            v = (v * h) & _M32
            v ^= v >> _XSHIFT
            r = (_MIX_MULT_L * mixer[d] - _MIX_MULT_R * v) & _M32
            mixer[d] = r ^ (r >> _XSHIFT)
    return h


def _start(run_words: list[int]) -> tuple[list[int], int]:
    """``mix_entropy`` on a run entropy with a spawn key to follow: the pool after the
    first four words and their all-pairs mixing, then the rest of the run entropy."""
    if len(run_words) < _POOL:
        run_words = run_words + [0] * (_POOL - len(run_words))
    h = _INIT_A
    mixer = []
    for i in range(_POOL):
        v = run_words[i] ^ h
        h = (h * _MULT_A) & _M32
        v = (v * h) & _M32
        mixer.append(v ^ (v >> _XSHIFT))
    for s in range(_POOL):
        for d in range(_POOL):
            if s != d:
                v = mixer[s] ^ h
                h = (h * _MULT_A) & _M32
                v = (v * h) & _M32
                v ^= v >> _XSHIFT
                r = (_MIX_MULT_L * mixer[d] - _MIX_MULT_R * v) & _M32
                mixer[d] = r ^ (r >> _XSHIFT)
    h = _mix_in(mixer, run_words[_POOL:], h)
    return mixer, h


class _Seeded(ISpawnableSeedSequence):
    """The seed sequence of a stream: ``SeedSequence(entropy, spawn_key=spawn_key)``,
    whose PCG64 state words (``generate_state(4, np.uint64)``) are known; numpy's own
    object answers anything else (built on first use)."""

    __slots__ = ("_real", "_state", "entropy", "spawn_key")

    def __init__(self, entropy: int, spawn_key: tuple[int, ...], state: list[int]) -> None:
        self.entropy = entropy
        self.spawn_key = spawn_key
        self._state = state
        self._real: np.random.SeedSequence | None = None

    @property
    def real(self) -> np.random.SeedSequence:
        """numpy's SeedSequence of the same entropy and spawn key."""
        if self._real is None:
            self._real = np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)
        return self._real

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words == 4 and dtype is np.uint64:
            return np.array(self._state, dtype=np.uint64)
        return self.real.generate_state(n_words, dtype)

    def spawn(self, n_children: int) -> list[Any]:  # numpy's SeedSequence children
        return self.real.spawn(n_children)

    def __getattr__(self, name: str) -> Any:  # pool, n_children_spawned, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.real, name)


class StreamSeeds:
    """``generator(key)`` = ``Generator(PCG64(SeedSequence(seed, spawn_key=key)))``,
    bit for bit (see the module doc)."""

    def __init__(self, seed: Any) -> None:
        self.seed = seed
        self._fast = seed.__class__ is int and seed >= 0
        self._prefix: dict[tuple[int, ...], tuple[list[int], int]] = {}

    def generator(self, key: tuple[int, ...]) -> np.random.Generator:
        if not key or not self._fast or min(key) < 0:  # numpy's own (and its errors)
            ss = np.random.SeedSequence(self.seed, spawn_key=key)
            return np.random.Generator(np.random.PCG64(ss))
        head = key[:-1]
        got = self._prefix.get(head)
        if got is None:
            mixer, h = _start(_words(self.seed))
            for k in head:
                h = _mix_in(mixer, _words(k), h)
            got = self._prefix[head] = (mixer, h)
        mixer = list(got[0])
        _mix_in(mixer, _words(key[-1]), got[1])
        out = []
        for i, (x, m) in enumerate(_OUT):
            v = ((mixer[i & 3] ^ x) * m) & _M32
            out.append(v ^ (v >> _XSHIFT))
        state = [out[0] | out[1] << 32, out[2] | out[3] << 32, out[4] | out[5] << 32,
                 out[6] | out[7] << 32]
        return np.random.Generator(np.random.PCG64(_Seeded(self.seed, key, state)))
