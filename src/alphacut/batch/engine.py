"""One batch, however it runs: check every input and output, load the model once, then
cut out what is left in this process, in worker processes, or on a Dask cluster.

The command line and :func:`alphacut.batch.remove_backgrounds` both call
:func:`run_batch`; each photo's work is :func:`alphacut.batch.photo.cut_out` wherever it
runs (:mod:`alphacut.batch.processes` for worker processes, :mod:`alphacut.batch.cluster`
for a Dask cluster), so the outputs, the report and the exit status do not depend on
where it ran.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from alphacut._internal.errors import first_line
from alphacut.io import ImageReadError, ImageWriteError, check_output, probe_image
from alphacut.io import probe_image_bytes as _probe_bytes
from alphacut.io.paths import display

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from alphacut.batch.report import BatchReport
    from alphacut.models import LoadedModel

__all__ = [
    "Job",
    "ModelUnavailable",
    "Recipe",
    "Recorder",
    "check_jobs",
    "run_batch",
    "traceback_text",
]


@dataclass
class Job:
    """One input and where its result goes.

    Attributes
    ----------
    source : str
        A path, or "-" for standard input.
    target : str
        A path, or "-" for standard output; for an animation, the name its numbered
        frame outputs are made from.
    fmt : str
        PIL's format name of the output.
    create_folder : bool
        Whether the output's folder is made when missing (``-o`` folders, ``<folder>-cut``).
    outputs : list of str
        One output per frame, known once the input's header was read.
    todo : list of int
        The frames still to cut out: those whose output may be written.
    data : bytes or None
        Standard input, read once.
    root : str
        The folder relative names are read and written against; ``""``: the current one.
        A cluster's workers run elsewhere, so the names stay as the user gave them (the
        messages show them) while the files are found from here.
    """

    source: str
    target: str
    fmt: str
    create_folder: bool = False
    outputs: list[str] = field(default_factory=list)
    todo: list[int] = field(default_factory=list)
    data: bytes | None = None
    root: str = ""

    def path(self, name: str) -> str:
        """``name`` (the source or an output) as the files are opened."""
        return name if name == "-" or not self.root else os.path.join(self.root, name)


@dataclass
class Recipe:
    """What every photo of a batch is cut out with; sent once to each worker.

    Attributes
    ----------
    options : dict
        The keyword arguments of :func:`alphacut.api.remove_background`.
    mask_only : bool
        Write the alpha as grey instead of a cut-out.
    bg_color : tuple of int or None
        Put the subject on this colour (also what JPEG flattens onto).
    background : numpy.ndarray or None
        Put the subject on this image.
    overwrite : bool
        Replace existing outputs; without it they are skipped before any work.
    protect : tuple of str
        The inputs, never written; set by :func:`run_batch`.
    debug : bool
        Keep each failure's traceback as text (``--debug``).
    preload : str, ModelSpec or None
        The neural model each worker loads before its first photo; set by
        :func:`run_batch`.
    """

    options: dict[str, Any] = field(default_factory=dict)
    mask_only: bool = False
    bg_color: tuple[int, int, int] | None = None
    background: np.ndarray | None = None
    overwrite: bool = False
    protect: tuple[str, ...] = ()
    debug: bool = False
    preload: Any = None

    @property
    def device(self) -> str:
        return self.options.get("device") or "auto"


class ModelUnavailable(RuntimeError):
    """The batch's model could not be loaded: one error for the batch, not one per photo.

    Attributes
    ----------
    usage : bool
        The request itself is at fault (an unknown device, say), not the model's file.
    """

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class Recorder:
    """Stands in for the batch's report while a job is cut out elsewhere: a finished
    frame is passed on at once (the progress bar), the rest is kept to be replayed in
    input order.

    Parameters
    ----------
    step : callable
        Called once per finished frame.
    """

    def __init__(self, step: Callable[[], None]) -> None:
        self.step = step
        self.events: list[tuple[str, tuple, dict[str, Any]]] = []

    def fail(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("fail", args, kwargs))

    def warn(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("warn", args, kwargs))

    def done(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("done", args, kwargs))

    def edge(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("edge", args, kwargs))


def replay(events: list[tuple[str, tuple, dict[str, Any]]], report: BatchReport) -> None:
    """Tell ``report`` what a :class:`Recorder` kept."""
    for name, args, kwargs in events:
        getattr(report, name)(*args, **kwargs)


def failed(events: list[tuple[str, tuple, dict[str, Any]]]) -> bool:
    return any(name == "fail" for name, _, _ in events)


# --- Before any work -------------------------------------------------------------------------


def check_jobs(jobs: list[Job], recipe: Recipe, report: BatchReport) -> list[Job]:
    """Read each input's header and check each output, before any work: the jobs that
    have something left to do.

    Existing outputs are skipped (``recipe.overwrite`` aside), which is what makes a rerun
    resume: see :mod:`alphacut.batch.resume` for which of them count as finished.
    """
    from alphacut.batch.photo import frame_outputs

    claimed: dict[str, str] = {}
    ready = []
    for job in jobs:
        frames = _frame_count(job, recipe, report)
        if frames is None:
            continue
        job.outputs = frame_outputs(job.target, frames)
        if _check_outputs(job, recipe, report, claimed) and job.todo:
            ready.append(job)
    return ready


def _frame_count(job: Job, recipe: Recipe, report: BatchReport) -> int | None:
    """The number of frames of ``job``'s input; None once its failure is reported."""
    try:
        with warnings.catch_warnings():
            # Reading the pixels later says the same once, in the file's own lines.
            warnings.simplefilter("ignore")
            if job.source == "-":
                job.data = sys.stdin.buffer.read()
                info = _probe_bytes(job.data)
            else:
                info = probe_image(job.path(job.source))
    except ImageReadError as error:
        report.fail(job.source, error.problem, detail=traceback_text(recipe, error))
        return None
    if job.target == "-" and info.frames > 1:
        report.fail(
            job.source,
            f"has {info.frames} frames and standard output takes one image: give "
            "-o NAME.png to write them as numbered files",
        )
        return None
    return info.frames


