"""Segmentation models: one table of specs, and ready ONNX Runtime sessions by name.

- :mod:`alphacut.models.specs`: the table (:data:`MODEL_SPECS`) and :class:`ModelSpec`.
- :mod:`alphacut.models.session`: name or path → a cached ``InferenceSession`` + its spec.
- :mod:`alphacut.models.tflite`: the converter that produced the embedded ONNX files.
"""

from alphacut.models.session import LoadedModel, clear_cache, load_model
from alphacut.models.specs import DEFAULT_MODEL, MODEL_SPECS, ModelSpec, get_spec

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_SPECS",
    "LoadedModel",
    "ModelSpec",
    "clear_cache",
    "get_spec",
    "load_model",
]
