"""Feathering: a small Gaussian on the edge band only.

Softens the stair-stepping that a matte computed (or upsampled) pixel by pixel can leave
along a hard edge, without touching the definite interior or background.
"""

from __future__ import annotations

import cv2
import numpy as np

from alphacut.convert import as_alpha

__all__ = ["feather"]


def feather(alpha: np.ndarray, *, sigma: float = 1.0, band: np.ndarray | None = None) -> np.ndarray:
    """Blur ``alpha`` with a Gaussian of ``sigma`` pixels inside the edge ``band`` only.

    Parameters
    ----------
    alpha : ndarray
        HxW alpha, float in [0, 1] or uint8.
    sigma : float
        Standard deviation in pixels (1-3 is typical); 0 returns the alpha unchanged.
    band : ndarray, optional
        Boolean HxW mask of the pixels that may change, e.g. a trimap's unknown region.
        By default, every pixel within ``3 sigma`` of a partial or a 0/1 step in alpha.

    Returns
    -------
    ndarray
        float32 HxW in [0, 1].

    Examples
    --------
    >>> alpha = np.zeros((5, 8))
    >>> alpha[:, 4:] = 1
    >>> np.round(feather(alpha, sigma=1.0)[2].astype(float), 2).tolist()
    [0.0, 0.0, 0.06, 0.3, 0.7, 0.94, 1.0, 1.0]
    """
    alpha = as_alpha(alpha)  # a copy
    if sigma <= 0:
        return alpha
    if sigma > 50:
        raise ValueError(f"sigma is for feathering, 1-3 px; got {sigma}")
    reach = int(np.ceil(3 * sigma))
    blurred = cv2.GaussianBlur(
        alpha, (2 * reach + 1, 2 * reach + 1), sigma, borderType=cv2.BORDER_REFLECT
    )
    if band is None:
        # Where a blur of reach ``reach`` changes anything is exactly the edge neighbourhood.
        band = np.abs(blurred - alpha) > 1e-6
    else:
        band = np.asarray(band, bool)
        if band.shape != alpha.shape:
            raise ValueError(f"band {band.shape} and alpha {alpha.shape} differ in size")
    alpha[band] = blurred[band]
    return np.clip(alpha, 0.0, 1.0, out=alpha)
