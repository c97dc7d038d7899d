"""The ``alphacut`` command line.

``alphacut INPUT... [options]`` cuts photos out (see :mod:`alphacut.cli.cutout`); the
sub-commands ``demo``, ``models`` and ``gimp`` live in modules of their own.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main"]

# sub-command -> module with add_parser(subparsers) and run(args) -> int
SUBCOMMANDS = {
    "demo": "alphacut.cli.demo",
    "models": "alphacut.cli.models",
    "gimp": "alphacut.cli.gimp",
}


def _subcommand_parser(module) -> argparse.ArgumentParser:
    # Only the named sub-command's module is imported: each may pull in heavy or optional
    # dependencies that the others do not need.
    parser = argparse.ArgumentParser(prog="alphacut")
    subparsers = parser.add_subparsers(dest="command", required=True)
    module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 a file failed, 2 usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            module = importlib.import_module(SUBCOMMANDS[argv[0]])
            return module.run(_subcommand_parser(module).parse_args(argv))
        from alphacut.cli.cutout import run_cutout

        return run_cutout(argv)
    except KeyboardInterrupt:
        print("alphacut: interrupted", file=sys.stderr)
        return 130
