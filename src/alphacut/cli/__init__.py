"""The ``alphacut`` command line.

``alphacut INPUT... [options]`` cuts photos out (see :mod:`alphacut.cli.cutout`); the
sub-commands ``demo``, ``models`` and ``gimp`` live in modules of their own.

This module imports nothing heavy: :func:`main` installs the signal handling before
NumPy, OpenCV and ONNX Runtime load (the first second), so a Ctrl-C then ends with one
line and status 130, like one at any later moment. That holds as long as the package's
own ``alphacut/__init__.py``, which Python imports before this module, stays light too.

Errors reach the user as one line each; ``--debug`` (any command) or ``ALPHACUT_DEBUG=1``
adds each one's full traceback after its line (:func:`debugging`, :func:`print_traceback`),
with the same exit status.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from alphacut._internal.errors import debugging, format_traceback

__all__ = ["main", "Interrupted", "debugging", "format_traceback", "print_traceback"]

# sub-command -> module with add_parser(subparsers) and run(args) -> int
SUBCOMMANDS = {
    "demo": "alphacut.cli.demo",
    "models": "alphacut.cli.models",
    "gimp": "alphacut.cli.gimp",
}

# The signals that end a run, and the word for each; SIGHUP is absent on Windows.
_SIGNALS = {
    name: word
    for name, word in (("SIGINT", "interrupted"), ("SIGTERM", "terminated"), ("SIGHUP", "hung up"))
    if hasattr(signal, name)
}


DEBUG_HELP = "after an error's one line, print its full traceback (also: ALPHACUT_DEBUG=1)"


def print_traceback(error: BaseException | str, args: Any = None, file: Any = None) -> None:
    """Print ``error``'s traceback to stderr (``file``) if :func:`debugging` says so.

    Call it after the error's one-line message. ``error`` may be the traceback's text
    already (from :func:`format_traceback`, e.g. made in a worker process).
    """
    if not debugging(args):
        return
    text = error if isinstance(error, str) else format_traceback(error)
    stream = sys.stderr if file is None else file
    print(text.rstrip("\n"), file=stream)
    with contextlib.suppress(OSError, ValueError):
        stream.flush()


class Interrupted(SystemExit):
    """Raised by the signal handler: a ``SystemExit`` with status 128 + the signal number.

    A ``BaseException``, so a batch's ``except Exception`` does not take it for one photo's
    failure, while ``finally`` blocks (temporary files) still run; and should it escape
    :func:`main`, the interpreter exits with its status and no traceback.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def line(self) -> str:
        """The one line that reports it, e.g. ``alphacut: interrupted``."""
        word = _SIGNALS.get(signal.Signals(self.signum).name, "stopped by a signal")
        return f"alphacut: {word}"


