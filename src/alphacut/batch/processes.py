"""A folder batch cut out in worker processes: ``alphacut FOLDER --jobs N``, or
:func:`alphacut.batch.remove_backgrounds` with ``jobs`` above 1.

Most of a photo's time is spent on one core (decoding, the edge refinement, encoding:
NumPy and OpenCV calls one after the other), so a batch cuts out N photos at once, each
worker a process of its own with its own model session, loaded once. The parent keeps the
report: the progress bar advances as frames finish, and what each photo has to say
(failures, with ``--debug`` their tracebacks as text, warnings, unsure outlines) is
replayed in input order once the batch is done, so the summary and the exit status are
those of a batch run one photo at a time.

Workers write their outputs themselves, atomically as :func:`alphacut.io.write_image`
always does: a result never travels between processes, and each worker holds one photo at
a time. A worker gets its next job only when it has finished the last, so the job of a
worker that dies (out of memory, a crash in native code) is known: that photo fails, a
new worker takes its place and the batch goes on.

Signals: a terminal sends Ctrl-C (and a hang-up) to every process of its group; workers
ignore both and leave them to the parent, which stops the workers with SIGTERM. A worker
then removes the temporary file of a write in progress and exits; one that does not do so
within :data:`WORKER_GRACE` seconds (stuck in a long C call) is killed, and the parent
removes what it may have left.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

# Only the standard library at the top: a worker imports this module first, and must set
# its thread counts before NumPy, OpenCV and ONNX Runtime load (see _worker). For the same
# reason alphacut/batch/__init__.py, which Python imports before this module, stays light.
if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import SpawnContext
    from multiprocessing.process import BaseProcess

    from alphacut.batch.engine import Job, Recipe
    from alphacut.batch.report import BatchReport

__all__ = ["cut_out_in_parallel", "threads_per_job"]

# Seconds a stopping worker has to remove its temporary file and exit before it is killed:
# well within the 2 s after which the command itself leaves (its GRACE).
WORKER_GRACE = 1.0

# Seconds a worker has to exit once the batch is done (it only has to shut down).
WORKER_EXIT = 5.0

# What a terminal sends to the whole process group: the parent's to handle, not a worker's.
_GROUP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGHUP") if hasattr(signal, n))

# Thread pools sized when their library loads: NumPy's BLAS and OpenMP, if used.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_job(jobs: int) -> int:
    """ONNX Runtime and OpenCV threads for each of ``jobs`` workers.

    The cores shared out, so that N workers do not make N times as many threads as there
    are cores (each would then wait for the others at every layer); ``$ALPHACUT_THREADS``,
    when set, is the user's count for each process.

    Parameters
    ----------
    jobs : int
        How many workers run at once.

    Returns
    -------
    int
        At least 1.
    """
    from alphacut.models.session import default_threads, usable_cpus

    if os.environ.get("ALPHACUT_THREADS", "").strip():
        return default_threads()
    return max(1, usable_cpus() // max(1, jobs))


# --- The worker ----------------------------------------------------------------------------


def _leave(signum: int, frame: object) -> None:
    """SIGTERM in a worker: the parent stops the batch. The handler runs between two
    bytecodes, so the temporary file of a write in progress is registered or not yet
    created: removing the registered ones leaves nothing behind."""
    write = sys.modules.get("alphacut.io.write")
    if write is not None:
        write.remove_temporary_files()
    os._exit(128 + signum)


def _worker(conn: Connection, payload: bytes, threads: int) -> None:
    """A worker process: cut out the jobs the parent sends until it closes the pipe."""
    for signum in _GROUP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _leave)
    # Before NumPy, OpenCV and ONNX Runtime load (unpickling the payload loads them).
    os.environ["ALPHACUT_THREADS"] = str(threads)
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
    recipe: Recipe | None = None
    try:
        try:
            recipe = pickle.loads(payload)
            _prepare(recipe, threads)
            from alphacut.batch.engine import Recorder
            from alphacut.batch.photo import cut_out
        except Exception as error:  # noqa: BLE001 - said by the parent, which carries on
            from alphacut._internal.errors import debugging, format_traceback

            # With --debug the traceback too, as text: the exception itself may not pickle.
            wanted = debugging(recipe)
            detail = format_traceback(error) if wanted else None
            conn.send(("failed", f"{type(error).__name__}: {error}".splitlines()[0], detail))
            return
        conn.send(("ready",))
        while True:
            try:
                index, job = conn.recv()
            except EOFError:
                return  # the batch is done, or the parent is gone
            recorder = Recorder(lambda: conn.send(("step",)))
            # A failure's events hold its traceback as text with --debug (Recorder.fail).
            ok = cut_out(job, recipe, recorder)
            conn.send(("done", index, ok, recorder.events))
    except OSError:
        return  # the parent is gone (a broken pipe): nothing left to tell
    finally:
        conn.close()


def _prepare(recipe: Recipe, threads: int) -> None:
    """Size OpenCV's threads and load the model, before the first photo."""
    import logging
    import warnings

    import cv2

    cv2.setNumThreads(threads)
    if recipe.preload is None:
        return
    from alphacut.models import load_model

    # The parent loaded it first and said what there was to say (a device that could not
    # start, ...): once is enough. A failure here is each photo's to report.
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), suppress(Exception):
            warnings.simplefilter("ignore")
            load_model(recipe.preload, device=recipe.device)
    finally:
        logging.disable(logging.NOTSET)


