"""Resuming a batch: which existing outputs are finished, and what a dead writer left.

A rerun skips every output that exists before any computing (an existing file is never
replaced without ``overwrite``). :func:`unfinished` then tells the outputs a previous run
finished from the ones to look at, cheaply: two ``stat`` calls and two small reads per
output, no decoding. alphacut writes atomically (a temporary file, then a rename), so a
file under its final name is whole; the check catches what another writer left (a copy
cut short, an empty placeholder) and outputs made before their input last changed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from contextlib import suppress
from pathlib import Path

__all__ = ["remove_partial", "unfinished"]

# How each format's files start and end; None: no end marker to look for.
_SIGNATURES: dict[str, tuple[tuple[bytes, ...], bytes | None]] = {
    "PNG": ((b"\x89PNG\r\n\x1a\n",), b"IEND\xaeB`\x82"),
    "JPEG": ((b"\xff\xd8\xff",), b"\xff\xd9"),
    "WEBP": ((b"RIFF",), None),  # its size is in the header instead (see _whole)
    "TIFF": ((b"II*\x00", b"MM\x00*"), None),
}


def unfinished(output: str | os.PathLike, source: str | os.PathLike, fmt: str) -> str | None:
    """Why an existing ``output`` does not look like a finished result of ``source``.

    Finished means: a non-empty regular file, modified no earlier than its input, that
    starts (and for PNG, JPEG and WebP, ends) as a whole file of format ``fmt`` does.

    Parameters
    ----------
    output : str or path-like
        The existing output.
    source : str or path-like
        Its input; ``"-"`` (standard input) has no time to compare with.
    fmt : str
        PIL's name of the output's format: ``"PNG"``, ``"JPEG"``, ``"WEBP"``, ``"TIFF"``.

    Returns
    -------
    str or None
        ``None`` when it is finished, else a short phrase (``"older than its input"``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "in.jpg").write_bytes(b"...")
    3
    >>> (folder / "out.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n cut short")
    18
    >>> unfinished(folder / "out.png", folder / "in.jpg", "PNG")
    'not a whole PNG file'
    """
    try:
        info = os.stat(output)
    except OSError as error:
        return error.strerror or "cannot be read"
    if info.st_size == 0:
        return "empty"
    if os.fspath(source) != "-":
        with suppress(OSError):
            if info.st_mtime_ns < os.stat(source).st_mtime_ns:
                return "older than its input"
    if not _whole(output, info.st_size, fmt):
        return f"not a whole {fmt} file"
    return None


def _whole(output: str | os.PathLike, size: int, fmt: str) -> bool:
    starts, end = _SIGNATURES.get(fmt, ((b"",), None))
    try:
        with open(output, "rb") as handle:
            head = handle.read(16)
            tail = b""
            if end is not None and size >= len(end):
                handle.seek(size - len(end))
                tail = handle.read(len(end))
    except OSError:
        return False
    if not head.startswith(starts):
        return False
    if fmt == "WEBP":
        # RIFF's length field counts the bytes after the first 8: a cut file is shorter.
        return head[8:12] == b"WEBP" and int.from_bytes(head[4:8], "little") + 8 <= size
    return end is None or tail == end


def remove_partial(outputs: list[str]) -> None:
    """Remove the temporary files that writers killed mid-write left beside ``outputs``.

    They are named as :func:`alphacut.io.write.write_image` names them:
    ``.NAME.XXXXXXXX.tmp`` beside the output's real path, NAME cut at 100 characters, X a
    hex digit. Each folder is listed once, however many outputs it holds.

    Parameters
    ----------
    outputs : list of str
        Output paths; ``"-"`` (standard output) is passed over.
    """
    names: dict[Path, set[str]] = defaultdict(set)
    for output in outputs:
        if output != "-":
            real = Path(os.path.realpath(output))
            names[real.parent].add(real.name[:100])
    for folder, wanted in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if _temporary_of(entry.name) in wanted:
                with suppress(OSError):
                    os.unlink(entry.path)


def _temporary_of(name: str) -> str | None:
    """The output name a temporary file ``name`` was made for, if it is one."""
    if not (name.startswith(".") and name.endswith(".tmp")) or len(name) < 15:
        return None
    stem, token = name[1:-4].rsplit(".", 1) if "." in name[1:-4] else ("", "")
    if len(token) != 8 or not all(c in "0123456789abcdef" for c in token):
        return None
    return stem
