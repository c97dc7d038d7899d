"""Segmentation by a neural network through ONNX Runtime.

Everything model-specific (input size, layout, normalisation, output activation) comes
from the model's :class:`~alphacut.models.ModelSpec`; this module only follows it. The
network sees a small copy of the photo; its probability map is brought back to full
resolution with a guided filter steered by the photo, so the edge follows the photo's
edges instead of the network's coarse pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from alphacut._internal.guided import guided_upsample
from alphacut._internal.imageops import box_mask, resize
from alphacut.convert import read_float_rgb
from alphacut.models import DEFAULT_MODEL, LoadedModel, ModelSpec, load_model
from alphacut.models.session import run_batch

__all__ = ["neural", "predict_probability", "preprocess", "recentre"]


def preprocess(rgb: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Turn a float RGB photo into the tensor ``spec`` describes (batch of one).

    Parameters
    ----------
    rgb : ndarray
        float32 HxWx3 in [0, 1].
    spec : ModelSpec
        The model's input size (or, for a dynamic-size model, target long side and size
        multiple), layout, mean and std.

    Returns
    -------
    ndarray
        float32, C-contiguous, 1xHxWx3 or 1x3xHxW per ``spec.layout``: the photo shrunk
        by area averaging to the input size, then normalised as ``(x - mean) / std``.
    """
    height, width = _input_size(rgb.shape, spec)
    small = resize(rgb, (height, width), interpolation="area")
    tensor = (small - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    tensor = tensor[None].astype(np.float32)
    if spec.layout == "NCHW":
        tensor = tensor.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor)


def _input_size(shape: tuple[int, ...], spec: ModelSpec) -> tuple[int, int]:
    if not spec.dynamic_size:
        return spec.input_size
    # Dynamic models: keep the photo's aspect, long side near the spec's size, each side a
    # multiple of what the network's downsampling needs.
    target = max(spec.input_size)
    scale = target / max(shape[0], shape[1])
    m = spec.size_multiple
    return (
        max(m, int(round(shape[0] * scale / m)) * m),
        max(m, int(round(shape[1] * scale / m)) * m),
    )


def _to_probability(output: np.ndarray, spec: ModelSpec) -> np.ndarray:
    output = np.asarray(output, np.float32)
    if output.ndim == 4:
        channel_axis = 3 if spec.layout == "NHWC" and output.shape[3] <= 4 else 1
        output = np.take(output[0], spec.output_channel, axis=channel_axis - 1)
    elif output.ndim == 3:
        output = output[0]
    if spec.activation == "sigmoid":
        output = 1 / (1 + np.exp(-output))
    elif spec.activation == "minmax":
        low, high = float(output.min()), float(output.max())
        output = (output - low) / (high - low) if high > low else np.zeros_like(output)
    return np.clip(output, 0.0, 1.0)


def predict_probability(
    rgb: np.ndarray, loaded: LoadedModel, *, flip: bool = False, inset: float = 0.0
) -> np.ndarray:
    """Low-resolution subject probability map of a float RGB photo, straight from the model.

    The map is on the model's input grid (the photo stretched to the input size).

    Parameters
    ----------
    rgb : ndarray
        float32 HxWx3 in [0, 1].
    loaded : LoadedModel
        The model and its spec.
    flip : bool
        Also run the mirrored photo (of each view) and average: steadier edges for twice
        the inference time.
    inset : float
        0, or the share of the input the photo fills in an extra view: shrunk and centred
        on its own replicated border, so a subject that fills the frame is seen with some
        context around it.

    Returns
    -------
    ndarray
        float32 map in [0, 1], the mean over all views.
    """
    maps = [_view(rgb, loaded, flip=flip)]
    if inset > 0:
        maps.append(_inset_view(rgb, loaded, inset, flip=flip))
    return np.mean(maps, axis=0).astype(np.float32)


def _view(rgb: np.ndarray, loaded: LoadedModel, *, flip: bool) -> np.ndarray:
    spec = loaded.spec
    tensor = preprocess(rgb, spec)
    width_axis = 2 if spec.layout == "NHWC" else 3
    batch = np.concatenate([tensor, np.flip(tensor, axis=width_axis)]) if flip else tensor
    raw = run_batch(loaded, np.ascontiguousarray(batch))[spec.output_index]
    maps = [_to_probability(raw[i : i + 1], spec) for i in range(raw.shape[0])]
    if flip:
        maps[1] = maps[1][:, ::-1]
    return np.mean(maps, axis=0).astype(np.float32)


def _inset_view(rgb: np.ndarray, loaded: LoadedModel, inset: float, *, flip: bool) -> np.ndarray:
    # The photo keeps its aspect inside the canvas; the map of its area is then stretched
    # back to the input grid the other views use.
    in_height, in_width = _input_size(rgb.shape, loaded.spec)
    height, width = rgb.shape[:2]
    scale = inset * min(in_height / height, in_width / width)
    small_h = max(1, min(in_height, round(height * scale)))
    small_w = max(1, min(in_width, round(width * scale)))
    top, left = (in_height - small_h) // 2, (in_width - small_w) // 2
    small = resize(rgb, (small_h, small_w), interpolation="area")
    canvas = cv2.copyMakeBorder(
        np.ascontiguousarray(small, np.float32),
        top,
        in_height - small_h - top,
        left,
        in_width - small_w - left,
        cv2.BORDER_REPLICATE,
    )
    probability = _view(canvas, loaded, flip=flip)[top : top + small_h, left : left + small_w]
    return cv2.resize(probability, (in_width, in_height), interpolation=cv2.INTER_LINEAR)


