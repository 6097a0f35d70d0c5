"""Entry point of the ``kperf`` console script: imports every command module.

Every invocation registers every command, so a command module imports at its top only
what its signature needs (typer, rich, ``kperf.cli.app``, ``kperf.errors``) and the
rest (experiments, analysis, cluster, specs; so numpy, pandas, matplotlib) inside
its command function: ``kperf --help`` and ``kperf list cni`` load neither pandas
nor matplotlib (``tests/test_import.py``).
"""

from __future__ import annotations

from kperf.cli.app import app


def _register() -> None:
    # Each module adds its commands to ``app`` with @app.command(); importing is enough.
    import importlib

    for mod in (
        "kperf.cli.inspect_cmd",
        "kperf.cli.import_cmd",
        "kperf.cli.list_cmd",
        "kperf.cli.paths_cmd",
        "kperf.cli.run_cmd",
        "kperf.cli.plot_cmd",
        "kperf.cli.plan_cmd",
        "kperf.cli.report_cmd",
        "kperf.cli.bench_cmd",
        "kperf.cli.validate_cmd",
    ):
        importlib.import_module(mod)


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
