"""What is wrong with a path, in words a user can act on, and names safe to print.

``Path.exists()`` answers ``False`` for a missing file, a broken link, a symbolic link loop
and a path through a file alike, so messages built on it say "no such file" for all four.
These helpers ask the system once (``stat``/``lstat``) and name the actual problem.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path

__all__ = [
    "display",
    "escape_text",
    "file_kind",
    "input_problem",
    "output_problem",
    "folder_problem",
]

# Unicode categories a terminal does not show as themselves: controls (newline, escape,
# bell), format characters (U+202E turns the rest of the line around), separators, and the
# surrogates that stand for undecodable bytes in POSIX file names.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # os.fsdecode's stand-in for one raw byte
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def display(name: str | os.PathLike) -> str:
    """``name`` as it can be printed on one line and read back unambiguously.

    Names made of printable characters come back unchanged. A name holding a control
    or format character (a newline, an escape sequence, U+202E RIGHT-TO-LEFT OVERRIDE)
    or an undecodable byte is quoted, with those characters escaped as in Python
    (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xe9`` for a raw byte) and backslashes doubled.

    Parameters
    ----------
    name : str or path-like
        A file name or any text that came from outside (a path, an argument).

    Returns
    -------
    str

    Examples
    --------
    >>> display("photo.jpg")
    'photo.jpg'
    >>> print(display("new\\nline.jpg"))
    'new\\nline.jpg'
    """
    text = os.fspath(name)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not any(_hidden(char) for char in text):
        return text
    body = "".join(
        _escape(char) if _hidden(char) else ("\\\\" if char == "\\" else char) for char in text
    )
    return f"'{body}'"


def escape_text(text: str) -> str:
    """``text`` with the characters a terminal would not show as themselves escaped in
    place (``\\n``, ``\\u202e``, ...): a last guard for whole messages, which may hold
    names that :func:`display` did not see (e.g. inside a library's error).

    Parameters
    ----------
    text : str
        A message for the terminal.

    Returns
    -------
    str
        ``text`` itself when every character shows as itself, else a copy with control,
        format and other invisible characters written as Python escapes.

    Examples
    --------
    >>> print(escape_text("bad\\x1b[31mname: error"))
    bad\\x1b[31mname: error
    """
    if not any(_hidden(char) for char in text):
        return text
    return "".join(_escape(char) if _hidden(char) else char for char in text)


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, from its ``st_mode``: "a named pipe", "a socket", ...

    Parameters
    ----------
    mode : int
        ``os.stat(path).st_mode`` (or ``lstat``'s, to name a symbolic link).

    Returns
    -------
    str
        Words for a message, with the article; "not a regular file" for a kind not named.
    """
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _first_non_folder(path: Path) -> Path | None:
    """The nearest ancestor of ``path`` that exists but is not a folder, if any."""
    for parent in reversed(path.parents):
        try:
            mode = os.stat(parent).st_mode
        except OSError:
            return None
        if not stat.S_ISDIR(mode):
            return parent
    return None


def _stat_problem(path: Path, error: OSError) -> str:
    """Words for a failed ``stat`` of ``path``."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links)"
    if error.errno == errno.ENAMETOOLONG:
        return "file name too long"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        blocker = _first_non_folder(path)
        if blocker is not None:
            return f"no such file ({display(blocker)} is a file, not a folder)"
        try:
            link = os.readlink(path)
        except OSError:
            return "no such file"
        return f"broken symbolic link (to {display(link)}, which does not exist)"
    return f"cannot read ({error.strerror or error})"


def input_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as a photo, before opening it; ``None`` when it can.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    str or None
        One phrase, e.g. "no such file", "symbolic link loop (...)", "is a folder, not an
        image", "not a regular file (a named pipe); ...", "empty file (0 bytes)".

    Examples
    --------
    >>> input_problem("/")
    'is a folder, not an image'
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as error:
        return _stat_problem(path, error)
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not an image"
    if not stat.S_ISREG(info.st_mode):
        # Reading a pipe or a device could block or never end; standard input is the
        # supported stream.
        return (
            f"not a regular file ({file_kind(info.st_mode)}); to read a stream, "
            "pass '-' and send it to standard input"
        )
    if info.st_size == 0:
        return "empty file (0 bytes)"
    return None


def folder_problem(folder: str | os.PathLike, *, create: bool = False) -> str | None:
    """Why files cannot be written into ``folder``; ``None`` when they (probably) can.

    Parameters
    ----------
    folder : str or path-like
    create : bool
        Whether the caller makes a missing folder: then only an ancestor that is a file
        (or a link loop, ...) is a problem.

    Returns
    -------
    str or None
        e.g. "folder out does not exist", "afile is a file, not a folder".
    """
    folder = Path(folder)
    try:
        info = os.stat(folder)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            blocker = _first_non_folder(folder)
            if blocker is not None:
                return f"{display(blocker)} is a file, not a folder"
            if os.path.islink(folder):
                return f"folder {display(folder)} is a broken symbolic link"
            return None if create else f"folder {display(folder)} does not exist"
        return f"folder {display(folder)}: {_stat_problem(folder, error)}"
    if not stat.S_ISDIR(info.st_mode):
        kind = "a file" if stat.S_ISREG(info.st_mode) else file_kind(info.st_mode)
        return f"{display(folder)} is {kind}, not a folder"
    return None


def output_problem(path: str | os.PathLike, *, overwrite: bool = False) -> str | None:
    """Why an output may not be written at ``path``; ``None`` when it may.

    Outputs are only ever regular files: a folder, a named pipe, a device or a socket is
    refused even with ``overwrite``, and so is a link to one, since replacing it would
    destroy something that is not a picture. An existing regular file (or a link to one)
    is refused unless ``overwrite``. The output's folder is :func:`folder_problem`'s
    part.

    Parameters
    ----------
    path : str or path-like
    overwrite : bool

    Returns
    -------
    str or None
        One phrase, without the path itself.
    """
    path = Path(path)
    try:
        link = os.lstat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None  # a new file: whether its folder takes it is folder_problem's part
        return _stat_problem(path, error)
    if stat.S_ISLNK(link.st_mode):
        try:
            info = os.stat(path)
        except OSError as error:
            problem = _stat_problem(path, error)
            if problem.startswith(("broken", "symbolic")):
                return f"is a {problem}; remove it or choose another name"
            return problem
        via = f"is a symbolic link to {file_kind(info.st_mode)}"
    else:
        info = link
        via = f"is {file_kind(info.st_mode)}"
    if stat.S_ISDIR(info.st_mode):
        return f"{via}; give a file name"
    if not stat.S_ISREG(info.st_mode):
        return f"{via}, not a regular file: outputs are only written to regular files"
    if not overwrite:
        return "already exists (use --overwrite to replace it)"
    return None
