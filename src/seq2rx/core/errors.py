"""One exception for bad input, with the file, the place in it and what to do."""

from __future__ import annotations


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
