"""alphacut: background removal with soft alpha mattes.

>>> import alphacut
>>> from skimage.data import astronaut
>>> matte = alphacut.remove_background(astronaut())
>>> matte.rgba().shape
(512, 512, 4)

Methods are also plain functions returning an alpha: :func:`chroma`, :func:`grabcut`,
:func:`neural`. Edge refinement lives in :mod:`alphacut.refine`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Imported on first use (PEP 562), not here: the command line imports this package before
# it can install its signal handlers, and numpy, OpenCV and ONNX Runtime take about a
# second to load, during which Ctrl-C would otherwise print a long traceback.
_LAZY = {
    "Matte": "alphacut.matte",
    "chroma": "alphacut.methods.chroma",
    "grabcut": "alphacut.methods.grabcut",
    "neural": "alphacut.methods.neural",
    "METHODS": "alphacut.api",
    "remove_background": "alphacut.api",
}
# The subpackages, also loaded on first use, so that ``import alphacut`` then
# ``alphacut.refine.refine(...)`` works as with any scientific Python package.
_SUBMODULES = frozenset(
    [
        "api",
        "batch",
        "compose",
        "convert",
        "io",
        "matte",
        "methods",
        "metrics",
        "models",
        "refine",
        "samples",
    ]
)

__all__ = ["METHODS", "Matte", "chroma", "grabcut", "neural", "remove_background", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"alphacut.{name}")
    raise AttributeError(f"module 'alphacut' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES])
