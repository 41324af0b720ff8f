"""`prunesweep verify [results/]`: the verifier of `prunesweep.verify`, as a subcommand.

One implementation: this subcommand hands the folder and any further options to
`prunesweep.verify.main` and returns its exit status.
"""

from __future__ import annotations

import argparse

from prunesweep import verify

HELP = "check every file of a results folder (digests, chains, masks)"
DESCRIPTION = (
    "Check the files of a results folder with prunesweep.verify: one line per bad file and the "
    "--forcerun that remakes it. Further options go to the verifier."
)
EPILOG = "exit status: the verifier's (0 when every file checks out)\n"
#: options this parser does not know go to the verifier
PASS_THROUGH = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="?", default="results", help="the results folder (default: results)"
    )


def run(args: argparse.Namespace, extra: list[str]) -> int:
    return int(verify.main([args.results, *extra]) or 0)
