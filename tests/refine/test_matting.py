import numpy as np
import pytest

from alphacut.refine import estimate_alpha
from alphacut.refine.matting import matting_laplacian

from .ramps import two_colour_ramp


def test_recovers_linear_ramp():
    image, trimap, truth = two_colour_ramp()
    alpha = estimate_alpha(image, trimap, snap=0)
    assert alpha.dtype == np.float32 and alpha.shape == truth.shape
    np.testing.assert_allclose(alpha, truth, atol=0.01)


def test_snap_sets_near_certain_values():
    image, trimap, truth = two_colour_ramp()
    alpha = estimate_alpha(image, trimap, snap=0.1)
    assert np.all(alpha[truth < 0.08] == 0) and np.all(alpha[truth > 0.92] == 1)
    middle = (truth > 0.15) & (truth < 0.85)
    np.testing.assert_allclose(alpha[middle], truth[middle], atol=0.01)


def test_uint8_inputs_match_float_inputs():
    image, trimap, _ = two_colour_ramp()
    image8 = np.round(image * 255).astype(np.uint8)
    trimap8 = np.select([trimap == 0, trimap == 1], [0, 255], 128).astype(np.uint8)
    np.testing.assert_allclose(
        estimate_alpha(image8, trimap8), estimate_alpha(image8 / 255.0, trimap), atol=1e-5
    )


def test_known_pixels_keep_trimap_values():
    image, trimap, _ = two_colour_ramp()
    alpha = estimate_alpha(image, trimap)
    assert np.all(alpha[trimap == 0] == 0) and np.all(alpha[trimap == 1] == 1)


def test_coarse_to_fine_path_recovers_ramp():
    image, trimap, truth = two_colour_ramp(64, 128, margin=8)
    alpha = estimate_alpha(image, trimap, snap=0, max_pixels=2000)  # forces a coarse solve
    unknown = trimap == 0.5
    np.testing.assert_allclose(alpha[unknown], truth[unknown], atol=0.03)


def test_no_unknown_returns_trimap():
    image, _, _ = two_colour_ramp()
    trimap = np.zeros(image.shape[:2])
    trimap[:, 20:] = 1
    np.testing.assert_array_equal(estimate_alpha(image, trimap), trimap)


def test_shape_mismatch_raises():
    image, trimap, _ = two_colour_ramp()
    with pytest.raises(ValueError):
        estimate_alpha(image, trimap[:-1])


def test_laplacian_matches_pymatting_on_unknown_rows():
    cf_laplacian = pytest.importorskip("pymatting").cf_laplacian

    rng = np.random.default_rng(1)
    image = rng.random((12, 14, 3))
    unknown = np.zeros((12, 14), bool)
    unknown[4:8, 5:9] = True
    ours = matting_laplacian(image, unknown)
    theirs = cf_laplacian(image, is_known=~unknown)
    rows = np.flatnonzero(unknown)
    np.testing.assert_allclose(ours[rows].toarray(), theirs[rows].toarray(), atol=1e-6)
    np.testing.assert_allclose(ours @ np.ones(ours.shape[0]), 0, atol=1e-8)


def test_band_solve_matches_dense_solve():
    from alphacut.refine.matting import _solve_band

    rng = np.random.default_rng(2)
    image = rng.random((16, 18, 3))
    trimap = np.full((16, 18), 0.5)
    trimap[:3], trimap[-3:] = 0.0, 1.0
    trimap[:, :2] = 0.0
    unknown = trimap == 0.5
    lap = matting_laplacian(image, unknown).toarray()
    u = unknown.ravel()
    known = trimap.ravel()[~u]
    expected = np.linalg.solve(lap[np.ix_(u, u)], -lap[np.ix_(u, ~u)] @ known)
    alpha = _solve_band(image, trimap, radius=1, epsilon=1e-7)
    np.testing.assert_allclose(alpha[unknown], np.clip(expected, 0, 1), atol=1e-6)
    assert np.all(alpha[~unknown] == trimap[~unknown])


@pytest.mark.parametrize("shape", [(20, 30), (2, 30)])
def test_all_unknown_gives_finite_alpha(shape):
    image = np.random.default_rng(3).random((*shape, 3))
    alpha = estimate_alpha(image, np.full(shape, 0.5))
    assert alpha.shape == shape and np.all(np.isfinite(alpha))


def test_runtime_path_imports_neither_numba_nor_pymatting():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from alphacut.refine import refine; "
        "img = np.random.default_rng(0).random((40, 40, 3)); "
        "refine(img, np.pad(np.ones((20, 20)), 10)); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'pymatting'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("max_pixels", [600_000, 2000])  # whole, and the coarse-to-fine path
def test_infoflow_solver_recovers_ramp(max_pixels):
    image, trimap, truth = two_colour_ramp(64, 128, margin=8)
    alpha = estimate_alpha(image, trimap, solver="infoflow", snap=0, max_pixels=max_pixels)
    unknown = trimap == 0.5
    np.testing.assert_allclose(alpha[unknown], truth[unknown], atol=0.03)
    assert np.all(alpha[trimap == 0] == 0) and np.all(alpha[trimap == 1] == 1)


def test_unknown_solver_is_refused():
    image, trimap, _ = two_colour_ramp()
    with pytest.raises(ValueError, match="unknown solver 'magic'"):
        estimate_alpha(image, trimap, solver="magic")


def test_linear_model_in_tiles_equals_the_whole_copys():
    # The coarse-to-fine path fits the local linear model only in tiles the band reaches;
    # there it must be the same model as fitted over the whole copy, tile edges included.
    from alphacut.refine.matting import _MODEL_TILE, _linear_model, _linear_model_near

    rng = np.random.default_rng(3)
    height, width = 3 * _MODEL_TILE + 17, 4 * _MODEL_TILE + 5
    image = rng.random((height, width, 3)).astype(np.float32)
    alpha = rng.random((height, width)).astype(np.float32)
    needed = np.zeros((height, width), bool)
    needed[_MODEL_TILE - 1 : _MODEL_TILE + 1, 10:200] = True  # across a tile edge
    needed[-1, -1] = True  # the cut-short corner tile
    whole = _linear_model(image, alpha, 1, 1e-6)
    tiled = _linear_model_near(image, alpha, needed, 1, 1e-6)
    np.testing.assert_allclose(tiled[needed], whole[needed], rtol=1e-5, atol=1e-6)
    # Tiles the band does not reach are left out.
    assert not tiled[2 * _MODEL_TILE + 5, 3 * _MODEL_TILE - 5].any()
