"""Numeric CSV parsing with error messages that name the file, line and column."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skelaug.io._base import SkeletonFormatError

__all__ = ["find_column", "norm_name", "numbered_lines", "parse_numeric", "split_header"]


def numbered_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers (CRLF, LF and a UTF-8 BOM handled)."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    return [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]


_SEPARATORS = re.compile(r"[\s_\-.]+")


def norm_name(name: str) -> str:
    """A column name as CSV readers compare it: lower case, without ``_``, ``-``, ``.``, spaces and quotes.

    So ``LandmarkID``, ``landmark_id``, ``Landmark-ID`` and ``"landmark id"`` are one name.

    Example:
        >>> norm_name(" Landmark_ID "), norm_name("frame-idx"), norm_name('"L0.x"')
        ('landmarkid', 'frameidx', 'l0x')
    """
    return _SEPARATORS.sub("", name.strip().strip('"').strip("'").lower())


def split_header(line: str, delimiter: str = ",") -> list[str]:
    """Header fields, stripped of spaces and surrounding quotes (the names as the file spells them)."""
    return [h.strip().strip('"').strip("'").strip() for h in line.split(delimiter)]


def find_column(header: Sequence[str], names: Iterable[str]) -> int | None:
    """Index of the first header field whose :func:`norm_name` is one of ``names`` (compared normalised).

    Example:
        >>> find_column(["Frame", "LandmarkID", "X", "Y"], ("landmark", "landmark_id"))
        1
    """
    want = {norm_name(n) for n in names}
    return next((i for i, h in enumerate(header) if norm_name(h) in want), None)


def parse_numeric(
    path: Path, rows: list[tuple[int, str]], ncols: int | None = None, delimiter: str = ","
) -> NDArray[np.float64]:
    """Parse numeric rows into ``(len(rows), ncols)``; empty fields and ``nan`` become NaN.

    ``ncols`` defaults to the first row's field count. If every row ends with the delimiter, that
    trailing empty field is dropped. A wrong field count or a non-number raises
    :class:`SkeletonFormatError` with the line (and column) number.
    """
    if not rows:
        return np.zeros((0, ncols or 0))
    lines = [ln.strip() for _, ln in rows]
    if all(ln.endswith(delimiter) for ln in lines):
        lines = [ln[:-1] for ln in lines]
    n = ncols if ncols is not None else lines[0].count(delimiter) + 1
    try:
        flat = np.array(delimiter.join(lines).split(delimiter), dtype=np.float64)
        if flat.size == n * len(lines) and all(ln.count(delimiter) == n - 1 for ln in lines):
            return flat.reshape(len(lines), n)
    except ValueError:
        pass
    out = np.empty((len(lines), n), dtype=np.float64)
    for r, ((lineno, _), ln) in enumerate(zip(rows, lines, strict=True)):
        fields = ln.split(delimiter)
        if len(fields) != n:
            raise SkeletonFormatError(path, f"{len(fields)} columns, expected {n}", line=lineno)
        for c, f in enumerate(fields):
            f = f.strip()
            if f == "" or f.lower() in ("nan", "na", "null", "none"):
                out[r, c] = np.nan
                continue
            try:
                out[r, c] = float(f)
            except ValueError:
                raise SkeletonFormatError(
                    path, f"column {c + 1} is not a number: {f[:30]!r}", line=lineno
                ) from None
    return out
