"""Many photos at once: in this process, in worker processes, or on a Dask cluster.

:func:`remove_backgrounds` is the command line's folder batch as a function, with the
same checks, outputs and report; ``alphacut DIR -o OUT`` (with ``--jobs N`` or
``--scheduler ADDRESS``) runs the same :func:`alphacut.batch.engine.run_batch`.

Reruns resume: an existing output is never replaced without ``overwrite``, and is skipped
before any computing; see :mod:`alphacut.batch.resume` for which of them count as finished.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from distributed import Client

    from alphacut.batch.engine import ModelUnavailable
    from alphacut.batch.report import BatchReport, FileReport

__all__ = ["BatchReport", "FileReport", "ModelUnavailable", "remove_backgrounds"]

# Imported on first use (PEP 562), not here: a worker process of a batch starts by
# importing alphacut.batch.processes, and so this package, and must size its thread pools
# before NumPy loads (see alphacut.batch.processes).
_LAZY = {
    "BatchReport": "alphacut.batch.report",
    "FileReport": "alphacut.batch.report",
    "ModelUnavailable": "alphacut.batch.engine",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'alphacut.batch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def remove_backgrounds(
    paths: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    client: Client | None = None,
    *,
    jobs: int | None = 1,
    fmt: str = "png",
    overwrite: bool = False,
    mask_only: bool = False,
    bg_color: tuple[int, int, int] | None = None,
    background: np.ndarray | None = None,
    progress: bool = False,
    debug: bool = False,
    **options: Any,
) -> BatchReport:
    """Cut out each photo of ``paths`` into ``out_dir``; what came of each.

    Outputs are named ``<stem>.<fmt>`` (an animation's frames ``<stem>-001.<fmt>``, ...),
    written atomically; a photo that fails does not stop the others.

    Parameters
    ----------
    paths : iterable of path-like
        The photos, in the order the report lists them.
    out_dir : path-like
        Where the outputs go; made if missing.
    client : distributed.Client, optional
        Cut out on this Dask cluster, each photo a task; its workers must see ``paths``
        and ``out_dir`` under the same names. Without it, on this machine.
    jobs : int or None
        Without ``client``: photos cut out at once, each in a worker process when above 1;
        ``None`` for one per CPU core (1 when the model runs on a GPU).
    fmt : str
        ``"png"``, ``"webp"`` or ``"jpg"`` (flattened onto ``bg_color``, white by default).
    overwrite : bool
        Replace existing outputs; without it they are skipped before any work, so that
        running it again finishes an interrupted batch.
    mask_only : bool
        Write the alpha as grey.
    bg_color : tuple of int, optional
        ``(r, g, b)``: put the subject on this colour.
    background : numpy.ndarray, optional
        Put the subject on this image.
    progress : bool
        Show a progress bar on standard error.
    debug : bool
        Keep each failure's traceback (:attr:`FileReport.traceback`).
    **options
        Keyword arguments of :func:`alphacut.remove_background`: ``method``, ``model``,
        ``refine``, ``device``, ...

    Returns
    -------
    BatchReport
        A :class:`FileReport` per input, in input order (``status``: ``"written"``,
        ``"skipped"``, ``"failed"``).

    Raises
    ------
    ModelUnavailable
        The neural model could not be loaded (here, or on the cluster's workers).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from skimage.data import astronaut
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> Image.fromarray(astronaut()[::4, ::4]).save(folder / "astronaut.png")
    >>> _ = (folder / "notes.png").write_text("not a photo")
    >>> report = remove_backgrounds(
    ...     [folder / "astronaut.png", folder / "notes.png"], folder / "out", refine=False
    ... )
    >>> [(pathlib.Path(f.source).name, f.status) for f in report]
    [('astronaut.png', 'written'), ('notes.png', 'failed')]
    >>> report[str(folder / "notes.png")].problem
    'not an image file (it is text)'
    >>> rerun = remove_backgrounds([folder / "astronaut.png"], folder / "out", refine=False)
    >>> [f.status for f in rerun]
    ['skipped']
    """
    from alphacut.batch.engine import Job, Recipe, run_batch
    from alphacut.batch.report import BatchReport
    from alphacut.io.write import FORMATS, format_for

    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose from {', '.join(FORMATS)}")
    sources = [os.fspath(path) for path in paths]
    planned = []
    for source in sources:
        target = Path(out_dir) / f"{Path(source).stem}.{fmt}"
        planned.append(Job(source, str(target), format_for(target, fmt), create_folder=True))
    recipe = Recipe(
        options=options,
        mask_only=mask_only,
        bg_color=bg_color,
        background=background,
        overwrite=overwrite,
        debug=debug,
    )
    report = BatchReport(progress=progress)
    report.expect(sources)
    run_batch(planned, recipe, report, workers=jobs, client=client)
    return report
