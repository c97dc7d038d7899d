"""Segmentation by a neural network through ONNX Runtime.

Everything model-specific (input size, layout, normalisation, output activation) comes
from the model's :class:`~alphacut.models.ModelSpec`; this module only follows it. The
network sees a small copy of the photo; its probability map is brought back to full
resolution with a guided filter steered by the photo, so the edge follows the photo's
edges instead of the network's coarse pixels.
"""

from __future__ import annotations

import numpy as np

from alphacut.guided import guided_upsample
from alphacut.imageops import as_float_rgb, resize
from alphacut.models import DEFAULT_MODEL, LoadedModel, ModelSpec, load_model
from alphacut.models.session import run_batch

__all__ = ["neural", "predict_probability", "preprocess"]


def preprocess(rgb: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Turn a float RGB photo into the tensor ``spec`` describes (batch of one)."""
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


def predict_probability(rgb: np.ndarray, loaded: LoadedModel, *, flip: bool = False) -> np.ndarray:
    """Low-resolution subject probability map of a float RGB photo, straight from the model.

    With ``flip``, the mirrored photo is run too and the two maps averaged (test-time
    augmentation: steadier edges for twice the inference time).
    """
    spec = loaded.spec
    tensor = preprocess(rgb, spec)
    width_axis = 2 if spec.layout == "NHWC" else 3
    batch = np.concatenate([tensor, np.flip(tensor, axis=width_axis)]) if flip else tensor
    raw = run_batch(loaded, np.ascontiguousarray(batch))[spec.output_index]
    maps = [_to_probability(raw[i : i + 1], spec) for i in range(raw.shape[0])]
    if flip:
        maps[1] = maps[1][:, ::-1]
    return np.mean(maps, axis=0).astype(np.float32)


def neural(
    image: np.ndarray,
    *,
    model: str | ModelSpec = DEFAULT_MODEL,
    device: str = "auto",
    flip: bool | None = None,
    contrast: float | None = None,
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
        ``tta_flip`` (on for the embedded model: +0.007 IoU on the people benchmark for
        ~15 ms; off for 1024² models, where it would double seconds of inference).
    contrast : float, optional
        Gain around 0.5 applied to the probability. Default: the model's ``contrast``.
        Small networks are under-confident along the whole outline, and a gain of 3 halves
        the error of the embedded model against true mattes while keeping a soft edge band
        (1 leaves the probability as it is).
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
    rgb = as_float_rgb(image)
    loaded = loaded or load_model(model, device=device)
    flip = loaded.spec.tta_flip if flip is None else flip
    contrast = loaded.spec.contrast if contrast is None else contrast
    probability = predict_probability(rgb, loaded, flip=flip)
    return guided_upsample(rgb, probability, gain=contrast).astype(np.float32)
