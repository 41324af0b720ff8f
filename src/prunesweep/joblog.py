"""Send a job's stderr, including what C++ libraries such as TensorFlow write, to its log file.

When the job fails, its last line says why in one line, in the log and on the console Snakemake
shows (next to Snakemake's "Error in rule ..."), so nobody has to dig through a traceback to learn
that an input file is truncated or comes from another config.

A stop that a retry cannot fix (prunesweep.retries.DETERMINISTIC) is remembered next to the log,
and a retry of the same job (`attempt` > 1) repeats it at once instead of doing the work again.
"""

import os
import sys
import traceback

from prunesweep import retries
from prunesweep.config import ConfigError
from prunesweep.files import OutputError, SchemaError

#: bad inputs or a full or read-only disk, not bugs: the message alone says what is wrong
INPUT_ERRORS = (SchemaError, FileNotFoundError, ConfigError, OutputError)


def capture(path: str, attempt: int = 1) -> None:
    """Point file descriptor 2 and sys.stderr at `path` (Snakemake's `log:` of the job).

    `attempt` is the job's attempt (the rules' `attempt` resource): on a retry of a job that
    stopped for a reason a retry cannot fix, print that reason again and exit with status 1.
    """
    console = os.fdopen(os.dup(2), "w", buffering=1)
    log = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    os.dup2(log.fileno(), 2)
    sys.stderr = log
    earlier = retries.earlier_stop(path, attempt)
    if earlier is not None:
        line = (
            f"{earlier} (attempt {attempt} not run: an earlier attempt stopped on this, and the "
            "same inputs stop it the same way; fix them and run Snakemake again)"
        )
        _tell(line, log, console)
        raise SystemExit(1)
    retries.forget_stop(path)
    sys.excepthook = _reporter(log, console, job=_job_name(), path=path)


def _job_name() -> str:
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "job"
    # Snakemake runs scripts as .snakemake/scripts/tmpXXXX.<name>.py
    return script.rsplit(".", 2)[-2] if script.count(".") >= 2 else script.removesuffix(".py")


def failure_line(err: BaseException, job: str = "job") -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, INPUT_ERRORS):
        return f"prunesweep: {job} stopped: {text}"
    return f"prunesweep: {job} failed: {type(err).__name__}: {text}"


def _tell(line: str, *streams) -> None:
    for stream in streams:
        try:
            print(line, file=stream, flush=True)
        except (OSError, ValueError):
            pass


def _reporter(log, console, *, job: str, path: str):
    def report(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        if not isinstance(value, INPUT_ERRORS):
            traceback.print_exception(kind, value, tb, file=log)
        line = failure_line(value, job)
        if isinstance(value, retries.DETERMINISTIC):
            retries.remember_stop(path, line)
        _tell(line, log, console)

    return report