def _check_outputs(job: Job, recipe: Recipe, report: BatchReport, claimed: dict[str, str]) -> bool:
    """Sort ``job``'s outputs into to do and skipped; False once its failure is reported."""
    from alphacut.batch.resume import unfinished

    for index, output in enumerate(job.outputs):
        if output == "-":
            job.todo.append(index)
            continue
        key = os.path.normcase(os.path.abspath(job.path(output)))
        if key in claimed:
            other = display(claimed[key])
            report.fail(job.source, f"same output name as {other} ({display(output)})")
            return False
        claimed[key] = job.source
        try:
            check_output(
                job.path(output),
                overwrite=recipe.overwrite,
                protect=recipe.protect,
                create_folder=job.create_folder,
            )
        except ImageWriteError as error:
            if error.problem.startswith("already exists"):
                why = unfinished(job.path(output), job.path(job.source), job.fmt)
                report.skip(job.source, output, error.problem, why)
                continue
            detail = traceback_text(recipe, error)
            report.fail(job.source, error.problem, output=output, detail=detail)
            return False
        job.todo.append(index)
    return True


def traceback_text(recipe: Recipe, error: BaseException) -> str | None:
    """``error``'s traceback when the batch keeps them; as text, so that a worker can
    send it back."""
    from alphacut._internal.errors import debugging, format_traceback

    return format_traceback(error) if debugging(recipe) else None


# --- The batch ---------------------------------------------------------------------------------


def run_batch(
    jobs: list[Job],
    recipe: Recipe,
    report: BatchReport,
    *,
    workers: int | None = 1,
    client: Any = None,
) -> int:
    """Check ``jobs``, then cut out what is left; how many jobs were written whole.

    Parameters
    ----------
    jobs : list of Job
        In input order, their outputs not yet known.
    recipe : Recipe
        What each photo is cut out with.
    report : BatchReport
        Told everything, in input order.
    workers : int or None
        Photos cut out at once on this machine, each in a process of its own when above
        1; ``None``: as many as :func:`alphacut.models.session.usable_cpus` (1 on a GPU).
    client : distributed.Client, optional
        Run on this Dask cluster instead (``workers`` is then the cluster's business).

    Returns
    -------
    int
        Jobs whose every frame to do was written.

    Raises
    ------
    ModelUnavailable
        The neural model could not be loaded (here, or on the cluster's workers).
    """
    recipe.protect = tuple(job.source for job in jobs if job.source != "-")
    ready = check_jobs(jobs, recipe, report)
    if not ready:
        return 0  # nothing to do: no model is loaded, no worker started
    if client is not None:
        from alphacut.batch.cluster import run_on_cluster

        return run_on_cluster(ready, recipe, client, report)
    loaded = _preload(recipe)
    count = min(_workers_wanted(workers, loaded), len(ready))
    threads = 0
    if count > 1:
        from alphacut.batch.processes import threads_per_job

        threads = threads_per_job(count)
    if loaded is not None:
        where = loaded.describe()
        if count > 1:
            where = f"{replace(loaded, threads=threads).describe()} in each of {count} jobs"
            # Each worker loads its own: this process's copy would only hold memory.
            from alphacut.models import clear_cache

            loaded = None
            clear_cache()
        report.model(where)
    report.progress(sum(len(job.todo) for job in ready))
    try:
        if count > 1:
            from alphacut.batch.processes import cut_out_in_parallel

            return cut_out_in_parallel(ready, count, threads, recipe, report)
        from alphacut.batch.photo import cut_out

        return sum(cut_out(job, recipe, report) for job in ready)
    finally:
        report.close()  # an interruption must not leave the bar half drawn


def preload_choice(recipe: Recipe) -> Any:
    """The neural model the batch's photos will run, as :func:`remove_background` will
    choose it; None when the method needs none."""
    if recipe.options.get("method", "auto") not in ("auto", "neural"):
        return None
    from alphacut.api import choose_model

    return choose_model(recipe.options.get("model"))[0]


def _preload(recipe: Recipe) -> LoadedModel | None:
    """Load (and on first use download) the model once, up front: a missing or corrupt
    model is one error, not one per photo, and the user learns where it runs before
    waiting. Its session is then the one each photo reuses."""
    from alphacut.models import load_model
    from alphacut.models.specs import UnknownModelError

    recipe.preload = preload_choice(recipe)
    if recipe.preload is None:
        return None
    try:
        return load_model(recipe.preload, device=recipe.device)
    except ValueError as error:
        raise ModelUnavailable(str(error), usage=True) from error
    except (UnknownModelError, RuntimeError, OSError) as error:
        raise ModelUnavailable(first_line(error)) from error


def _workers_wanted(workers: int | None, loaded: LoadedModel | None) -> int:
    """``workers``, else the CPU cores; else 1 when the model runs on a GPU, where each
    worker's session would take its own share of the GPU's memory."""
    if workers is not None:
        return workers
    if loaded is not None and loaded.provider != "CPUExecutionProvider":
        return 1
    from alphacut.models.session import usable_cpus

    return usable_cpus()