def recentre(probability: np.ndarray, threshold: float) -> np.ndarray:
    """Map a probability piecewise-linearly so that ``threshold`` becomes 0.5.

    Parameters
    ----------
    probability : ndarray
        Values in [0, 1], any shape.
    threshold : float
        The model's decision threshold, strictly between 0 and 1; 0 and 1 stay fixed.

    Returns
    -------
    ndarray
        float32 of the same shape; ``probability`` itself when ``threshold`` is 0.5.

    Examples
    --------
    >>> recentre(np.array([0.0, 0.25, 0.625, 1.0]), 0.25).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    if threshold == 0.5:
        return probability
    p = np.asarray(probability, np.float32)
    low = 0.5 * p / threshold
    high = 0.5 + 0.5 * (p - threshold) / (1 - threshold)
    return np.where(p < threshold, low, high).astype(np.float32)


def neural(
    image: np.ndarray,
    *,
    model: str | ModelSpec = DEFAULT_MODEL,
    device: str = "auto",
    flip: bool | None = None,
    contrast: float | None = None,
    rect: tuple[int, int, int, int] | None = None,
    loaded: LoadedModel | None = None,
) -> np.ndarray:
    """Soft alpha of the subject predicted by a segmentation network.

    Parameters
    ----------
    image : ndarray
        RGB photo, uint8 or float in [0, 1].
    model : str or ModelSpec
        A name from :data:`alphacut.models.MODEL_SPECS`. The default, ``"selfie"``, ships
        with the package and segments PEOPLE only.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ...: the ONNX Runtime execution provider.
    flip : bool, optional
        Average with the prediction on the mirrored photo. Default: the model's
        ``tta_flip``, on for every model in the table (the embedded model: +0.007 IoU on
        the people benchmark for ~15 ms). At 1024² it doubles seconds of inference, and
        IMG.LY's IS-Net also runs its context views (``tta_inset``): four runs, about
        7 s per photo on two cores; pass ``flip=False`` for speed.
    contrast : float, optional
        Gain around 0.5 applied to the probability. Default: the model's ``contrast``.
        Small networks are under-confident along the whole outline, and a gain of 3 halves
        the error of the embedded model against true mattes while keeping a soft edge band
        (1 leaves the probability as it is).
    rect : tuple of int, optional
        ``(x, y, width, height)`` of a box around the subject: the model runs on the box
        (plus a margin) at its full input resolution, and everything outside the box is
        background.
    loaded : LoadedModel, optional
        An already loaded model (skips the lookup).

    Returns
    -------
    ndarray
        float32 HxW alpha in [0, 1] at the photo's resolution.

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> alpha = neural(astronaut())
    >>> alpha.shape, bool(alpha[300, 250] > 0.5), bool(alpha[20, 20] < 0.5)
    ((512, 512), True, True)
    """
    loaded = loaded or load_model(model, device=device)
    rgb = read_float_rgb(image)
    spec = loaded.spec
    flip = spec.tta_flip if flip is None else flip
    contrast = spec.contrast if contrast is None else contrast
    if rect is not None:
        return _neural_in_box(rgb, rect, loaded, flip=flip, contrast=contrast)
    probability = predict_probability(rgb, loaded, flip=flip, inset=spec.tta_inset)
    probability = recentre(probability, spec.threshold)
    return guided_upsample(rgb, probability, gain=contrast)


# Context kept around a user's box, as a share of the box's size: the network needs some
# background to tell the subject from it.
BOX_MARGIN = 0.1


def _neural_in_box(
    rgb: np.ndarray,
    rect: tuple[int, int, int, int],
    loaded: LoadedModel,
    *,
    flip: bool,
    contrast: float,
) -> np.ndarray:
    height, width = rgb.shape[:2]
    x, y, w, h = (int(v) for v in rect)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"the box {rect} does not overlap the {width}x{height} image")
    mx, my = round((x1 - x0) * BOX_MARGIN), round((y1 - y0) * BOX_MARGIN)
    cx0, cy0 = max(0, x0 - mx), max(0, y0 - my)
    cx1, cy1 = min(width, x1 + mx), min(height, y1 + my)
    crop = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1])
    # The context views matter inside a box too: without them IS-Net takes a pot plant's
    # leaves for background (IoU 0.22 on GT13; mean 0.873 -> 0.929 on the 12 photos).
    probability = predict_probability(crop, loaded, flip=flip, inset=loaded.spec.tta_inset)
    probability = recentre(probability, loaded.spec.threshold)
    alpha = np.zeros((height, width), np.float32)
    alpha[cy0:cy1, cx0:cx1] = guided_upsample(crop, probability, gain=contrast)
    alpha[~box_mask(alpha.shape, rect)] = 0.0
    return alpha
