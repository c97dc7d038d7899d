"""Between napari layers and the core's arrays: what to read from a layer, where results go.

Everything here translates (layer data, coordinates, label codes, layer bookkeeping); the
image processing itself is the core's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Layer, Shapes

from alphacut.methods.grabcut import (
    BACKGROUND,
    FOREGROUND,
    PROBABLE_BACKGROUND,
    PROBABLE_FOREGROUND,
)

__all__ = [
    "HINT_COLORS",
    "HINT_LABELS",
    "STALE_SUFFIX",
    "ImageSource",
    "current_frame",
    "find_layer",
    "find_result",
    "hints_from_labels",
    "mark_stale",
    "rect_from_shapes",
    "show_layer",
]

# Label values a user paints in a hints layer -> GrabCut's codes. napari reserves 0 for
# "not painted", so GrabCut's own codes (where 0 is background) cannot be used as they are.
HINT_LABELS = {
    1: FOREGROUND,
    2: BACKGROUND,
    3: PROBABLE_FOREGROUND,
    4: PROBABLE_BACKGROUND,
}
HINT_COLORS = {
    None: "transparent",
    0: "transparent",
    1: "lime",
    2: "magenta",
    3: "palegreen",
    4: "pink",
}

# Appended to the names of result layers that a failed run did not refresh. A napari user
# tells layers apart by name (in the layer list, and on each cell in grid mode), so that is
# where "this is not what you just asked for" has to show. Unlike a lowered opacity or
# hiding, a name leaves the user's own display settings alone, and the next successful run
# takes it off again exactly (:func:`show_layer` refreshes the layer under its plain name).
STALE_SUFFIX = " (stale)"


@dataclass(frozen=True)
class ImageSource:
    """The frames of an Image layer as the core wants them, readable from any thread.

    Taken on the GUI thread (layer attributes are not thread-safe); :meth:`frame` then only
    slices the captured array, so the worker never touches the layer.
    """

    name: str
    data: Any
    rgb: bool
    contrast_limits: tuple[float, float]
    scale: tuple[float, ...]
    translate: tuple[float, ...]

    @classmethod
    def from_layer(cls, layer: Image) -> ImageSource:
        if layer.multiscale:
            raise ValueError(
                f"{layer.name!r} is a multiscale image; open its full-resolution level as "
                "an ordinary image layer first"
            )
        if layer.rgb and layer.data.shape[-1] not in (3, 4):
            raise ValueError(f"{layer.name!r} has {layer.data.shape[-1]} colour channels")
        return cls(
            name=layer.name,
            data=layer.data,
            rgb=bool(layer.rgb),
            contrast_limits=tuple(float(v) for v in layer.contrast_limits),
            scale=tuple(layer.scale),
            translate=tuple(layer.translate),
        )

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Height and width of one frame."""
        shape = self.data.shape[:-1] if self.rgb else self.data.shape
        return int(shape[-2]), int(shape[-1])

    @property
    def stack_shape(self) -> tuple[int, ...]:
        """Shape of the leading (time, z, ...) axes; ``()`` for a single photo."""
        shape = self.data.shape[:-1] if self.rgb else self.data.shape
        return tuple(int(n) for n in shape[:-2])

    def indices(self) -> Iterator[tuple[int, ...]]:
        """Index of every frame, in order."""
        return np.ndindex(self.stack_shape)

    def frame(self, index: tuple[int, ...] = ()) -> np.ndarray:
        """One frame as the core's input, mapped through the layer's contrast limits.

        What the user sees is what gets processed: a 12-bit microscope frame shown with
        limits 100..900 reaches the core as those limits stretched to [0, 1], not as the
        near-black image a plain dtype scaling would give.
        """
        frame = np.asarray(self.data[index])
        low, high = self.contrast_limits
        if frame.dtype == np.uint8 and (low, high) == (0.0, 255.0):
            return frame
        if frame.dtype.kind == "f" and (low, high) == (0.0, 1.0):
            return frame
        span = high - low if high > low else 1.0
        scaled = (frame.astype(np.float32) - np.float32(low)) / np.float32(span)
        return np.clip(scaled, 0.0, 1.0, out=scaled)


def find_layer(viewer: Any, name: str) -> Layer | None:
    """The layer called ``name``, or ``None``."""
    return next((layer for layer in viewer.layers if layer.name == name), None)


def find_result(viewer: Any, name: str) -> Layer | None:
    """The result layer called ``name``, fresh or marked stale, or ``None``."""
    layer = find_layer(viewer, name)
    return layer if layer is not None else find_layer(viewer, name + STALE_SUFFIX)


def mark_stale(viewer: Any, names: Iterable[str]) -> list[str]:
    """Rename the result layers called ``names`` to ``<name> (stale)``.

    Parameters
    ----------
    viewer : napari.Viewer
    names : iterable of str
        Plain names of result layers (those that are missing are skipped).

    Returns
    -------
    list of str
        The plain names of the layers now marked stale (already marked ones included).
    """
    marked = []
    for name in names:
        if (layer := find_layer(viewer, name)) is not None:
            layer.name = name + STALE_SUFFIX
        elif find_layer(viewer, name + STALE_SUFFIX) is None:
            continue
        marked.append(name)
    return marked


