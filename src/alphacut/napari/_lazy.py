"""Cut-outs of a dask-backed (lazy) stack, computed frame by frame as napari shows them.

A 1,000-frame zarr opened lazily in napari need not fit in memory, and the user looks at
one frame at a time: computing the whole stack before showing anything wastes minutes
and memory. Here the result layers are dask arrays too. Each of their chunks is one
frame, which :class:`LazyCutouts` computes with the core when napari first slices it
and keeps in a small cache shared by the alpha, mask and cut-out layers (one core run
per frame, not three). The Run button's worker computes the frame on show first, off
the GUI thread, so what the user looks at is ready when the layers appear.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from alphacut.api import remove_background
from alphacut.matte import Matte
from alphacut.napari._layers import ImageSource, hints_for_frame

__all__ = ["LazyCutouts", "is_lazy"]

# Frames kept computed: the one on show and a few either side of it for scrubbing back;
# a 12 MP frame's alpha, mask and cut-out are about 110 MB.
CACHE_FRAMES = 4


def is_lazy(data: Any) -> bool:
    """Whether ``data`` is a dask array (read chunk by chunk, not held in memory)."""
    module = type(data).__module__
    return module.startswith("dask.") and hasattr(data, "chunks")


class LazyCutouts:
    """One core run per frame of ``source``, on demand, the last few results cached.

    Parameters
    ----------
    source : ImageSource
        The stack (its ``data`` is usually a dask array).
    options : dict
        Keyword arguments of :func:`alphacut.remove_background`, ``hints`` a stack or a
        single frame of them (see :func:`~alphacut.napari._layers.hints_for_frame`).
    progress : callable, optional
        Passed to the core as its progress callback (the step names).
    """

    def __init__(
        self,
        source: ImageSource,
        options: dict[str, Any],
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self.options = dict(options)
        self.hints = self.options.pop("hints", None)
        self.progress = progress
        self.computed = 0
        """How many frames were run through the core (cache misses), for tests and status."""
        self._cache: OrderedDict[tuple[int, ...], Matte] = OrderedDict()
        # One frame at a time: napari's slicing and the worker may ask for the same frame
        # at once, and two core runs side by side would only halve each one's speed.
        self._lock = threading.Lock()

    def matte(self, index: tuple[int, ...]) -> Matte:
        """The core's result for the frame at ``index`` (computed once while cached)."""
        index = tuple(int(i) for i in index)
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
            matte = remove_background(
                self.source.frame(index),
                hints=hints_for_frame(self.hints, index),
                progress=self.progress,
                **self.options,
            )
            self.computed += 1
            self._cache[index] = matte
            while len(self._cache) > CACHE_FRAMES:
                self._cache.popitem(last=False)
            return matte

    def layers(self) -> tuple[Any, Any, Any]:
        """Lazy (alpha, mask, cut-out) stacks shaped like the source, one chunk per frame."""
        import dask.array as da

        stack, (height, width) = self.source.stack_shape, self.source.frame_shape
        leading = tuple((1,) * n for n in stack)

        def chunk(
            kind: str, part: Callable[[Matte], np.ndarray], dtype: type, channels: tuple[int, ...]
        ) -> Any:
            def compute(block_id: tuple[int, ...]) -> np.ndarray:
                value = part(self.matte(block_id[: len(stack)]))
                return np.asarray(value, dtype)[(None,) * len(stack)]

            chunks = (*leading, (height,), (width,), *((c,) for c in channels))
            meta = np.empty((0,) * (len(stack) + 2 + len(channels)), dtype)
            # A fresh name per run: dask (and napari's chunk cache) key results by it.
            name = f"alphacut-{kind}-{uuid.uuid4().hex}"
            return da.map_blocks(compute, chunks=chunks, dtype=dtype, meta=meta, name=name)

        return (
            chunk("alpha", lambda matte: matte.alpha, np.float32, ()),
            chunk("mask", lambda matte: matte.mask, np.uint8, ()),
            chunk("cut-out", lambda matte: matte.rgba(), np.uint8, (4,)),
        )
