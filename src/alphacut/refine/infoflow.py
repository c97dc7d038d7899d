"""Information-flow matting (Aksoy, Aydın and Pollefeys, CVPR 2017) solved on the unknown band.

Alpha of each unknown pixel is tied to other pixels by four kinds of "information flow",
each an energy term quadratic in alpha:

* colour-mixture flow: the colour of an unknown pixel is written as an affine mixture of
  its K nearest neighbours in (r, g, b, x, y) (locally linear embedding weights, computed
  on colour alone), and its alpha is asked to be the same mixture of theirs;
* K-to-U flow: the same mixture over its nearest known foreground and background pixels
  gives a direct estimate of alpha (the weight carried by the foreground), trusted in
  proportion to how different the mixed foreground and background colours are;
* intra-U flow: unknown pixels of similar colour, wherever they are in the band, are
  asked to have similar alpha (KNN-matting affinities), which carries information across
  thin structures;
* local flow: closed-form matting's Laplacian over 3x3 windows.

The known pixels are fixed (hard constraints rather than the paper's heavily weighted soft
ones), which removes them from the unknowns and leaves one sparse symmetric positive
definite system on the unknown pixels. Everything is built inside the bounding box of the
band, and neighbours are searched only among pixels within ``margin`` of it, so the cost
follows the band, not the photo.

The colour-mixture term is ``‖Mα - b‖²`` with ``M`` holding K + 1 entries per row; its
normal matrix ``MᵀM`` is never formed: the system is solved with conjugate gradients
applying ``M`` and ``Mᵀ`` in turn (see ``_solve``), capped in iterations so that any input
finishes, and started from the K-to-U estimate.

Defaults are the paper's but for two, chosen on the 12 alphamatting.com training photos
(both trimaps): the K-to-U flow is weighted 0.01 instead of 0.05, and alpha within 0.1 of
0 or 1 is snapped to it, as ``estimate_alpha`` does. The paper's choice of dropping the
K-to-U flow on bands whose colours the known sides do not explain is kept; its optional
trimming of the trimap before and after the solve is not implemented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from alphacut.convert import as_trimap, read_float_rgb
from alphacut.refine.matting import _grown_box, _snap_ends, matting_laplacian

if TYPE_CHECKING:
    import scipy.sparse

__all__ = ["estimate_alpha_infoflow"]

# Rows per batch of the neighbour weight computations: bounds the temporaries (n x K x 3
# float64) to a few tens of MB whatever the band.
_CHUNK = 32_768


def _features(rgb: np.ndarray, ys: np.ndarray, xs: np.ndarray, xy: float, shape) -> np.ndarray:
    """(r, g, b, xy·x/W, xy·y/H) per pixel; coordinates are scaled by the photo's size, as
    in the paper, so the same ``xy`` means the same trade-off at any resolution."""
    h, w = shape
    return np.column_stack([rgb[ys, xs].astype(np.float64), xy * xs / w, xy * ys / h])


def _nearest(tree_points: np.ndarray, queries: np.ndarray, k: int, self_index=None):
    """Indices (n x k') of the k nearest tree points of each query, k' = min(k, available).

    With ``self_index`` (each query's own index in the tree) the query itself is dropped.
    """
    from scipy.spatial import cKDTree

    available = tree_points.shape[0] - (self_index is not None)
    k = min(k, available)
    if k <= 0 or queries.shape[0] == 0:
        return np.empty((queries.shape[0], 0), np.int64)
    tree = cKDTree(tree_points, balanced_tree=False, compact_nodes=False)
    extra = self_index is not None
    _, index = tree.query(queries, k=k + extra)
    index = index.reshape(queries.shape[0], k + extra)
    if not extra:
        return index
    drop = index == self_index[:, None]
    # A query is normally its own first match; with duplicate features another point may be
    # returned in its place, and then the farthest match goes instead, so K remain.
    drop[~drop.any(axis=1), -1] = True
    return index[~drop].reshape(queries.shape[0], k)


def _mixture_weights(colours: np.ndarray, neighbours: np.ndarray, regularization: float):
    """Locally linear embedding weights (n x K), rows summing to 1, reconstructing each colour
    from its neighbours' colours (n x K x 3).

    The weights minimise ``‖Σ w_q (c_q - c_p)‖² + r‖w‖²`` with ``Σ w = 1``, i.e. are
    proportional to ``(DDᵀ + rI)⁻¹ 1`` with D the K x 3 colour differences. K exceeds the 3
    colour dimensions, so the Woodbury identity turns the K x K inverse into a 3 x 3 solve:
    ``(DDᵀ + rI)⁻¹ 1 ∝ 1 - D (DᵀD + rI)⁻¹ Dᵀ1``. ``r`` is relative to the neighbours'
    spread (the trace of DDᵀ), as is usual for LLE, plus a floor for identical colours.
    """
    out = np.empty(neighbours.shape[:2])
    eye = np.eye(3)
    for start in range(0, colours.shape[0], _CHUNK):
        stop = start + _CHUNK
        diff = neighbours[start:stop] - colours[start:stop, None, :]
        gram = np.einsum("nki,nkj->nij", diff, diff)
        ridge = regularization * np.trace(gram, axis1=1, axis2=2) + 1e-10
        gram += ridge[:, None, None] * eye
        z = np.linalg.solve(gram, diff.sum(axis=1)[..., None])[..., 0]
        u = 1.0 - np.einsum("nki,ni->nk", diff, z)
        out[start:stop] = u / u.sum(axis=1, keepdims=True)
    return out


def _highly_transparent(rgb: np.ndarray, trimap: np.ndarray, reach: int = 20) -> bool:
    """The paper's choice between its energies with and without the K-to-U flow.

    The unknown region's colour histogram (10 bins per channel) is fitted by least squares
    as a mix of the histograms of the known foreground and background within ``reach``
    pixels. A poor fit means the band holds colours found on neither side (e.g. a
    semi-transparent or unseen object), where the K-to-U estimate, a mix of known colours,
    is unreliable. 0.0099 is the paper's threshold on the fit's error.
    """
    unknown = trimap == 0.5
    near = cv2.dilate(unknown.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0

    def histogram(mask):
        values = rgb[mask]
        counts = [np.histogram(values[:, c], bins=10, range=(0.0, 1.0))[0] for c in range(3)]
        return np.concatenate(counts) / max(values.shape[0], 1)

    sides = np.column_stack([histogram(near & (trimap == 1)), histogram(near & (trimap == 0))])
    target = histogram(unknown)
    mix = np.linalg.lstsq(sides, target, rcond=None)[0]
    residual = sides @ mix - target
    return float(np.sqrt(residual @ residual) / residual.size) > 0.0099


def _solve(
    matrix: scipy.sparse.csr_matrix,
    mixture: scipy.sparse.csr_matrix,
    rhs: np.ndarray,
    guess: np.ndarray,
    tolerance: float,
    max_iterations: int,
) -> np.ndarray:
    """Solve ``(matrix + mixtureᵀ mixture) x = rhs`` by Jacobi-preconditioned conjugate gradients.

    ``mixtureᵀ mixture`` is applied as two sparse products, never formed. Measured on the
    alphamatting.com band systems, a stronger preconditioner (a sparse factorisation of the
    local part, as in the closed-form solve of ``matting.py``) saves about half the
    iterations but each costs several times more, and the factorisation itself takes
    seconds once the intra-U graph's nonlocal links are in it; Jacobi is the fastest.
    """
    mixture_t = mixture.T.tocsr()
    diagonal = matrix.diagonal() + np.asarray(mixture.multiply(mixture).sum(axis=0)).ravel()
    inverse = 1.0 / np.maximum(diagonal, 1e-12)

    def apply(x):
        return matrix @ x + mixture_t @ (mixture @ x)

    x = guess.copy()
    r = rhs - apply(x)
    target = tolerance * max(float(np.linalg.norm(rhs)), 1e-30)
    z = inverse * r
    p = z.copy()
    rz = r @ z
    for _ in range(max_iterations):
        if np.linalg.norm(r) <= target:
            break
        q = apply(p)
        pq = p @ q
        if not pq > 0:  # nothing left to descend (a semi-definite system at rounding level)
            break
        step = rz / pq
        x += step * p
        r -= step * q
        z = inverse * r
        rz_next = r @ z
        p *= rz_next / rz
        p += z
        rz = rz_next
    return x


def _system(
    rgb: np.ndarray,
    trimap: np.ndarray,
    box: tuple[int, int, int, int],
    shape: tuple[int, int],
    params: dict,
):
    """Assemble the band system on the unknowns: (local part, nonlocal part, colour-mixture
    rows M, right-hand side, initial guess); the matrix is local + nonlocal + MᵀM."""
    import scipy.sparse

    y0, y1, x0, x1 = box
    image = rgb[y0:y1, x0:x1]
    crop = trimap[y0:y1, x0:x1]
    unknown = crop == 0.5
    ch, cw = crop.shape
    margin = params["margin"]
    near = cv2.dilate(unknown.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    ys, xs = np.nonzero(unknown)
    n = ys.size
    # Position of each crop pixel among the unknowns (-1 for known pixels).
    slot = np.full(ch * cw, -1, np.int64)
    flat_u = ys * cw + xs
    slot[flat_u] = np.arange(n)
    known_alpha = crop.ravel().astype(np.float64)
    colours = image[ys, xs].astype(np.float64)
    gy, gx = ys + y0, xs + x0

    # Colour-mixture flow: neighbours among all pixels near the band.
    by, bx = np.nonzero(near)
    band_flat = by * cw + bx
    k = params["cm_neighbors"]
    neighbours = _nearest(
        _features(rgb, by + y0, bx + x0, params["cm_xy"], shape),
        _features(rgb, gy, gx, params["cm_xy"], shape),
        k,
        self_index=np.searchsorted(band_flat, flat_u),
    )
    neighbours = band_flat[neighbours]
    weights = _mixture_weights(
        colours, image.reshape(-1, 3)[neighbours].astype(np.float64), params["cm_reg"]
    )
    in_u = slot[neighbours]
    unknown_neighbour = in_u >= 0
    rows = np.repeat(np.arange(n), unknown_neighbour.sum(axis=1))
    mixture = scipy.sparse.csr_matrix(
        (
            np.concatenate([np.ones(n), -weights[unknown_neighbour]]),
            (
                np.concatenate([np.arange(n), rows]),
                np.concatenate([np.arange(n), in_u[unknown_neighbour]]),
            ),
        ),
        shape=(n, n),
    )
    # Known neighbours' alpha is fixed: their share of the mixture moves to the right side.
    mixture_rhs = (weights * np.where(unknown_neighbour, 0.0, known_alpha[neighbours])).sum(axis=1)
    rhs = mixture.T @ mixture_rhs

    # Local flow: the matting Laplacian's unknown rows.
    laplacian = matting_laplacian(
        image, unknown, radius=params["local_radius"], epsilon=params["local_epsilon"]
    )
    laplacian_rows = laplacian[flat_u]
    known_cols = slot < 0
    rhs -= params["local_weight"] * (laplacian_rows[:, known_cols] @ known_alpha[known_cols])
    local = params["local_weight"] * laplacian_rows[:, flat_u]
    del laplacian, laplacian_rows
    nonlocal_part = scipy.sparse.csr_matrix((n, n))

    # Intra-U flow: KNN-matting affinities between unknown pixels of similar colour.
    if params["iu_weight"] > 0 and n > 1:
        feats = _features(rgb, gy, gx, params["iu_xy"], shape)
        pairs = _nearest(feats, feats, params["iu_neighbors"], self_index=np.arange(n))
        if pairs.size:
            distance = np.abs(feats[:, None, :] - feats[pairs]).sum(axis=2) / feats.shape[1]
            affinity = scipy.sparse.csr_matrix(
                (
                    np.maximum(1.0 - distance, 0.0).ravel(),
                    (np.repeat(np.arange(n), pairs.shape[1]), pairs.ravel()),
                ),
                shape=(n, n),
            )
            affinity = (affinity + affinity.T) * 0.5
            degree = np.asarray(affinity.sum(axis=1)).ravel()
            nonlocal_part = params["iu_weight"] * (scipy.sparse.diags(degree) - affinity)

    # K-to-U flow: each unknown colour as a mixture of nearby known foreground and background.
    # Its estimate also starts the solver, so it is computed even when the flow is off.
    guess = np.full(n, 0.5)
    fy, fx = np.nonzero(near & (crop == 1))
    qy, qx = np.nonzero(near & (crop == 0))
    if fy.size and qy.size:
        k = params["ku_neighbors"]
        queries = _features(rgb, gy, gx, params["ku_xy"], shape)
        fg = _nearest(_features(rgb, fy + y0, fx + x0, params["ku_xy"], shape), queries, k)
        bg = _nearest(_features(rgb, qy + y0, qx + x0, params["ku_xy"], shape), queries, k)
        fg_colours = image[fy[fg], fx[fg]].astype(np.float64)
        bg_colours = image[qy[bg], qx[bg]].astype(np.float64)
        weights = _mixture_weights(
            colours, np.concatenate([fg_colours, bg_colours], axis=1), params["cm_reg"]
        )
        kf = fg.shape[1]
        guess = np.clip(weights[:, :kf].sum(axis=1), 0.0, 1.0)
        if params["ku_weight"] > 0:
            mixed_fg = np.einsum("nk,nki->ni", weights[:, :kf], fg_colours)
            mixed_bg = np.einsum("nk,nki->ni", weights[:, kf:], bg_colours)
            # Trusted as far as the mixed foreground and background colours differ.
            confidence = params["ku_weight"] / 3.0 * ((mixed_fg - mixed_bg) ** 2).sum(axis=1)
            nonlocal_part = nonlocal_part + scipy.sparse.diags(confidence)
            rhs += confidence * guess
    return local.tocsr(), nonlocal_part.tocsr(), mixture, rhs, guess


def estimate_alpha_infoflow(
    image: np.ndarray,
    trimap: np.ndarray,
    *,
    cm_neighbors: int = 20,
    cm_xy: float = 1.0,
    cm_reg: float = 1e-3,
    ku_neighbors: int = 7,
    ku_xy: float = 10.0,
    ku_weight: float = 0.01,
    ku_auto: bool = True,
    iu_neighbors: int = 5,
    iu_xy: float = 0.05,
    iu_weight: float = 0.01,
    local_weight: float = 1.0,
    local_radius: int = 1,
    local_epsilon: float = 1e-6,
    margin: int = 10,
    tolerance: float = 3e-4,
    max_iterations: int = 500,
    snap: float = 0.1,
) -> np.ndarray:
    """Estimate alpha from an image and a trimap with information-flow matting.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB, uint8 or float in [0, 1].
    trimap : ndarray
        HxW; float with 0 = background, 1 = foreground and anything between = unknown, or
        uint8 0 / 128 / 255.
    cm_neighbors, cm_xy, cm_reg : int, float, float
        Colour-mixture flow: neighbours per unknown pixel, weight of the (size-normalised)
        coordinates in their search, and the relative regularisation of the mixture weights.
    ku_neighbors, ku_xy, ku_weight : int, float, float
        K-to-U flow: known neighbours on each side, coordinate weight, weight of the flow
        (the paper's 0.05 measured slightly worse; 0 disables the flow).
    ku_auto : bool
        Drop the K-to-U flow where the band's colours are poorly explained by the known
        colours nearby, as the paper does (its K-to-U estimate still starts the solver).
    iu_neighbors, iu_xy, iu_weight : int, float, float
        Intra-U flow: unknown neighbours, coordinate weight, weight of the flow.
    local_weight, local_radius, local_epsilon : float, int, float
        Local flow: weight, window radius and regularisation of the matting Laplacian.
    margin : int
        Neighbours are searched among pixels within this many pixels of the unknown region.
    tolerance, max_iterations : float, int
        Conjugate gradients stop at this relative residual or this many iterations, which
        bounds the time on any input. On the alphamatting.com photos, 3e-4 gave the same SAD
        as 1e-4 (within 1 %) in a fifth less time.
    snap : float
        Alpha within ``snap`` of 0 or 1 is set to 0 or 1; 0 disables. The flows leave a faint
        haze over definite regions of the band; removing it lowered mean SAD on the
        alphamatting.com photos by 6 % (trimap1) and 9 % (trimap2).

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
    >>> alpha = estimate_alpha_infoflow(image, trimap, snap=0)
    >>> bool(np.abs(alpha - ramp).max() < 0.02)
    True
    """
    rgb = read_float_rgb(image)
    trimap = as_trimap(trimap)
    if rgb.shape[:2] != trimap.shape:
        raise ValueError(f"image {rgb.shape[:2]} and trimap {trimap.shape} differ in size")
    alpha = trimap.copy()
    unknown = trimap == 0.5
    if not unknown.any():
        return alpha
    y0, y1, x0, x1 = _grown_box(unknown, max(margin, 2 * local_radius))
    crop = trimap[y0:y1, x0:x1]
    # With one side absent the energy's minimum is the constant of the side present (every
    # flow is satisfied by a constant), or 0 when nothing is known: no system to build.
    has_fg, has_bg = bool((crop == 1).any()), bool((crop == 0).any())
    if not (has_fg and has_bg):
        alpha[unknown] = 1.0 if has_fg else 0.0
        return alpha
    if ku_auto and ku_weight > 0:
        reach = 20
        ky0, ky1, kx0, kx1 = _grown_box(unknown, reach)
        if _highly_transparent(rgb[ky0:ky1, kx0:kx1], trimap[ky0:ky1, kx0:kx1], reach):
            ku_weight = 0.0
    params = {
        "cm_neighbors": cm_neighbors,
        "cm_xy": cm_xy,
        "cm_reg": cm_reg,
        "ku_neighbors": ku_neighbors,
        "ku_xy": ku_xy,
        "ku_weight": ku_weight,
        "iu_neighbors": iu_neighbors,
        "iu_xy": iu_xy,
        "iu_weight": iu_weight,
        "local_weight": local_weight,
        "local_radius": local_radius,
        "local_epsilon": local_epsilon,
        "margin": max(margin, 1),
    }
    local, nonlocal_part, mixture, rhs, guess = _system(
        rgb, trimap, (y0, y1, x0, x1), trimap.shape, params
    )
    solution = _solve(local + nonlocal_part, mixture, rhs, guess, tolerance, max_iterations)
    alpha[y0:y1, x0:x1][unknown[y0:y1, x0:x1]] = np.clip(solution, 0.0, 1.0)
    # Known pixels are exactly 0 or 1, so snapping the whole alpha snaps the band.
    return _snap_ends(alpha, snap)
