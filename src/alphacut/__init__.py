"""alphacut: background removal with soft alpha mattes.

>>> import alphacut
>>> from skimage.data import astronaut
>>> matte = alphacut.remove_background(astronaut())
>>> matte.rgba().shape
(512, 512, 4)

Methods are also plain functions returning an alpha: :func:`chroma`, :func:`grabcut`,
:func:`neural`. Edge refinement lives in :mod:`alphacut.refine`.
"""

from alphacut.matte import Matte
from alphacut.methods.chroma import chroma
from alphacut.methods.grabcut import grabcut
from alphacut.methods.neural import neural
from alphacut.pipeline import METHODS, remove_background

__version__ = "0.1.0"

__all__ = ["METHODS", "Matte", "chroma", "grabcut", "neural", "remove_background", "__version__"]