def show_layer(
    viewer: Any,
    name: str,
    kind: type[Layer],
    data: np.ndarray,
    *,
    like: ImageSource | None = None,
    **kwargs: Any,
) -> Layer:
    """Put ``data`` in the layer called ``name``, creating it only when there is none.

    Re-running a widget then refreshes its results in place, keeping the user's choices of
    visibility, opacity, colormap and layer order. ``kwargs`` are only used to create.

    Parameters
    ----------
    viewer : napari.Viewer
    name : str
    kind : type
        ``Image`` or ``Labels``.
    data : ndarray
    like : ImageSource, optional
        Place the layer where this image is (scale and translate).
    **kwargs
        Layer options for a new layer.
    """
    placement = {}
    if like is not None:
        placement = {"scale": like.scale, "translate": like.translate}
    existing = find_result(viewer, name)
    if existing is not None and existing.name != name:
        existing.name = name  # refreshed below: no longer stale
    rgb = kwargs.get("rgb", False)
    if (
        isinstance(existing, kind)
        and existing.data.shape == data.shape
        and (kind is not Image or existing.rgb == rgb)
    ):
        existing.data = data
        for key, value in placement.items():
            # Only when moved: each set re-lays out the whole viewer (~50 ms).
            if not np.allclose(getattr(existing, key), value):
                setattr(existing, key, value)
        if "contrast_limits" in kwargs:
            # napari re-derives limits from new data; a matte's range is always 0..1.
            existing.contrast_limits = kwargs["contrast_limits"]
        return existing
    layer = kind(data, name=name, **placement, **kwargs)
    if existing is not None:
        # Same name, other kind or shape (e.g. a different photo): replace it in place.
        index = viewer.layers.index(existing)
        viewer.layers.remove(existing)
        viewer.layers.insert(index, layer)
    else:
        viewer.layers.append(layer)
    return layer


def _to_image_pixels(points: np.ndarray, layer: Layer, image: ImageSource) -> np.ndarray:
    """(row, col) of ``points`` (in ``layer``'s data coordinates) in ``image``'s pixels."""
    world = points[:, -2:] * np.asarray(layer.scale[-2:]) + np.asarray(layer.translate[-2:])
    return (world - np.asarray(image.translate[-2:])) / np.asarray(image.scale[-2:])


def rect_from_shapes(shapes: Shapes, image: ImageSource) -> tuple[int, int, int, int]:
    """GrabCut's ``(x, y, width, height)`` from a rectangle in a Shapes layer.

    The selected rectangle if one is, else the last one drawn. Its bounding box is taken
    (a rotated rectangle becomes the box around it) and clipped to the photo.

    Raises
    ------
    ValueError
        When the layer holds no rectangle, or the rectangle misses the photo.
    """
    rectangles = [i for i, kind in enumerate(shapes.shape_type) if kind == "rectangle"]
    if not rectangles:
        raise ValueError(f"draw a rectangle around the subject in {shapes.name!r}")
    selected = [i for i in rectangles if i in shapes.selected_data]
    index = (selected or rectangles)[-1]
    corners = _to_image_pixels(np.asarray(shapes.data[index], float), shapes, image)
    height, width = image.frame_shape
    top, left = np.clip(corners.min(axis=0), 0, [height, width])
    bottom, right = np.clip(corners.max(axis=0), 0, [height, width])
    x, y = math.floor(left), math.floor(top)
    w, h = math.ceil(right) - x, math.ceil(bottom) - y
    if w < 2 or h < 2:
        raise ValueError(f"the rectangle in {shapes.name!r} does not cover the photo")
    return x, y, w, h


def hints_from_labels(labels: Labels, image: ImageSource, *, with_rect: bool) -> np.ndarray | None:
    """GrabCut hint codes from a painted Labels layer, or ``None`` if nothing is painted.

    Labels 1 / 2 mark definite foreground / background (also kept definite by the edge
    refinement), 3 / 4 probable foreground / background (see :data:`HINT_LABELS`).

    Parameters
    ----------
    labels : napari.layers.Labels
        Same height and width as the photo: one frame of hints for every frame, or as many
        frames as the photo for per-frame hints.
    image : ImageSource
    with_rect : bool
        Whether a rectangle comes with the hints. Unpainted pixels then stay as the
        rectangle says; without one they are probable background, so that the strokes
        alone define the subject (scribble-style GrabCut).

    Returns
    -------
    ndarray or None
        uint8, shaped ``labels.data``.
    """
    data = np.asarray(labels.data)
    frame = image.frame_shape
    stack = image.stack_shape
    if data.shape[-2:] != frame or data.shape not in (frame, stack + frame):
        raise ValueError(
            f"hints layer {labels.name!r} is {data.shape}, but {image.name!r} has frames of "
            f"{frame} (a single frame of hints, or one per frame, is needed)"
        )
    if not np.any(data):
        return None
    unpainted = PROBABLE_FOREGROUND if with_rect else PROBABLE_BACKGROUND
    codes = np.full(data.shape, unpainted, np.uint8)
    for label, code in HINT_LABELS.items():
        codes[data == label] = code
    return codes


def hints_for_frame(hints: np.ndarray | None, index: tuple[int, ...]) -> np.ndarray | None:
    """The hints of frame ``index``: shared single-frame hints, or that frame's own."""
    if hints is None or hints.ndim == 2:
        return hints
    return hints[index]


def current_frame(viewer: Any, image: ImageSource, layer: Layer) -> tuple[int, ...]:
    """Index of the frame of ``layer`` that the viewer's sliders show."""
    stack = image.stack_shape
    if not stack:
        return ()
    position = layer.world_to_data(viewer.dims.point)
    leading = position[: len(stack)]
    return tuple(
        int(np.clip(round(float(p)), 0, n - 1)) for p, n in zip(leading, stack, strict=True)
    )
