"""How errors are told: their first line, and their traceback when debugging.

Shared by the batch (a photo's failure, in this process, a worker process or a Dask
worker) and the front ends (the command's ``--debug``). Only the standard library: the
command line imports this module before it installs its signal handling.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["debugging", "first_line", "format_traceback"]


def debugging(args: Any = None) -> bool:
    """Whether errors get their traceback: ``--debug`` (``args.debug``) or ``$ALPHACUT_DEBUG``.

    Parameters
    ----------
    args : argparse.Namespace, optional
        The parsed command line; a namespace without ``debug`` counts as no ``--debug``.

    Returns
    -------
    bool
        True with ``--debug``, or when ``ALPHACUT_DEBUG`` is set to anything but ``""``,
        ``0``, ``false``, ``no`` or ``off``.

    Examples
    --------
    >>> import argparse
    >>> debugging(argparse.Namespace(debug=True))
    True
    """
    if getattr(args, "debug", False):
        return True
    value = os.environ.get("ALPHACUT_DEBUG", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def format_traceback(error: BaseException) -> str:
    """``error``'s traceback as Python prints it (chained causes included), one string.

    Examples
    --------
    >>> try:
    ...     raise ValueError("bad value")
    ... except ValueError as error:
    ...     text = format_traceback(error)
    >>> text.startswith("Traceback (most recent call last):"), text.splitlines()[-1]
    (True, 'ValueError: bad value')
    """
    import traceback

    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def first_line(error: BaseException) -> str:
    """``error``'s message as one line: its first, without surrounding quotes; its type's
    name when it has none.

    Examples
    --------
    >>> first_line(KeyError("no such model"))
    'no such model'
    >>> first_line(RuntimeError("the core broke\\nand said more")), first_line(MemoryError())
    ('the core broke', 'MemoryError')
    """
    text = str(error).strip().strip("'\"")
    return text.splitlines()[0] if text else type(error).__name__