class _Handler:
    """First signal: raise :class:`Interrupted` where the program is, so it unwinds and
    cleans up. A second one while that runs, or none of that within :data:`GRACE`
    seconds (the main thread stuck in a long C call, where Python cannot raise): remove
    temporary files and leave at once."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.said = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            raise Interrupted(signum)
        self.leave_now(self.received)

    def say(self, line: str) -> None:
        if not self.said:
            self.said = True
            _say(line)

    def leave_now(self, signum: int) -> None:
        # The write module is only consulted if it was imported: no import in a handler.
        write = sys.modules.get("alphacut.io.write")
        if write is not None:
            write.remove_temporary_files()
        if not self.said:
            self.said = True
            # Straight to the descriptor: the stuck main thread may hold sys.stderr's lock.
            with contextlib.suppress(OSError):
                os.write(2, (Interrupted(signum).line + "\n").encode())
        os._exit(128 + signum)


# Seconds a signal may wait for Python to act on it before the process leaves anyway.
GRACE = 2.0


class _Watchdog:
    """Python runs signal handlers between bytecodes of the main thread: one stuck in a
    long C call (OpenCV, ONNX Runtime) would never see a SIGTERM, which by default would
    have killed it. The C-level handler still writes the signal number to a wake-up
    pipe; this thread reads it and, if the process is still alive after :data:`GRACE`
    seconds, leaves for it."""

    def __init__(self, handler: _Handler, signals: set[int]) -> None:
        self.handler = handler
        self.signals = signals
        self.done = threading.Event()
        self.read_end, self.write_end = os.pipe()
        os.set_blocking(self.write_end, False)
        self.previous = signal.set_wakeup_fd(self.write_end, warn_on_full_buffer=False)
        self.thread = threading.Thread(target=self._watch, name="alphacut-signals", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.is_set():
            try:
                data = os.read(self.read_end, 16)
            except OSError:
                return
            if not data:
                return  # stop() closed the pipe
            for signum in data:
                if signum in self.signals and not self.done.wait(GRACE):
                    self.handler.leave_now(self.handler.received or signum)

    def stop(self) -> None:
        self.done.set()
        signal.set_wakeup_fd(self.previous)
        os.close(self.write_end)  # the reader gets end-of-file and returns
        self.thread.join(timeout=1)
        os.close(self.read_end)


def _install() -> tuple[dict[int, Any], _Handler, _Watchdog | None] | None:
    """Install the handler for the ending signals; what :func:`_restore` needs."""
    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may set handlers (e.g. called from a GUI worker)
    handler = _Handler()
    previous = {}
    for name in _SIGNALS:
        signum = getattr(signal, name)
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue  # e.g. SIGHUP under nohup: the user asked to survive it
        previous[signum] = current
        signal.signal(signum, handler)
    try:
        watchdog = _Watchdog(handler, set(previous))
    except (OSError, ValueError):
        watchdog = None  # no pipes, or wake-up fds unsupported: handlers alone still work
    return previous, handler, watchdog


def _restore(installed: tuple[dict[int, Any], _Handler, _Watchdog | None] | None) -> None:
    if installed is None:
        return
    previous, _, watchdog = installed
    if watchdog is not None:
        watchdog.stop()
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _subcommand_parser(module):
    import argparse

    # Only the named sub-command's module is imported: each may pull in heavy or optional
    # dependencies that the others do not need.
    parser = argparse.ArgumentParser(prog="alphacut")
    subparsers = parser.add_subparsers(dest="command", required=True)
    module.add_parser(subparsers)
    for sub in subparsers.choices.values():
        _add_debug_option(sub)
    return parser


def _add_debug_option(parser) -> None:
    """``--debug`` on ``parser`` and on each of its sub-commands, at any depth."""
    import argparse

    # SUPPRESS: absent unless given, so a nested parser's default cannot undo a --debug
    # given at an outer level (``alphacut models --debug list``).
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_debug_option(sub)


def _command(argv: list[str]) -> str | None:
    """The sub-command ``argv`` runs, if any; a leading ``--debug`` may come before it."""
    for token in argv:
        if token != "--debug":
            return token if token in SUBCOMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 all done, 1 a file failed, 2 usage error, 128 + N when signal N (Ctrl-C: 130,
    SIGTERM: 143) stopped it, after one line saying so and removing partial outputs.
    """
    installed = _install()
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        command = _command(argv)
        if command is not None:
            # `alphacut --debug models list` as `alphacut models --debug list`.
            lead = argv.index(command)
            argv = [command, *argv[:lead], *argv[lead + 1 :]]
            module = importlib.import_module(SUBCOMMANDS[command])
            return module.run(_subcommand_parser(module).parse_args(argv))
        from alphacut.cli.cutout import run_cutout

        return run_cutout(argv)
    except Interrupted as stop:
        if installed is not None:
            installed[1].say(stop.line)
        else:
            _say(stop.line)
        return int(stop.code)
    except KeyboardInterrupt:
        # A Ctrl-C while the handler was not ours (main called from another thread).
        _say("alphacut: interrupted")
        return 130
    finally:
        _restore(installed)


def _say(line: str) -> None:
    # The interrupted code may have been writing to sys.stderr: go around its buffer.
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        sys.stderr.flush()
    try:
        os.write(sys.stderr.fileno(), (line + "\n").encode(errors="backslashreplace"))
    except (OSError, AttributeError, ValueError):
        print(line, file=sys.stderr)  # a captured stderr (tests) has no file descriptor
