"""Running the core off the GUI thread, with a progress bar, cancelling and clean errors."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QTimer

from alphacut.methods.grabcut import checking
from alphacut.napari._layers import STALE_SUFFIX, find_result, mark_stale

__all__ = ["Cancelled", "Download", "Job", "JobOwner", "Reporter", "Step", "describe"]

log = logging.getLogger(__name__)

# A bar for single-photo work only after this long: making one costs napari ~0.1 s, and
# while one exists napari animates a GIF in the status bar, which on software OpenGL
# (no GPU: VMs, remote desktops, CI) recomposes the whole window every frame and has
# been measured to slow the work itself several-fold.
PROGRESS_DELAY_MS = 1000
# Download progress reaches the GUI at most this often: each update is a queued signal and a
# redraw of the bar, and a fast local mirror calls back for every megabyte.
DOWNLOAD_UPDATE_S = 0.1


class Cancelled(Exception):
    """Raised inside the worker to stop a job at the next step boundary."""


@dataclass(frozen=True)
class Step:
    """A core step starting (sent from the worker to update the progress description)."""

    name: str


@dataclass(frozen=True)
class Download:
    """Bytes of a model download so far (sent from the worker to the download bar)."""

    model: str
    done: int
    total: int | None


@dataclass(frozen=True)
class _Failure:
    # Returned instead of raised: superqt re-raises errors from workers into the event
    # loop, where they surface as tracebacks; a value lets us show one clear notification.
    # (Not an Exception itself: superqt raises a returned exception too.)
    error: BaseException


_CANCELLED = object()


class Reporter:
    """What a job's work gets to talk to the GUI from its worker thread.

    Called with a step name, it is the core's ``progress`` callback (and stops the work with
    :class:`Cancelled` once cancelling was asked for). :attr:`cancel` is the job's cancel
    event, for code that waits on its own (a download); :meth:`download` makes the
    callable ``progress`` of :func:`alphacut.models.download.fetch`.
    """

    def __init__(self, job: Job) -> None:
        self._job = job

    def __call__(self, name: str) -> None:
        self._job._report(name)

    @property
    def cancel(self) -> threading.Event:
        return self._job._cancel

    def download(self, model: str) -> Callable[[int, int | None], None]:
        """A ``progress(bytes_done, bytes_total)`` callback that moves the download bar."""
        emit = self._job.worker.yielded.emit
        last = 0.0

        def progress(done: int, total: int | None) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= DOWNLOAD_UPDATE_S or (total is not None and done >= total):
                last = now
                emit(Download(model, done, total))

        return progress


Work = Callable[[Reporter], Generator[Any, None, Any]]


class Job:
    """One piece of work in a ``thread_worker``.

    ``work(report)`` is a generator run in a worker thread: it yields once per unit of
    ``total`` (a frame, a method), passes ``report`` (a :class:`Reporter`) as the core's
    ``progress`` callback, and returns its result, which ``on_done`` receives on the GUI
    thread. A failure becomes an error notification titled ``title`` and, with ``status``,
    one line there too; with ``on_progress``, every step and unit also reaches the
    widget's own bar as ``on_progress(fraction, text)``. :meth:`cancel` stops the work
    at the next step of the core, GrabCut within 0.1 s, or a model download within about
    a second.

    The progress bar is made here, on the GUI thread, and advanced on each yield, rather
    than through the worker's ``progress=`` option: napari stops showing those after a
    worker that finishes fast (napari issue #4174). Work of one unit gets its bar only
    once it has run for :data:`PROGRESS_DELAY_MS`, so quick runs stay quick.
    """

    def __init__(
        self,
        work: Work,
        *,
        total: int,
        title: str,
        on_done: Callable[[Any], None],
        on_finish: Callable[[], None] | None = None,
        status: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
    ) -> None:
        self.title = title
        self._on_progress = on_progress
        self._steps = 0
        """Steps the core has started within the current unit of work."""
        self._on_done = on_done
        self._on_finish = on_finish
        self._status = status
        self.error: str | None = None
        """The one-line reason, once failed."""
        self._download_bar: progress | None = None
        self._cancel = threading.Event()
        self._done = 0
        self._finished = False
        self._detached = False
        self.outcome: str | None = None
        """``"done"``, ``"cancelled"`` or ``"failed"`` once finished."""
        self._total = total
        self._description = title
        self._progress: progress | None = None
        if total > 1:
            self._show_progress()
        else:
            # One unit of work: a bar only if it takes long enough to be worth one.
            QTimer.singleShot(PROGRESS_DELAY_MS, self._show_progress)
        self.worker: GeneratorWorker = create_worker(
            self._guarded, work, _start_thread=False, _ignore_errors=True
        )
        self.worker.yielded.connect(self._on_yielded)
        self.worker.returned.connect(self._on_returned)
        self.worker.errored.connect(self._on_errored)
        self.worker.aborted.connect(self._on_aborted)
        self.worker.finished.connect(self._on_finished)

    def start(self) -> Job:
        self.worker.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop; it does at the next step of the core (GrabCut: at once)."""
        self._cancel.set()

    def detach(self) -> None:
        """Stop the work and never call back into the widget, which is gone.

        For a widget whose Qt side was deleted (the viewer closed mid-run): touching it
        from ``on_done`` or ``on_finish`` raises RuntimeError in a Qt slot, which PyQt turns
        into an abort of the whole process when no excepthook catches it. The job still
        closes its own progress bars.
        """
        self._detached = True
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set() or self.worker.abort_requested

    # -- worker thread -------------------------------------------------------------------

    def _report(self, name: str) -> None:
        if self.cancelled:
            raise Cancelled
        # A signal emitted from the worker thread is queued to the GUI thread.
        self.worker.yielded.emit(Step(name))

    def _check(self) -> None:
        """Raise :class:`Cancelled` once cancelling was asked for.

        What a long core step calls while it works (GrabCut, every 50 ms), so that a cancel
        does not wait for the step's end.
        """
        if self.cancelled:
            raise Cancelled

    def _guarded(self, work: Work) -> Generator[Any, None, Any]:
        try:
            # GrabCut runs inside remove_background, which passes it no callback: the
            # check reaches it through the worker thread's context.
            with checking(self._check):
                result = yield from work(Reporter(self))
        except Cancelled:
            return _CANCELLED
        except Exception as error:
            if self.cancelled:
                # Whatever a cancel interrupted says so in its own way (a download raises
                # DownloadCancelled): the user asked for it, it is not a failure.
                return _CANCELLED
            # The notification has one line; the traceback goes to the log, at a level that
            # is shown by default, for the bug report.
            log.warning("%s failed: %s", self.title, describe(error), exc_info=True)
            return _Failure(error)
        if self.cancelled:
            return _CANCELLED
        return result

    # -- GUI thread ----------------------------------------------------------------------

    def _show_progress(self) -> None:
        if self._progress is None and self.outcome is None and not self._ended:
            self._progress = progress(total=self._total, desc=self._description)
            self._progress.update(self._done)

    @property
    def _ended(self) -> bool:
        return self._finished or self._detached

    def _on_yielded(self, value: Any) -> None:
        if self.outcome is not None or self._ended:
            # A progress report queued before the job ended can be delivered after its
            # outcome under load: it must not overwrite the final status.
            return
        if isinstance(value, Download):
            self._show_download(value)
        elif isinstance(value, Step):
            self._description = f"{self.title}: {value.name}"
            if self._progress is not None:
                self._progress.set_description(self._description)
            self._steps += 1
            self._tell_progress(value.name)
        else:
            self._done += 1
            self._steps = 0
            if self._progress is not None:
                self._progress.update(1)
            self._tell_progress("")

    def _tell_progress(self, step: str) -> None:
        if self._on_progress is None:
            return
        # How many steps a unit has depends on what the core decides on the way (auto may
        # run the network, a check, then GrabCut), so within a unit the bar closes half
        # the remaining gap per finished step: it moves on every step, never claims a
        # unit done before it is, and the text says which step runs.
        finished = max(self._steps - 1, 0)
        within = finished / (finished + 1)
        fraction = (self._done + within) / max(self._total, 1)
        text = step or "…"
        if self._total > 1:
            text += f" ({min(self._done + 1, self._total)} of {self._total})"
        self._on_progress(fraction, text)

    def _show_download(self, value: Download) -> None:
        from alphacut.models.download import format_size

        # Its own bar, in bytes: a download is not one of the job's units of work.
        of = f" of {format_size(value.total)}" if value.total else ""
        text = f"downloading model {value.model}: {format_size(value.done)}{of}"
        # The status first: napari's bars run the event loop when made or moved, which can
        # deliver the job's end (and its final status) in the middle of this (seen in CI).
        if self._status is not None:
            self._status(text + " (Cancel stops it; it resumes next time)")
        if self._on_progress is not None:
            self._on_progress(value.done / value.total if value.total else 0.0, text)
        if self._download_bar is None:
            bar = progress(total=value.total, desc=text)
            if self.outcome is not None or self._ended:
                bar.close()
                return
            self._download_bar = bar
        bar = self._download_bar
        bar.set_description(text)
        if self._download_bar is bar and value.done > bar.n:
            bar.update(value.done - bar.n)

    def _close_download_bar(self) -> None:
        if self._download_bar is not None:
            self._download_bar.close()
            self._download_bar = None

    def _on_returned(self, result: Any) -> None:
        if self._detached:
            # The widget is gone: its results have nowhere to go, and nobody to tell.
            self.outcome = "cancelled"
        elif result is _CANCELLED:
            self.outcome = "cancelled"
            show_info(f"{self.title}: cancelled")
        elif isinstance(result, _Failure):
            self._fail(result.error)
        else:
            try:
                self._on_done(result)
            except Exception as error:  # showing results must not take napari down
                log.warning("%s: showing the results failed", self.title, exc_info=True)
                self.outcome = "failed"
                self.error = f"could not show the results: {describe(error)}"
                show_error(f"{self.title}: {self.error}")
            else:
                self.outcome = "done"

    def _on_errored(self, error: BaseException) -> None:
        # Only reached for errors outside the work itself (the guard catches those).
        self._fail(error)

    def _fail(self, error: BaseException) -> None:
        self.outcome = "failed"
        self.error = describe(error)
        if not self._detached:
            show_error(f"{self.title} failed: {self.error}")

    def _on_aborted(self) -> None:
        self.outcome = "cancelled"
        if not self._detached:
            show_info(f"{self.title}: cancelled")

    def _on_finished(self) -> None:
        if self.outcome is None:
            # An abort asked for after the work returned (napari quits its workers when
            # the viewer closes): superqt then emits neither ``returned`` nor ``aborted``.
            self._on_aborted()
        self._finished = True
        self._close_download_bar()
        if self._progress is not None:
            self._progress.close()
        if self._on_finish is not None and not self._detached:
            self._on_finish()


class JobOwner:
    """What both widgets share around their one background job: Run, Cancel, and tidying up.

    The widget sets ``self._job`` and ``self._subject`` (the input's name) when it starts a
    :class:`Job`, passes :meth:`_finished` as its ``on_finish``, calls :meth:`_refuse` for
    settings it cannot run with and :meth:`_watch_close` once built, and provides
    ``controls`` (RunControls), ``last_result``, a ``done`` signal and
    :meth:`_result_names`.
    """

    _job: Job | None
    _viewer: Any
    _subject: str | None = None
    last_result: Any

    @property
    def running(self) -> bool:
        return self._job is not None

    def run(self) -> None:
        """Start a job with the current settings (what the Run button does)."""
        self._run()

    def cancel(self, *_: Any) -> None:
        """Stop the running job at the next step of the core."""
        if self._job is not None:
            self._job.cancel()
            self.controls.status.value = "cancelling…"

    def _run(self, *_: Any) -> None:
        raise NotImplementedError

    def _result_names(self, subject: str) -> list[str]:
        """Names of every result layer a run on the image ``subject`` can make."""
        raise NotImplementedError

    def _watch_close(self) -> None:
        # ``destroyed`` comes when napari deletes the dock widget (the viewer closed); the
        # Python side of the widget lives on, so it must learn not to touch the Qt side.
        self.native.destroyed.connect(self._on_destroyed)

    def _on_destroyed(self, *_: Any) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.detach()

    def _refuse(self, title: str, error: BaseException, subject: str | None) -> None:
        """Report settings the widget cannot run with, as a run that failed at once."""
        from napari.utils.notifications import show_error

        # Any exception, not only the ValueErrors the widget raises itself: one from napari
        # or numpy on an odd layer would otherwise escape the Run button's Qt slot as a
        # traceback. A ValueError is the widget's own word on the settings; anything else
        # is a bug whose traceback belongs in the log where it is seen.
        level = logging.DEBUG if isinstance(error, ValueError) else logging.WARNING
        log.log(level, "%s: cannot run: %s", title, describe(error), exc_info=error)
        text = describe(error)
        show_error(f"{title}: {text}")
        self._subject = subject
        self._not_done("failed", text)

    def _finished(self) -> None:
        job, self._job = self._job, None
        self.controls.set_running(False)
        if job is not None and job.outcome != "done":
            self._not_done(job.outcome or "", job.error)
        self.done.emit(self.last_result if job is not None and job.outcome == "done" else None)

    def _not_done(self, outcome: str, error: str | None) -> None:
        """Say on the status line that the run did not finish, and what is on show instead.

        After a failure, the input's result layers are left over from an earlier run (or
        a different input of the same name): they are marked stale, so they are not taken
        for what was just asked. After a cancel the user knows nothing new came, and the
        layers stay as they were; the status line still says where they come from.
        """
        names = self._result_names(self._subject) if self._subject is not None else []
        if outcome == "failed":
            text = f"failed: {error}" if error else "failed"
            if mark_stale(self._viewer, names):
                text += f"; the layers marked{STALE_SUFFIX} are from the previous run"
        else:
            text = outcome
            if any(find_result(self._viewer, name) is not None for name in names):
                text += "; the layers shown are from the previous run"
        self.controls.status.value = text


def describe(error: BaseException) -> str:
    """``error`` as one line for a notification or the status line."""
    # One line: a notification or status line is no place for a multi-line report.
    text = " ".join(str(error).split())
    if isinstance(error, ImportError):
        return f"a module is missing ({text})"
    return text or type(error).__name__
