"""Alpha matting from an image and a trimap: closed-form matting solved on the unknown band.

Closed-form matting (Levin, Lischinski and Weiss 2008) is what rembg and others run today,
through pymatting, on the whole photo: pymatting allocates its Laplacian for every pixel,
so time and memory follow the photo, not the edge. Here the Laplacian is built only for
the windows that touch an unknown pixel, inside the bounding box of the band, so the cost
follows the band; the solution is the same closed-form one (same windows), solved with a
sparse direct factorisation from SciPy rather than pymatting's numba-compiled conjugate
gradients, so nothing is compiled at run time.

When the band holds more unknown pixels than ``max_unknown``, the system is solved on a
reduced copy of the photo and brought back to full resolution through the closed-form
model itself: in every small window alpha is a linear function of the colour,
``alpha ≈ a·I + b``; ``a`` and ``b`` are fitted at the coarse scale, interpolated, and
applied to the full-resolution colours of the band, which restores hair-sized detail that
the coarse solve cannot hold (He and Sun's fast guided filter uses the same device).

Finally alpha is snapped to 0 or 1 within ``snap`` of either end: the solver leaves a faint
haze over definite regions of the band (colour-line violations), and measured on the
alphamatting.com photos, removing it lowers SAD on both trimap sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from alphacut._internal.guided import box_mean, local_linear_coefficients
from alphacut._internal.imageops import within_tiles
from alphacut.convert import as_trimap, read_float_rgb

if TYPE_CHECKING:
    import scipy.sparse

__all__ = ["estimate_alpha", "matting_laplacian", "MAX_UNKNOWN"]

# estimate_alpha's default: above this many unknown pixels the band is solved on a reduced
# copy (see the module's notes).
MAX_UNKNOWN = 250_000


def matting_laplacian(
    image: np.ndarray, unknown: np.ndarray, *, radius: int = 1, epsilon: float = 1e-7
) -> scipy.sparse.csr_matrix:
    """Closed-form matting Laplacian over the windows that touch an ``unknown`` pixel.

    Parameters
    ----------
    image : ndarray
        float HxWx3 in [0, 1].
    unknown : ndarray
        bool HxW; only windows containing one of these pixels contribute, which leaves the
        rows of the unknown pixels exact and the cost proportional to the band.
    radius : int
        Window radius; windows are ``(2 radius + 1)²`` and centred at least ``radius``
        pixels from the border, as in pymatting's ``cf_laplacian``.
    epsilon : float
        Regularisation of the colour covariance of each window.

    Returns
    -------
    scipy.sparse.csr_matrix
        (H·W)x(H·W), pixels in row-major order.

    Examples
    --------
    >>> image = np.random.default_rng(0).random((6, 6, 3))
    >>> L = matting_laplacian(image, np.ones((6, 6), bool))
    >>> bool(np.allclose(L @ np.ones(36), 0))  # constants are in the null space
    True
    """
    # SciPy is imported where it is used: scipy.sparse and scipy.ndimage take ~1 s to import,
    # which every start of the CLI would pay, refining or not.
    import scipy.sparse

    h, w = unknown.shape
    size = 2 * radius + 1
    area = size * size
    centres = cv2.dilate(unknown.astype(np.uint8), np.ones((size, size), np.uint8)) > 0
    centres[:radius], centres[h - radius :] = False, False
    centres[:, :radius], centres[:, w - radius :] = False, False
    cy, cx = np.nonzero(centres)
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]

    colours = np.stack([image[cy + dy, cx + dx] for dy, dx in offsets], axis=1).astype(np.float64)
    colours -= colours.mean(axis=1, keepdims=True)
    cov = np.einsum("mki,mkj->mij", colours, colours) / area
    cov += (epsilon / area) * np.eye(3)
    weighted = colours @ np.linalg.inv(cov)
    values = weighted @ colours.transpose(0, 2, 1)
    values += 1.0
    values /= -area
    values += np.eye(area)

    index = np.stack([(cy + dy) * w + (cx + dx) for dy, dx in offsets], axis=1)
    index = index.astype(np.int32 if h * w < 2**31 else np.int64)
    rows = np.broadcast_to(index[:, :, None], values.shape).ravel()
    cols = np.broadcast_to(index[:, None, :], values.shape).ravel()
    # coo -> csr sums the overlapping windows' contributions.
    return scipy.sparse.csr_matrix((values.ravel(), (rows, cols)), shape=(h * w, h * w))


def _grown_box(mask: np.ndarray, grow: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)``: the bounding box of ``mask``'s True pixels (there must be
    some) grown by ``grow`` pixels on every side, clipped to the image."""
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    return (
        max(int(ys.min()) - grow, 0),
        min(int(ys.max()) + grow + 1, height),
        max(int(xs.min()) - grow, 0),
        min(int(xs.max()) + grow + 1, width),
    )


