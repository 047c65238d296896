"""File helpers: outputs appear complete or not at all."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

INDEX_SUFFIXES = (".tbi", ".csi", ".bai", ".fai", ".gzi")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(path: Path, suffix: str = "") -> None:
    """Remove ``.tmp.<pid>.<name><suffix>`` leftovers beside ``path`` (with their indexes) of
    processes that no longer run: what a job killed mid-write (SIGKILL, a node lost) leaves.
    The next attempt at the same output clears them, so a resumed run leaves no litter."""
    import shutil

    if not path.parent.is_dir():
        return
    names = {path.name + suffix + ext for ext in ("", *INDEX_SUFFIXES)}
    for old in path.parent.glob(".tmp.*"):
        parts = old.name.split(".", 3)
        if len(parts) == 4 and parts[2].isdigit() and parts[3] in names and not _alive(int(parts[2])):
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A failure (or a kill) leaves no file at ``path`` that could be taken for a complete result.
    A full disk or a read-only folder raises :class:`~seq2rx.core.errors.OutputError` naming ``path``.
    The temporary name keeps the final suffix so that tools which infer the format from the
    extension (``.vcf.gz``, ``.bam``) still do. A temporary file that a killed earlier attempt
    left behind is removed first.
    """
    from seq2rx.core.errors import output_error

    path = Path(path)
    tmp = path.with_name(f".tmp.{os.getpid()}.{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path)
    except OSError as exc:
        raise (output_error(exc, path) or exc) from None
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        # on failure, any index written beside the temporary file goes with it
        for ext in INDEX_SUFFIXES:
            leftover = tmp.with_name(tmp.name + ext)
            if leftover.exists():
                leftover.unlink()
        # a full disk or a read-only folder: one line naming the output, not a traceback
        err = output_error(exc, path, temporary=tmp)
        if err is not None:
            raise err from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def scratch_dir(path: str | os.PathLike) -> Iterator[str]:
    """A working folder beside ``path`` (``.tmp.<pid>.<name>.d``), removed afterwards.

    Beside the output rather than in /tmp so that large intermediates stay on the output's file
    system; a folder left by a killed earlier attempt at the same output is removed first.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path, ".d")
    folder = path.with_name(f".tmp.{os.getpid()}.{path.name}.d")
    folder.mkdir(exist_ok=True)
    try:
        yield str(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def log_stderr(path: str | os.PathLike, inputs=None) -> None:
    """Send this process's standard error, Python's and C libraries' alike, to ``path``.

    Snakemake scripts call this first, so that messages from htslib, BWA and the library all
    land in the rule's ``log:`` file. Bad input (:class:`~seq2rx.core.errors.InputError`) that reaches
    the top of the script is written there as one line, ``seq2rx: input error: ...``, without a
    traceback, and the process still exits with status 1 so the job fails; so is a missing or
    failing external program (:class:`~seq2rx.core.errors.ToolError`), as ``seq2rx: tool error: ...``;
    so is a full disk or a read-only folder, as ``seq2rx: output error: cannot write PATH: ...``;
    so is another file-system problem a user fixes (:func:`~seq2rx.core.errors.file_problem`: a
    missing file, a folder, no permission), as an input error. Anything else is a bug and
    keeps its traceback. With ``inputs`` (the job's ``snakemake.input``), each input file gets a
    first look (:func:`seq2rx.core.filecheck.check_inputs`) before the script reads any of it.
    """
    import sys

    from seq2rx.core.errors import InputError, OutputError, ToolError, file_problem, output_error

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "w")  # noqa: SIM115 - kept open for the life of the process
    sys.stderr.flush()
    os.dup2(fh.fileno(), 2)
    sys.stderr = fh
    previous = sys.excepthook

    def report(kind, value, tb):
        if isinstance(value, InputError):
            print(f"seq2rx: input error: {value}", file=sys.stderr, flush=True)
        elif isinstance(value, ToolError):
            print(f"seq2rx: tool error: {value}", file=sys.stderr, flush=True)
        elif (err := value if isinstance(value, OutputError) else output_error(value, "an output")) is not None:
            print(f"seq2rx: output error: {err}", file=sys.stderr, flush=True)
        elif file_problem(value) is not None:
            print(f"seq2rx: input error: {file_problem(value)}", file=sys.stderr, flush=True)
        else:
            previous(kind, value, tb)

    sys.excepthook = report
    if inputs is not None:
        from seq2rx.core.filecheck import check_inputs

        check_inputs(inputs)


def write_json(obj, path: str | os.PathLike, *, sort_keys: bool = True, ensure_ascii: bool = True,
               allow_nan: bool = True) -> None:  # fmt: skip
    """Write ``obj`` as indented JSON with a final newline, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii, allow_nan=allow_nan)
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
