"""One photo: read, cut out, rendered and written atomically, frame by frame.

:func:`cut_out` is the one function that does a photo's work, wherever the batch runs it:
in this process, in a worker process (:mod:`alphacut.batch.processes`) or on a Dask worker
(:mod:`alphacut.batch.cluster`). It tells a report what came of it (the batch's, or a
:class:`~alphacut.batch.engine.Recorder` that is replayed into it), so that the outputs,
the messages and the exit status do not depend on where the photo was cut out.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alphacut._internal.errors import first_line
from alphacut.api import remove_background
from alphacut.batch.engine import Job, Recipe, Recorder
from alphacut.batch.engine import traceback_text as _detail
from alphacut.compose import composite, cutout, mask_image
from alphacut.io import (
    ImageReadError,
    ImageReadWarning,
    ImageWriteError,
    encode_image,
    read_frames,
    read_frames_bytes,
    write_image,
)
from alphacut.io.paths import display, escape_text, folder_problem

if TYPE_CHECKING:
    from alphacut.batch.report import BatchReport

__all__ = ["DEVELOPER_WARNINGS", "OUTPUT_TAG", "cut_out", "frame_outputs", "shown"]

OUTPUT_TAG = ".cut"  # photo.jpg -> photo.cut.png beside it; skipped when scanning folders

# Warnings meant for developers, not for someone cutting out photos.
DEVELOPER_WARNINGS = (
    DeprecationWarning,
    PendingDeprecationWarning,
    FutureWarning,
    ImportWarning,
    ResourceWarning,
)


def frame_outputs(target: str, count: int) -> list[str]:
    """Numbered outputs for the ``count`` frames of an animation written to ``target``.

    The number goes before the ``.cut`` tag, so that a folder scan still skips them.

    Examples
    --------
    >>> frame_outputs("anim.cut.png", 2)
    ['anim-001.cut.png', 'anim-002.cut.png']
    >>> frame_outputs("out/anim.webp", 1)
    ['out/anim.webp']
    """
    if count == 1:
        return [target]
    path = Path(target)
    suffix = "".join(path.suffixes[-2:]) if path.suffixes[-2:-1] == [OUTPUT_TAG] else path.suffix
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    digits = max(3, len(str(count)))
    return [str(path.with_name(f"{stem}-{k:0{digits}d}{suffix}")) for k in range(1, count + 1)]


def shown(source: str) -> str:
    """An input as messages name it: standard input is "<stdin>", as in its read errors."""
    return "<stdin>" if source == "-" else display(source)


def _user_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The caught warnings worth a line to the user, one line each, without repeats."""
    lines: list[str] = []
    for record in caught:
        if issubclass(record.category, DEVELOPER_WARNINGS):
            continue
        message = record.message
        if isinstance(message, ImageReadWarning):
            text = message.problem
        else:
            text = first_line(message) if isinstance(message, Warning) else str(message)
        if text not in lines:
            lines.append(text)
    return lines


def _render(matte, recipe: Recipe) -> np.ndarray:
    if recipe.mask_only:
        return mask_image(matte.alpha)
    if recipe.background is not None:
        return composite(matte.foreground, matte.alpha, recipe.background)
    if recipe.bg_color is not None:
        return composite(matte.foreground, matte.alpha, recipe.bg_color)
    return cutout(matte.foreground, matte.alpha)


def _frames(job: Job) -> Generator[np.ndarray, None, None]:
    if job.data is not None:
        return read_frames_bytes(job.data)
    return read_frames(job.path(job.source))


def _write(job: Job, output: str, result: np.ndarray, recipe: Recipe) -> None:
    flatten = recipe.bg_color or (255, 255, 255)
    if output == "-":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user asked for JPEG explicitly
            data = encode_image(result, job.fmt, flatten_color=flatten)
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # The reader left (e.g. `| head`): no traceback now, nor at exit's flush.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise ImageWriteError(
                "-", "standard output was closed before the image was written"
            ) from None
        return
    path = job.path(output)
    folder = Path(path).parent
    if job.create_folder and not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = folder_problem(folder, create=True) or error.strerror or str(error)
            raise ImageWriteError(output, f"cannot make its folder ({problem})") from None
    try:
        write_image(
            path,
            result,
            fmt=job.fmt,
            overwrite=recipe.overwrite,
            protect=recipe.protect,
            flatten_color=flatten,
        )
    except ImageWriteError as error:
        if path == output:
            raise
        raise ImageWriteError(output, error.problem) from error  # named as the user did


def _describe(matte) -> str:
    return f"{matte.method} on {matte.provider}" if matte.provider else matte.method


def _written_before(job: Job, recipe: Recipe, report: BatchReport | Recorder) -> list[int]:
    """The frames of ``job`` still to do. An output that appeared, finished, since the
    batch checked it was written by an earlier try of this photo (a Dask worker that died
    after writing it) or a run alongside: it counts as written, not as in the way."""
    if recipe.overwrite:
        return job.todo
    from alphacut.batch.resume import unfinished

    todo = []
    for index in job.todo:
        output = job.outputs[index]
        path = job.path(output)
        if output == "-" or not os.path.lexists(path):
            todo.append(index)
        elif unfinished(path, job.path(job.source), job.fmt) is None:
            report.step()
            line = f"{shown(job.source)} -> {display(output)} (written before)"
            report.done(job.source, output, line, [])
        else:
            todo.append(index)  # writing it then says why not
    return todo


def cut_out(job: Job, recipe: Recipe, report: BatchReport | Recorder) -> bool:
    """Cut out every frame of ``job`` that is to do; whether all went well.

    ``report`` is the batch's, or where the photo is cut out elsewhere (a worker process,
    a Dask worker) a :class:`Recorder` of what to tell the batch's.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            todo = _written_before(job, recipe, report)
            if todo:
                _cut_out_frames(job, todo, recipe, report)
        except ImageReadError as error:
            report.fail(job.source, error.problem, detail=_detail(recipe, error))
            return False
        except ImageWriteError as error:
            output = None if error.target == "-" else error.target
            report.fail(job.source, error.problem, output=output, detail=_detail(recipe, error))
            return False
        except MemoryError as error:
            problem = "not enough memory to cut out this image"
            report.fail(job.source, problem, detail=_detail(recipe, error))
            return False
        except Exception as error:  # noqa: BLE001 - one photo's failure must not stop a batch
            report.fail(job.source, escape_text(first_line(error)), detail=_detail(recipe, error))
            return False
    for message in _user_warnings(caught):
        report.warn(job.source, message)
    return True


def _cut_out_frames(
    job: Job, todo: list[int], recipe: Recipe, report: BatchReport | Recorder
) -> None:
    frames = len(job.outputs)
    noted = False
    with closing(_frames(job)) as frames_read:
        for index, image in enumerate(frames_read):
            if index not in todo:
                continue
            start = time.perf_counter()
            matte = remove_background(image, **recipe.options)
            output = job.outputs[index]
            _write(job, output, _render(matte, recipe), recipe)
            report.step()
            seconds = time.perf_counter() - start
            where = "standard output" if output == "-" else display(output)
            which = f" [frame {index + 1} of {frames}]" if frames > 1 else ""
            line = f"{shown(job.source)}{which} -> {where}"
            report.edge(job.source, matte.edge_uncertainty, which)
            unsure = matte.edge_uncertainty
            edge = f", outline {unsure:.0%} unsure" if unsure is not None else ""
            line = f"{line} ({_describe(matte)}, {seconds:.2f} s{edge})"
            report.done(job.source, output, line, [] if noted else matte.notes)
            noted = True
