"""Send a job's stderr, including what C++ libraries such as TensorFlow write, to its log file.

When the job fails, its last line says why in one line, in the log and on the console Snakemake
shows (next to Snakemake's "Error in rule ..."), so nobody has to dig through a traceback to learn
that an input file is truncated or comes from another config.
"""

import os
import sys
import traceback

from prunesweep.config import ConfigError
from prunesweep.files import OutputError, SchemaError

#: bad inputs or a full or read-only disk, not bugs: the message alone says what is wrong
INPUT_ERRORS = (SchemaError, FileNotFoundError, ConfigError, OutputError)


def capture(path: str) -> None:
    """Point file descriptor 2 and sys.stderr at `path` (Snakemake's `log:` of the job)."""
    console = os.fdopen(os.dup(2), "w", buffering=1)
    log = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    os.dup2(log.fileno(), 2)
    sys.stderr = log
    sys.excepthook = _reporter(log, console, job=_job_name())


def _job_name() -> str:
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "job"
    # Snakemake runs scripts as .snakemake/scripts/tmpXXXX.<name>.py
    return script.rsplit(".", 2)[-2] if script.count(".") >= 2 else script.removesuffix(".py")


def failure_line(err: BaseException, job: str = "job") -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, INPUT_ERRORS):
        return f"prunesweep: {job} stopped: {text}"
    return f"prunesweep: {job} failed: {type(err).__name__}: {text}"


def _reporter(log, console, *, job: str):
    def report(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        if not isinstance(value, INPUT_ERRORS):
            traceback.print_exception(kind, value, tb, file=log)
        line = failure_line(value, job)
        for stream in (log, console):
            try:
                print(line, file=stream, flush=True)
            except (OSError, ValueError):
                pass

    return report
