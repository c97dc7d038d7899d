"""A synthetic composite with a known alpha, shared by the matting solvers' tests."""

import numpy as np

FG = np.array([0.9, 0.2, 0.1])
BG = np.array([0.1, 0.3, 0.8])


def two_colour_ramp(h=24, w=48, margin=3):
    """Two colours mixed by a known linear alpha ramp, with a trimap pinning the ends."""
    alpha = np.tile(np.clip((np.arange(w) - margin) / (w - 1 - 2 * margin), 0, 1), (h, 1))
    image = alpha[..., None] * FG + (1 - alpha[..., None]) * BG
    trimap = np.full((h, w), 0.5)
    trimap[:, :margin] = 0
    trimap[:, w - margin :] = 1
    return image, trimap, alpha
