"""`prunesweep verify [results/]`: hands over to the verifier, `prunesweep.verify.main`.

The verifier (digests, chains, masks of every file in a results folder) is its own module; this
subcommand only calls it, with the folder and any further options it takes, and returns its
exit status. Where this prunesweep has no verifier it says so in one line.
"""

from __future__ import annotations

import argparse
import importlib

from prunesweep.cli.common import CommandError

HELP = "check every file of a results folder (digests, chains, masks)"
DESCRIPTION = (
    "Check the files of a results folder with prunesweep.verify: one line per bad file and the "
    "--forcerun that remakes it. Further options go to the verifier."
)
EPILOG = "exit status: the verifier's (0 when every file checks out)\n"
#: options this parser does not know go to the verifier
PASS_THROUGH = True
VERIFIER = "prunesweep.verify"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="?", default="results", help="the results folder (default: results)"
    )


def run(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        verifier = importlib.import_module(VERIFIER)
    except ModuleNotFoundError as err:
        if err.name != VERIFIER:  # the verifier is there but something it needs is not
            raise
        raise CommandError(
            f"this prunesweep has no verifier ({VERIFIER} is missing); update prunesweep"
        ) from None
    return int(verifier.main([args.results, *extra]) or 0)
