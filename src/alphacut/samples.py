"""Sample photos to try the methods on, available offline.

- :func:`person_photo`: scikit-image's astronaut, a person in front of a busy background
  (neural and GrabCut territory).
- :func:`green_screen_photo`: the same person composited over an unevenly lit green screen,
  with a little green spill on the edges (chroma territory); :func:`green_screen_alpha` is
  the matte it was composited with, a ground truth for comparisons.

The green-screen photo is made at load time rather than shipped: it costs one run of the
bundled person model, and keeps binary files out of the package.

This module must not import napari: the CLI's demo and the napari sample data share it.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from alphacut._internal.imageops import to_uint8
from alphacut.convert import MASK_THRESHOLD, as_float_rgb

__all__ = ["person_photo", "green_screen_photo", "green_screen_alpha", "SCREEN_COLOR"]

SCREEN_COLOR = (0.16, 0.62, 0.24)
"""RGB in [0, 1] of the green screen at its average brightness."""

# The person is placed on a wider canvas so most of the border is screen (as in a real
# studio shot), which is what chroma keying and its key estimation expect.
_CANVAS = (512, 768)


def person_photo() -> np.ndarray:
    """A photo of a person: scikit-image's astronaut (Eileen Collins, public domain).

    Returns
    -------
    ndarray
        uint8 512x512x3 RGB.

    Examples
    --------
    >>> person_photo().shape
    (512, 512, 3)
    """
    from skimage.data import astronaut

    return astronaut()


def green_screen_photo() -> np.ndarray:
    """A person in front of an unevenly lit green screen.

    The astronaut is cut out by the bundled person model (without edge refinement, so
    samples do not depend on it) and composited over a green screen with a lighting
    gradient, a darker corner, sensor noise and green spill on the subject's edges.

    Returns
    -------
    ndarray
        uint8 512x768x3 RGB (a new array on every call).

    Examples
    --------
    >>> photo = green_screen_photo()
    >>> photo.shape, photo.dtype.name
    ((512, 768, 3), 'uint8')
    """
    return _green_screen()[0].copy()


def green_screen_alpha() -> np.ndarray:
    """The matte :func:`green_screen_photo` was composited with.

    Returns
    -------
    ndarray
        float32 512x768 in [0, 1] (a new array on every call).
    """
    return _green_screen()[1].copy()


@lru_cache(maxsize=1)
def _green_screen() -> tuple[np.ndarray, np.ndarray]:
    from alphacut.methods.neural import neural

    person = as_float_rgb(person_photo())
    height, width = _CANVAS
    left = (width - person.shape[1]) // 2
    alpha = np.zeros((height, width), np.float32)
    # flip=False: one network pass is enough for a sample and halves the load time.
    alpha[:, left : left + person.shape[1]] = _main_subject(neural(person, flip=False))
    subject = np.zeros((height, width, 3), np.float32)
    subject[:, left : left + person.shape[1]] = person

    screen = _screen((height, width))
    # Light bounced off the screen tints the subject's outline: strongest at the edge,
    # fading inwards over a few pixels, as on a real set.
    near_edge = cv2.GaussianBlur(1.0 - alpha, (0, 0), 4.0) * alpha
    spill = 0.35 * near_edge[..., None] * (screen - subject)
    subject = np.clip(subject + spill, 0.0, 1.0)

    a = alpha[..., None]
    photo = a * subject + (1.0 - a) * screen
    noise = np.random.default_rng(7).normal(0.0, 0.008, photo.shape).astype(np.float32)
    return to_uint8(photo + noise), alpha


def _main_subject(alpha: np.ndarray, fade: int = 48) -> np.ndarray:
    """Keep the person only: the largest blob, faded out towards the photo's sides.

    The model also half-keeps bits of the flag behind the astronaut, and the photo's own
    left and right edges would otherwise show as straight cuts on the wider canvas.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (alpha >= MASK_THRESHOLD).astype(np.uint8)
    )
    if count > 1:
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        keep = cv2.dilate((labels == largest).astype(np.uint8), np.ones((9, 9), np.uint8))
        alpha = alpha * cv2.GaussianBlur(keep.astype(np.float32), (0, 0), 2.0)
    cols = np.arange(alpha.shape[1], dtype=np.float32)
    ramp = np.clip(np.minimum(cols, cols[::-1]) / fade, 0.0, 1.0)
    return (alpha * ramp[None, :]).astype(np.float32)


def _screen(shape: tuple[int, int]) -> np.ndarray:
    """Green screen with a diagonal lighting gradient and a darker bottom-right corner."""
    height, width = shape
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    cols = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    light = 1.08 - 0.12 * rows - 0.08 * cols - 0.1 * (rows * cols) ** 2
    return np.asarray(SCREEN_COLOR, np.float32) * light[..., None]
