"""Edge refinement: trimap, alpha matting, feathering and colour decontamination.

>>> import numpy as np
>>> from alphacut.refine import refine
>>> ramp = np.tile(np.linspace(0, 1, 48), (24, 1))
>>> image = ramp[..., None] * np.array([1.0, 0.5, 0]) + (1 - ramp[..., None]) * 0.2
>>> refine(image, ramp > 0.5).alpha.shape
(24, 48)
"""

from alphacut.refine.feather import feather
from alphacut.refine.foreground import estimate_foreground
from alphacut.refine.matting import estimate_alpha
from alphacut.refine.refinement import Refinement, refine
from alphacut.refine.trimap import make_trimap

__all__ = [
    "Refinement",
    "estimate_alpha",
    "estimate_foreground",
    "feather",
    "make_trimap",
    "refine",
]
