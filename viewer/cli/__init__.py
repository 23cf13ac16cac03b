"""The ``hubscape`` command line.

Each command group lives in its own module under hubscape.viewer.cli and defines
``WORLD`` (the heading it is listed under in --help) and ``register(subparsers)``, which adds
its subcommands and sets ``func(args) -> int`` on each. Heavy imports (torch, pygfx) happen
inside the handlers, so ``hubscape --help`` stays fast.

User errors (HubscapeError) and bad arguments print one line on stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hubscape.core.bundle import hubscape_version
from hubscape.core.errors import HubscapeError

#: Command modules in the order their worlds appear in --help.
COMMAND_MODULES: list[str] = [
    "growth",
    "landscape",
    "activations",
    "safety",
    "view",
    "export",
    "serve",
]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line ("hubscape growth fit: error: ...")."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    modules = [importlib.import_module(f"hubscape.viewer.cli.{name}") for name in COMMAND_MODULES]
    parser = OneLineParser(
        prog="hubscape",
        description="hubscape: a 3D visual-analytics workbench for Hugging Face models.",
        epilog=_worlds_epilog(modules),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hubscape {hubscape_version()}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=OneLineParser)
    for module in modules:
        module.register(sub)
    return parser


def _worlds_epilog(modules) -> str:
    by_world: dict[str, list[str]] = {}
    for module in modules:
        by_world.setdefault(module.WORLD, []).extend(module.COMMANDS)
    lines = ["commands by world:"]
    for world, commands in by_world.items():
        lines.append(f"  {world:<13} {', '.join(commands)}")
    lines.append("\nRun 'hubscape COMMAND --help' for a command's options.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HubscapeError as exc:
        print(f"hubscape: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except MemoryError:
        print("hubscape: error: out of memory: the input asks for more memory than this machine has", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hubscape: interrupted", file=sys.stderr)
        return 130


def one_line(text: str) -> str:
    """A message as one line (a user error is never more than one line on the terminal)."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip()) or "unknown error"


if __name__ == "__main__":
    sys.exit(main())
