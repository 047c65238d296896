"""One exception for bad input, with the file, the place in it and what to do."""

from __future__ import annotations

import errno
import os


class InputError(Exception):
    """Bad user input. The message names the file, the line or row, the field, and a fix.

    >>> str(InputError("samples.tsv", "must not contain '/'", row=3, field="sample"))
    "samples.tsv, row 3, field 'sample': must not contain '/'"
    """

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        row: int | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.problem = problem
        self.row = row
        self.line = line
        self.field = field
        self.hint = hint
        where = [str(path)]
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        msg = ", ".join(where) + f": {problem}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class ToolError(Exception):
    """An external program is missing or failed. The message names the program, what went wrong
    and what to do.

    >>> str(ToolError("delly", "not found on PATH", hint="apt-get install delly"))
    'delly: not found on PATH (apt-get install delly)'
    """

    def __init__(self, tool: str, problem: str, *, hint: str | None = None) -> None:
        self.tool = tool
        self.problem = problem
        self.hint = hint
        super().__init__(f"{tool}: {problem}" + (f" ({hint})" if hint else ""))


#: errno -> the one-line reason an output cannot be written (disk full, quota, a read-only place)
WRITE_ERRNOS = {
    errno.ENOSPC: "No space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied: the folder is read-only for this user",
    errno.EPERM: "operation not permitted: the folder is read-only for this user",
}


class OutputError(Exception):
    """An output cannot be written: the disk is full, a quota is reached, or the folder is
    read-only. The message names the path and the reason in one line.

    >>> str(OutputError("results/x.json", errno.ENOSPC))
    'cannot write results/x.json: No space left on device (free space there, or run in a folder on another disk)'
    """

    def __init__(self, path: str | os.PathLike, code: int) -> None:
        self.path = str(path)
        self.errno = code
        if code in (errno.ENOSPC, errno.EDQUOT):
            hint = "free space there, or run in a folder on another disk"
        else:
            hint = "run in a folder you can write to, or make this one writable"
        super().__init__(f"cannot write {self.path}: {WRITE_ERRNOS[code]} ({hint})")


def output_error(exc: BaseException, path: str | os.PathLike, *, temporary: str | os.PathLike | None = None):
    """The :class:`OutputError` that an :class:`OSError` raised while writing ``path`` stands for,
    or None when it is not a full disk or a read-only place. A permission error about another
    file (an input being read) is not taken for an output problem. ``temporary`` is the name the
    output is written under first; the message names ``path`` instead."""
    if not isinstance(exc, OSError) or exc.errno not in WRITE_ERRNOS:
        return None
    named = exc.filename
    if named is None or (temporary is not None and os.fspath(named) == os.fspath(temporary)):
        named = path
    elif exc.errno in (errno.EACCES, errno.EPERM) and os.fspath(named) != os.fspath(path):
        # a permission error on a file other than the output or its folder is about an input
        if os.path.abspath(os.fspath(named)) not in _parents(path):
            return None
    return OutputError(named, exc.errno)


def _parents(path: str | os.PathLike) -> set[str]:
    full = os.path.abspath(os.fspath(path))
    out = {full}
    while os.path.dirname(full) != full:
        full = os.path.dirname(full)
        out.add(full)
    return out


#: errno -> (what is wrong, what to do) for the file-system problems a user fixes, not a bug
FILE_PROBLEMS = {
    "ENOENT": ("does not exist", "check the path"),
    "EISDIR": ("is a folder where a file is wanted", "give the file inside it"),
    "ENOTDIR": ("a part of the path is a file where a folder is wanted", "check the path"),
    "EACCES": ("permission denied", "check the file's and its folder's permissions"),
    "EPERM": ("operation not permitted", "check the file's and its folder's permissions"),
    "EROFS": ("read-only file system", "write the results to a writable folder"),
    "ENOSPC": ("No space left on device", "free some space, or run in a folder on a larger disk"),
    "EDQUOT": ("disk quota exceeded", "free some space, or run in a folder on a larger disk"),
    "ENOEXEC": ("not in a format htslib recognises (VCF/BCF, SAM/BAM/CRAM, bgzip)", "check the file's format"),
}


def file_problem(exc: BaseException) -> InputError | None:
    """The :class:`InputError` for an ``OSError`` that names a file and says what a user can fix
    (missing, a folder, no permission, read-only, disk full, a format htslib does not recognise);
    ``None`` for anything else, which stays a bug to be reported with its traceback.

    >>> str(file_problem(FileNotFoundError(2, "No such file or directory", "reads.fq")))
    'reads.fq: does not exist (check the path)'
    >>> file_problem(ValueError("x")) is None
    True
    """
    import errno

    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    name = errno.errorcode.get(exc.errno)
    if name not in FILE_PROBLEMS:
        return None
    problem, hint = FILE_PROBLEMS[name]
    path = exc.filename if exc.filename is not None else "(file not named by the system)"
    return InputError(str(path), problem, hint=hint)
