"""A batch on a Dask cluster (``dask.distributed``): each photo a task.

The client (this process) checks inputs and outputs as for a local batch, then sends the
photos still to do. Each worker sets up once (threads, the model's session: a worker
plugin, so a worker that joins or restarts mid-batch does the same) and writes its photos'
outputs itself, atomically: the outputs' folder must be one the workers see under the same
name (a shared file system). Results are the same small records a worker process of
``--jobs`` sends back; they are replayed in input order, so the summary and exit status
are a local batch's.

Failures: a photo's own (unreadable, cannot be written, ...) is reported as locally. A
worker that dies takes only the photos it was running; the scheduler runs them again on
another worker, and one whose workers keep dying (``distributed.scheduler.allowed-failures``,
3 by default) fails with :class:`distributed.KilledWorker`, reported as that photo's
failure. A photo rerun after its worker died may find its output already written by the
first attempt: a finished output (:func:`alphacut.batch.resume.unfinished`) then counts as
written. Ctrl-C cancels the photos not yet started; one running on a worker then ends
whole or not at all (its temporary file is removed with the others a dead worker left).
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # an optional extra: this module is still importable (doctests, docs)
    WorkerPlugin = object  # type: ignore[assignment,misc]

from alphacut.batch.engine import Job, ModelUnavailable, Recipe, Recorder, failed, replay

if TYPE_CHECKING:
    from distributed import Client

    from alphacut.batch.report import BatchReport

__all__ = ["connect", "run_on_cluster"]

# The install hint for a missing extra, also the command line's.
NEEDS = "Dask's distributed scheduler is not installed: pip install 'alphacut[cluster]'"

# Seconds to wait for the scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 10

# The worker's own setting, read before WorkerSetup sets it (this module is imported on a
# worker to unpickle the plugin): the user's count wins, ours is redone by each batch.
_USER_THREADS = os.environ.get("ALPHACUT_THREADS", "").strip()


def connect(address: str) -> Client:
    """A client of the Dask scheduler at ``address`` (``tcp://host:8786``, ...).

    Raises
    ------
    ImportError
        dask.distributed is not installed (the message says how to install it).
    OSError
        The scheduler cannot be reached in :data:`CONNECT_TIMEOUT` seconds.
    """
    try:
        from distributed import Client
    except ImportError as error:
        raise ImportError(NEEDS) from error
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise OSError(f"cannot reach the Dask scheduler at {address} ({error})") from error


class WorkerSetup(WorkerPlugin):
    """Runs on each worker as it joins: the host's cores shared among the task threads of
    the workers on it, as ``--jobs`` shares this machine's, then the model loaded into the
    session cache that every photo on the worker reuses.

    Parameters
    ----------
    preload : str, ModelSpec or None
        The model to load; None for methods without one.
    device : str
        ONNX Runtime device, as ``--device``.
    sharing : dict
        Host -> the task threads of all the workers on it, when the batch started.
    """

    def __init__(self, preload: Any, device: str, sharing: dict[str, int]) -> None:
        self.preload = preload
        self.device = device
        self.sharing = sharing

    def setup(self, worker: Any) -> None:
        import cv2
        from distributed.comm import get_address_host

        from alphacut.models.session import usable_cpus

        # The user's own count wins, as it does for --jobs.
        if not _USER_THREADS:
            sharing = self.sharing.get(get_address_host(worker.address), worker.state.nthreads)
            os.environ["ALPHACUT_THREADS"] = str(max(1, usable_cpus() // max(1, sharing)))
        cv2.setNumThreads(int(os.environ["ALPHACUT_THREADS"]))
        if self.preload is not None:
            from alphacut.models import load_model

            load_model(self.preload, device=self.device)  # raises: the client says why

    def teardown(self, worker: Any) -> None:
        # A shared cluster's workers outlive the batch: give the session's memory back.
        from alphacut.models import clear_cache

        clear_cache()


def _describe(preload: Any, device: str) -> str:
    """Where the model runs on this worker: its cached session, loaded by WorkerSetup."""
    from alphacut.models import load_model

    return load_model(preload, device=device).describe()


def cut_out_task(job: Job, recipe: Recipe) -> tuple[bool, list]:
    """One photo on a worker: whether all went well, and what to tell the client."""
    from alphacut.batch.photo import cut_out

    recorder = Recorder(lambda: None)  # the client counts finished tasks itself
    ok = cut_out(job, recipe, recorder)
    return ok, recorder.events


def _set_up_workers(client: Client, recipe: Recipe, report: BatchReport) -> str:
    """Register the worker plugin; its name, to unregister it afterwards."""
    from dask.base import tokenize
    from distributed.comm import get_address_host

    sharing: dict[str, int] = {}
    for address, threads in client.nthreads().items():
        host = get_address_host(address)
        sharing[host] = sharing.get(host, 0) + threads
    name = f"alphacut-{tokenize(recipe.preload, recipe.device)}"
    plugin = WorkerSetup(recipe.preload, recipe.device, sharing)
    try:
        client.register_plugin(plugin, name=name)
    except Exception as error:  # noqa: BLE001 - what a worker raised, sent back
        with suppress(Exception):
            client.unregister_worker_plugin(name)  # new workers would only fail again
        if isinstance(error, ValueError):
            raise ModelUnavailable(str(error), usage=True) from error
        text = str(error).strip().strip("'\"").splitlines()
        problem = text[0] if text else type(error).__name__
        raise ModelUnavailable(f"{problem} (on the cluster's workers)") from error
    if recipe.preload is not None:
        where = sorted(set(client.run(_describe, recipe.preload, recipe.device).values()))
        workers = len(client.nthreads())
        report.model(f"{' / '.join(where) or 'to load'} in each of {workers} Dask workers")
    return name


def run_on_cluster(ready: list[Job], recipe: Recipe, client: Client, report: BatchReport) -> int:
    """Cut out ``ready``'s jobs on ``client``'s cluster; report as a local batch would.

    Parameters
    ----------
    ready : list of Job
        Checked, with something to do, in input order.
    recipe : Recipe
        What each photo is cut out with.
    client : distributed.Client
        Connected to the cluster.
    report : BatchReport
        Its bar advances as photos finish; the rest is told in input order at the end.

    Returns
    -------
    int
        Jobs written whole.
    """
    from alphacut.batch.engine import preload_choice

    # The client's choice, made once: workers could otherwise each choose by their own
    # settings and installed models.
    recipe.preload = preload_choice(recipe)
    if recipe.preload is not None:
        recipe.options = {**recipe.options, "model": recipe.preload}
    # Names as this process sees them: the workers' current folder is not ours.
    here = os.getcwd()
    recipe.protect = tuple(os.path.join(here, name) for name in recipe.protect)
    jobs = [replace(job, root=here) for job in ready]
    plugin = _set_up_workers(client, recipe, report)
    report.progress(sum(len(job.todo) for job in jobs))
    try:
        results = _run_tasks(client, jobs, recipe, report)
    finally:
        report.close()
        from alphacut.batch.resume import remove_partial

        # What workers that died mid-write left beside the outputs.
        remove_partial([job.path(output) for job in jobs for output in job.outputs])
        if client.status == "running":  # not when the scheduler is gone
            with suppress(Exception):
                client.unregister_worker_plugin(plugin)
    written = 0
    for ok, events in results:
        replay(events, report)
        written += ok
    return written


def _run_tasks(
    client: Client, jobs: list[Job], recipe: Recipe, report: BatchReport
) -> list[tuple[bool, list]]:
    from distributed import as_completed

    shared = client.scatter(recipe, broadcast=True, hash=False)  # sent once, not per photo
    # retries: an error outside the photo's own work (which reports its failures itself),
    # such as a task that could not be unpickled on one worker, gets one more try. A
    # worker's death is not an error of the task: the scheduler reruns those itself.
    futures = client.map(cut_out_task, jobs, recipe=shared, retries=1, pure=False)
    index = {future.key: k for k, future in enumerate(futures)}
    results: list[tuple[bool, list] | None] = [None] * len(jobs)
    reruns = [0] * len(jobs)
    failures = 0
    try:
        pending = as_completed(futures, loop=client.loop)
        for future in pending:
            k = index[future.key]
            result = _result(future, jobs[k])
            if result is None and client.status == "running" and reruns[k] < _RERUNS:
                # Lost, not failed: the scattered recipe died with the workers that held
                # it (the tasks left are then cancelled), or the answer did after the
                # task ran. Sent again and rerun; a photo already written finds its
                # output finished and counts it so.
                reruns[k] += 1
                if shared.status != "finished":
                    shared = client.scatter(recipe, broadcast=True, hash=False)
                again = client.submit(cut_out_task, jobs[k], recipe=shared, retries=1, pure=False)
                index[again.key] = k
                futures.append(again)  # cancelled with the rest on Ctrl-C
                pending.add(again)
                continue
            if result is None:
                problem = "not cut out: the Dask scheduler was lost (rerun to resume)"
                result = False, [("fail", (jobs[k].source, problem), {})]
            results[k] = result
            failures += failed(result[1])
            report.failing(failures)
            for _ in jobs[k].todo:
                report.step()
    except BaseException:
        client.cancel(futures)
        raise
    return results  # type: ignore[return-value]


# Times a photo whose answer was lost (not one whose workers died: the scheduler counts
# those) is run again before it counts as lost.
_RERUNS = 3


def _result(future: Any, job: Job) -> tuple[bool, list] | None:
    """The task's outcome; ``None`` where it was lost (cancelled, or forgotten by the
    scheduler after it finished)."""
    from distributed.client import FutureCancelledError

    if future.status == "finished":
        try:
            return future.result()
        except FutureCancelledError:
            return None
    if future.status != "error":
        return None
    from distributed import KilledWorker

    try:
        error = future.exception()
    except FutureCancelledError:
        return None
    if isinstance(error, KilledWorker):
        problem = (
            f"the workers cutting it out died, {error.allowed_failures + 1} times "
            "(out of memory? a crash?)"
        )
    else:
        problem = f"{type(error).__name__}: {error}".splitlines()[0]
    return False, [("fail", (job.source, problem), {})]
