"""The model table: everything the runtime needs to know about each model, as data.

Preprocessing, layout and output handling differ between models; they are described here
rather than coded per model, so adding a model is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["ModelSpec", "MODEL_SPECS", "DEFAULT_MODEL", "get_spec", "WEIGHTS_DIR"]

WEIGHTS_DIR = Path(__file__).with_name("weights")


@dataclass(frozen=True)
class ModelSpec:
    """How to run one segmentation model.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"selfie"``.
    file : str
        File name of the ONNX model (in the package's weights folder when ``embedded``,
        else in the download cache).
    input_size : tuple of int
        (height, width) the photo is stretched to; ``None`` for a model with dynamic size
        (then ``input_size`` is used as the target long side rounded to ``size_multiple``).
    layout : "NCHW" or "NHWC"
    mean, std : tuple of float
        Per-channel normalisation applied to RGB in [0, 1]: ``(x - mean) / std``.
    activation : "none", "sigmoid" or "minmax"
        What turns the raw output into a probability: already a probability, a logit, or
        U²-Net style min-max normalisation of the output map.
    output_index : int
        Which output holds the subject probability (U²-Net has seven side outputs).
    subject : str
        What the model segments ("person", "salient object", ...): ``auto`` relies on it.
    """

    name: str
    file: str
    input_size: tuple[int, int]
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    activation: Literal["none", "sigmoid", "minmax"] = "none"
    output_index: int = 0
    output_channel: int = 0
    dynamic_size: bool = False
    size_multiple: int = 32
    subject: str = "salient object"
    description: str = ""
    licence: str = ""
    embedded: bool = False
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    md5: str | None = None
    size_bytes: int | None = None
    checksum_note: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def embedded_path(self) -> Path:
        return WEIGHTS_DIR / self.file


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="selfie",
            file="selfie_segmentation.onnx",
            input_size=(256, 256),
            layout="NHWC",
            activation="none",
            subject="person",
            description="MediaPipe selfie segmenter (general, square input); people only",
            licence="Apache-2.0",
            embedded=True,
        ),
        ModelSpec(
            name="selfie-landscape",
            file="selfie_segmentation_landscape.onnx",
            input_size=(144, 256),
            layout="NHWC",
            activation="none",
            subject="person",
            description="MediaPipe selfie segmenter, landscape input (faster); people only",
            licence="Apache-2.0",
            embedded=True,
        ),
    ]
}

DEFAULT_MODEL = "selfie"


def get_spec(name: str) -> ModelSpec:
    """The spec named ``name``; a clear error lists the known names otherwise."""
    try:
        return MODEL_SPECS[name]
    except KeyError:
        known = ", ".join(sorted(MODEL_SPECS))
        raise KeyError(f"unknown model {name!r}; known models: {known}") from None
