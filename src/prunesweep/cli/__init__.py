"""The `prunesweep` command: the everyday questions about a finished sweep, without Python.

    prunesweep summary [results/]              the selection table per task
    prunesweep predict MODEL.nc INPUTS [-o OUT] run an exported model on named physical inputs
    prunesweep show FILE.nc                    what a results file is, in a few lines
    prunesweep verify [results/]               check a results folder's files (prunesweep.verify)

Exit status: 0 done; 1 an input is wrong (the one line on stderr names the file, column or
key); 2 the command line is wrong (argparse's usage message). `verify` returns what the
verifier returns. One module per subcommand; none imports TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from prunesweep import __version__
from prunesweep.cli import predict, show, summary, verify
from prunesweep.cli.common import CommandError

COMMANDS = {"summary": summary, "predict": predict, "show": show, "verify": verify}

EXIT_CODES = """\
exit status:
  0  done
  1  an input is wrong: one line on stderr names the file, column or value
  2  the command line is wrong (usage message)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prunesweep",
        description="Ask a finished prunesweep sweep its answers: which network was selected, "
        "what it predicts, what a file is, whether the files are intact.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"prunesweep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            epilog=getattr(module, "EPILOG", EXIT_CODES),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit status (errors are one line on stderr)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if extra and not getattr(args.module, "PASS_THROUGH", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.module.run(args, extra) or 0)
    except CommandError as err:
        print(f"prunesweep {args.command}: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `prunesweep summary | head`
        return 0