def _snap_ends(alpha: np.ndarray, snap: float) -> np.ndarray:
    """Set alpha within ``snap`` of 0 or 1 to 0 or 1, in place; 0 leaves it as it is."""
    if snap > 0:
        alpha[alpha < snap] = 0.0
        alpha[alpha > 1.0 - snap] = 1.0
    return alpha


def _solve_band(image: np.ndarray, trimap: np.ndarray, radius: int, epsilon: float) -> np.ndarray:
    """Closed-form alpha (float64 HxW) with the trimap's known values as boundary conditions."""
    unknown = (trimap > 0) & (trimap < 1)
    alpha = trimap.astype(np.float64)
    if not unknown.any():
        return alpha
    # Only the band's bounding box, grown by one window either side, influences the solve.
    y0, y1, x0, x1 = _grown_box(unknown, 2 * radius)
    crop_unknown = unknown[y0:y1, x0:x1]
    crop = trimap[y0:y1, x0:x1]
    # With one side missing the answer is known without building the system: the
    # Laplacian's rows sum to zero, so the constant of the side present solves it (or 0
    # when nothing is known, as the solver below would give). A trimap that is all
    # unknown, or unknown but for one side, is common on blank photos, and the system
    # would be as large as the photo.
    if not (crop >= 1).any() or not (crop <= 0).any():
        alpha[unknown] = 1.0 if (crop >= 1).any() else 0.0
        return alpha
    lap = matting_laplacian(image[y0:y1, x0:x1], crop_unknown, radius=radius, epsilon=epsilon)
    u = crop_unknown.ravel()
    rows = lap[u]
    lap_uu = rows[:, u].tocsc()
    known_fg = (trimap[y0:y1, x0:x1].ravel()[~u] >= 1).astype(np.float64)
    rhs = -(rows[:, ~u] @ known_fg)
    del lap, rows
    alpha[y0:y1, x0:x1][crop_unknown] = _solve_spd(lap_uu, rhs)
    return np.clip(alpha, 0.0, 1.0)