# --- The parent ----------------------------------------------------------------------------


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    index: int | None = None  # the job it is cutting out


@contextmanager
def _group_signals_ignored() -> Iterator[None]:
    """Start a worker with Ctrl-C ignored from its first instruction: an ignored signal
    stays ignored across exec, while a handler does not (a Ctrl-C before the worker sets
    its own would print a traceback). The parent's handlers are back a few milliseconds
    later."""
    previous = {}
    try:
        for signum in _GROUP_SIGNALS:
            previous[signum] = signal.signal(signum, signal.SIG_IGN)
    except ValueError:
        pass  # not the main thread: no handler of ours to keep, none can be set
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _stopped(exitcode: int | None) -> str:
    """Why a worker's photo failed, from how the worker ended."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = ": out of memory?" if name == "SIGKILL" else ""
        return f"the process cutting it out was killed ({name}{hint})"
    return f"the process cutting it out ended unexpectedly (exit status {exitcode})"


class _Pool:
    """The workers of one batch, and what their jobs came to."""

    def __init__(self, ready: list[Job], threads: int, recipe: Recipe, report: BatchReport) -> None:
        import multiprocessing

        self.context: SpawnContext = multiprocessing.get_context("spawn")  # no fork: ORT threads
        self.payload = pickle.dumps(recipe, protocol=pickle.HIGHEST_PROTOCOL)
        self.threads = threads
        self.ready = ready
        self.report = report
        self.todo = deque(range(len(ready)))
        self.results: list[tuple[bool, list] | None] = [None] * len(ready)
        self.workers: list[_Worker] = []
        self.problem: str | None = None  # why a worker could not start
        self.problem_detail: str | None = None  # its traceback, with --debug
        self.failed = 0  # jobs failed so far: on the bar now, listed at the end

    def start(self) -> None:
        parent_end, child_end = self.context.Pipe()
        process = self.context.Process(
            target=_worker,
            args=(child_end, self.payload, self.threads),
            name="alphacut-worker",
            daemon=True,
        )
        self.workers.append(_Worker(process, parent_end))  # an interruption now stops it too
        with _group_signals_ignored():
            process.start()
        # Only the worker holds its end now: its exit reads here as the end of the pipe.
        child_end.close()

    def busy(self) -> bool:
        return bool(self.todo) or any(w.index is not None for w in self.workers)

    def finished(self, index: int, ok: bool, events: list) -> None:
        self.results[index] = (ok, events)
        if any(name == "fail" for name, _, _ in events):
            self.failed += 1
            self.report.failing(self.failed)

    def dispatch(self) -> None:
        """Give each idle worker the next job: one at a time, so a worker that dies is
        known to have died on its photo, and holds one photo's memory."""
        for worker in self.workers:
            if worker.ready and worker.index is None and self.todo:
                worker.index = self.todo.popleft()
                try:
                    worker.conn.send((worker.index, self.ready[worker.index]))
                except OSError:
                    # It died idle: the job never started. Its end is seen by wait().
                    self.todo.appendleft(worker.index)
                    worker.index = None

    def receive(self) -> None:
        """Wait for any worker to say something or end, and act on it."""
        from multiprocessing.connection import wait

        signalled = set(
            wait([w.conn for w in self.workers] + [w.process.sentinel for w in self.workers])
        )
        for worker in [w for w in self.workers if {w.conn, w.process.sentinel} & signalled]:
            try:
                for message in _messages(worker):
                    if message[0] == "step":
                        self.report.step()
                    elif message[0] == "done":
                        worker.index = None
                        self.finished(*message[1:])
                    elif message[0] == "ready":
                        worker.ready = True
                    else:  # "failed": it could not start
                        self.problem, self.problem_detail = message[1], message[2]
                if worker.process.sentinel not in signalled:
                    continue
            except (EOFError, OSError):
                pass  # its end of the pipe closed: it has ended
            self.ended(worker)

    def ended(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        worker.conn.close()
        worker.process.join(WORKER_EXIT)
        if worker.index is not None:
            problem = _stopped(worker.process.exitcode)
            self.finished(
                worker.index, False, [("fail", (self.ready[worker.index].source, problem), {})]
            )
        if worker.ready and self.todo:
            self.start()  # one started before, so will this one
        elif not worker.ready and self.problem is None:
            self.problem = f"exit status {worker.process.exitcode}"

    def close(self) -> None:
        """The batch is done: close the pipes, so each worker leaves its loop, and wait."""
        for worker in self.workers:
            worker.conn.close()
        deadline = time.monotonic() + WORKER_EXIT
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()

    def stop(self) -> None:
        """The batch is interrupted: stop every worker, leaving no temporary file."""
        for worker in self.workers:
            if worker.process.pid is not None and worker.process.exitcode is None:
                with suppress(OSError):
                    worker.process.terminate()
        deadline = time.monotonic() + WORKER_GRACE
        for worker in self.workers:
            worker.conn.close()
            if worker.process.pid is None:
                continue  # interrupted before it started
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                # Stuck in a C call (a slow disk's fsync, say), where no handler can run.
                worker.process.kill()
                worker.process.join()
                if worker.index is not None:
                    from alphacut.batch.resume import remove_partial

                    remove_partial(self.ready[worker.index].outputs)


def _messages(worker: _Worker) -> Iterator[tuple]:
    """The messages waiting in ``worker``'s pipe; raises EOFError once it is closed."""
    while worker.conn.poll():
        yield worker.conn.recv()


def cut_out_in_parallel(
    ready: list[Job], workers: int, threads: int, recipe: Recipe, report: BatchReport
) -> int:
    """Cut out ``ready``'s jobs in ``workers`` processes; report as a serial batch would.

    Parameters
    ----------
    ready : list of Job
        The jobs, in input order, checked and with something to do.
    workers : int
        How many processes cut out at once (at least 2).
    threads : int
        ONNX Runtime and OpenCV threads in each (see :func:`threads_per_job`).
    recipe : Recipe
        What every photo is cut out with.
    report : BatchReport
        The batch's report: its progress bar advances as frames finish; the rest of what
        each job has to say is replayed in input order at the end.

    Returns
    -------
    int
        How many jobs were written whole.

    Notes
    -----
    Should no worker start at all, the jobs left are cut out in this process, one at a
    time, after a warning that says why.
    """
    pool = _Pool(ready, threads, recipe, report)
    try:
        for _ in range(min(workers, len(ready))):
            pool.start()
        while pool.workers and pool.busy():
            pool.dispatch()
            pool.receive()
    except BaseException:
        pool.stop()
        raise
    pool.close()

    if pool.todo:
        from alphacut.batch.engine import Recorder
        from alphacut.batch.photo import cut_out

        report.say(
            f"alphacut: warning: worker processes could not start ({pool.problem}); "
            "cutting out one photo at a time"
        )
        report.detail(pool.problem_detail)
        for index in pool.todo:
            recorder = Recorder(report.step)
            ok = cut_out(ready[index], recipe, recorder)
            pool.finished(index, ok, recorder.events)

    from alphacut.batch.engine import replay

    written = 0
    for result in pool.results:
        assert result is not None  # every job ended one way or another
        ok, events = result
        replay(events, report)
        written += ok
    return written