def _solve_spd(matrix: scipy.sparse.csc_matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve the band system directly: a sparse LU without pivoting, as for a Cholesky factor.

    The system is symmetric positive definite (the Laplacian's unknown rows and columns,
    the known pixels moved to the right-hand side), so SuperLU's symmetric mode with a
    minimum-degree ordering of A + Aᵀ applies. Measured on the alphamatting.com band
    systems (29 k - 219 k unknowns) it is as fast as or faster than pymatting's incomplete
    Cholesky + conjugate gradients at epsilon = 1e-7, several times faster than SuperLU's
    default COLAMD ordering, and far faster than Jacobi-preconditioned CG (1 300 - 2 000
    iterations); the residual is ~1e-15 instead of CG's 1e-7, and nothing is compiled at run
    time (pymatting's numba JIT took ~100 s on the first call after installation).
    """
    from scipy.sparse.linalg import lsqr, splu

    if not rhs.any():
        # No foreground among the known neighbours: alpha is 0 (and the system may be
        # singular, e.g. when no pixel of the image is known).
        return np.zeros_like(rhs)
    try:
        factor = splu(
            matrix,
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        solution = factor.solve(rhs)
    except RuntimeError:  # exactly singular: a region with no known pixel in reach
        solution = np.full_like(rhs, np.nan)
    if not np.all(np.isfinite(solution)):
        # Singular or numerically so; least squares picks a bounded solution.
        solution = lsqr(matrix, rhs, atol=1e-10, btol=1e-10, iter_lim=10_000)[0]
    return solution


def _linear_model(image: np.ndarray, alpha: np.ndarray, radius: int, epsilon: float) -> np.ndarray:
    """Window-averaged coefficients (HxWx4: a_r, a_g, a_b, b) with alpha ≈ a·I + b locally."""
    # The guided filter's local colour model, kept in double precision like the band solve.
    a, b = local_linear_coefficients(
        image.astype(np.float64), alpha.astype(np.float64), radius, epsilon
    )
    coeffs = np.concatenate([a, b[..., None]], axis=-1)
    # Averaging over all windows that cover a pixel, as the guided filter does.
    return box_mean(coeffs, radius).astype(np.float32)


# Side of the tiles the coarse copy's linear model is computed in: only tiles the band
# reaches are, which on a 12 MP portrait's 0.6 MP copy is about a fifth of them.
_MODEL_TILE = 64


def _linear_model_near(
    image: np.ndarray, alpha: np.ndarray, needed: np.ndarray, radius: int, epsilon: float
) -> np.ndarray:
    """:func:`_linear_model` where ``needed`` (bool HxW) is True and in its tiles; zero in
    tiles without a needed pixel."""
    # The window fit and the window average each reach ``radius``: with a halo of both,
    # read from the whole copy, a tile's values equal the whole copy's.
    return within_tiles(
        np.zeros((*needed.shape, 4), np.float32),
        needed,
        lambda rows, cols: _linear_model(image[rows, cols], alpha[rows, cols], radius, epsilon),
        tile=_MODEL_TILE,
        halo=2 * radius + 1,
    )


def _coarse_to_fine(
    image: np.ndarray,
    trimap: np.ndarray,
    scale: float,
    solve: Callable[[np.ndarray, np.ndarray], np.ndarray],
    radius: int,
    model_radius: int,
    model_epsilon: float,
) -> np.ndarray:
    h, w = trimap.shape
    size = (max(round(w * scale), 2 * radius + 2), max(round(h * scale), 2 * radius + 2))
    small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # Area-averaging the trimap keeps a coarse pixel definite only if all its fine pixels are.
    small_trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_AREA)
    small_trimap[(small_trimap > 1e-6) & (small_trimap < 1 - 1e-6)] = 0.5
    small_trimap = np.round(small_trimap * 2) / 2
    small_alpha = solve(small_image, small_trimap)
    # Each unknown pixel samples the coarse cells around it (bilinearly, one cell either
    # way); a coarse pixel holding any unknown one is unknown itself after the area resize.
    needed = cv2.dilate((small_trimap == 0.5).view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    coeffs = _linear_model_near(small_image, small_alpha, needed, model_radius, model_epsilon)

    alpha = trimap.copy()
    ys, xs = np.nonzero((trimap > 0) & (trimap < 1))
    # Pixel centres of the full image in the coarse image's pixel coordinates.
    cys = (ys + 0.5) * (size[1] / h) - 0.5
    cxs = (xs + 0.5) * (size[0] / w) - 0.5
    local = _bilinear_at(coeffs, cys, cxs)
    del cys, cxs
    value = np.einsum("nc,nc->n", local[:, :3], image[ys, xs]) + local[:, 3]
    alpha[ys, xs] = np.clip(value, 0.0, 1.0)
    return alpha


def _bilinear_at(grid: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear samples (NxC) of an HxWxC ``grid`` at points ``(ys, xs)``, edges clamped.

    What ``scipy.ndimage.map_coordinates(order=1, mode="nearest")`` computes per channel,
    without importing scipy.ndimage (0.3 s at every start of the CLI).
    """
    height, width = grid.shape[:2]
    ys = np.clip(ys, 0, height - 1)
    xs = np.clip(xs, 0, width - 1)
    y0 = np.minimum(ys.astype(np.int64), max(height - 2, 0))
    x0 = np.minimum(xs.astype(np.int64), max(width - 2, 0))
    y1 = np.minimum(y0 + 1, height - 1)
    x1 = np.minimum(x0 + 1, width - 1)
    wy = (ys - y0).astype(np.float32)[:, None]
    wx = (xs - x0).astype(np.float32)[:, None]
    top = grid[y0, x0] * (1 - wx) + grid[y0, x1] * wx
    bottom = grid[y1, x0] * (1 - wx) + grid[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def estimate_alpha(
    image: np.ndarray,
    trimap: np.ndarray,
    *,
    epsilon: float = 1e-7,
    radius: int = 1,
    max_unknown: int = MAX_UNKNOWN,
    max_pixels: int = 600_000,
    snap: float | None = None,
    model_radius: int = 1,
    model_epsilon: float = 1e-6,
    solver: str = "closed-form",
) -> np.ndarray:
    """Estimate alpha from an image and a trimap by matting the unknown band.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB, uint8 or float in [0, 1].
    trimap : ndarray
        HxW; float with 0 = background, 1 = foreground and anything between = unknown (as
        pymatting takes it), or uint8 0 / 128 / 255.
    epsilon : float
        Regularisation of the closed-form matting Laplacian (pymatting's default).
    radius : int
        Window radius of the matting Laplacian.
    max_unknown, max_pixels : int
        Above this many unknown pixels, or this many pixels in all, the system is solved on
        a reduced copy of the photo (with at most this many) and the local linear model
        brings alpha back to full resolution: this bounds time and memory on big photos.
        Measured on the alphamatting.com photos (up to 0.58 MP), solving at full resolution
        is the more accurate on trimap1, hence defaults that keep such photos whole; on a
        12 MP photo the coarse solve takes ~3 s.
    snap : float, optional
        Alpha within ``snap`` of 0 or 1 is set to 0 or 1; 0 disables. Default 0.05, or 0.1
        for ``"infoflow"`` (the better on the alphamatting.com photos for each solver).
    model_radius, model_epsilon : int, float
        Window radius and regularisation of the local linear model used for upsampling.
    solver : {"closed-form", "infoflow"}
        Closed-form matting (local affinities only), or information-flow matting
        (:func:`alphacut.refine.infoflow.estimate_alpha_infoflow`), which adds non-local
        colour affinities: on the alphamatting.com photos with their trimaps its mean SAD
        is about 0.8 times pymatting's closed-form, at about four times the time
        (``benchmarks/matting.py``).

    Returns
    -------
    ndarray
        float32 HxW alpha in [0, 1]; equal to the trimap outside its unknown region.

    Examples
    --------
    >>> ramp = np.tile(np.clip((np.arange(32) - 4) / 23, 0, 1), (16, 1))
    >>> fg, bg = np.array([0.9, 0.2, 0.1]), np.array([0.1, 0.3, 0.8])
    >>> image = ramp[..., None] * fg + (1 - ramp[..., None]) * bg
    >>> trimap = np.full((16, 32), 0.5)
    >>> trimap[:, :4], trimap[:, 28:] = 0, 1
    >>> alpha = estimate_alpha(image, trimap, snap=0)
    >>> bool(np.abs(alpha - ramp).max() < 0.01)
    True
    """
    rgb = read_float_rgb(image)
    trimap = as_trimap(trimap)
    if rgb.shape[:2] != trimap.shape:
        raise ValueError(f"image {rgb.shape[:2]} and trimap {trimap.shape} differ in size")
    if solver == "closed-form":

        def solve(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
            return _solve_band(image, trimap, radius, epsilon)

        snap = 0.05 if snap is None else snap
    elif solver == "infoflow":
        # Imported here: infoflow builds on this module's Laplacian.
        from alphacut.refine.infoflow import estimate_alpha_infoflow

        def solve(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
            return estimate_alpha_infoflow(image, trimap, snap=0)

        snap = 0.1 if snap is None else snap
    else:
        raise ValueError(f"unknown solver {solver!r}; choose closed-form or infoflow")
    n_unknown = int(np.count_nonzero(trimap == 0.5))
    scale = min(1.0, np.sqrt(max_unknown / max(n_unknown, 1)), np.sqrt(max_pixels / trimap.size))
    if scale >= 1.0:
        alpha = solve(rgb, trimap).astype(np.float32)
    else:
        alpha = _coarse_to_fine(rgb, trimap, scale, solve, radius, model_radius, model_epsilon)
    return _snap_ends(alpha, snap)
