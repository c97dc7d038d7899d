"""Refinement on input with nothing to refine: flat photos, trimaps without a side, tiny
photos. Each must finish promptly (the bound is generous: each takes well under a second)
with a defined answer."""

import time

import numpy as np
import pytest

from alphacut._internal.guided import guided_filter, guided_upsample
from alphacut.refine import estimate_alpha, refine
from alphacut.refine.matting import matting_laplacian

SECONDS = 10.0
HEIGHT, WIDTH = 480, 640


def _coarse_alphas() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    rect = np.zeros((HEIGHT, WIDTH), np.float32)
    rect[120:360, 160:480] = 1
    return {
        "rect": rect,
        "unsure everywhere": np.full((HEIGHT, WIDTH), 0.5, np.float32),
        "noise": rng.random((HEIGHT, WIDTH)).astype(np.float32),
    }


@pytest.mark.parametrize(
    "colour", [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.2, 0.6, 0.3)]
)
def test_refining_a_uniform_photo_is_prompt_and_keeps_the_coarse_alpha(colour):
    image = np.empty((HEIGHT, WIDTH, 3), np.float32)
    image[:] = colour
    for name, coarse in _coarse_alphas().items():
        start = time.perf_counter()
        result = refine(image, coarse, feather_sigma=0)
        seconds = time.perf_counter() - start
        # Before, matting the noise alpha on a flat photo took ~40 s: a 250 k-unknown solve
        # that could only interpolate the trimap.
        assert seconds < SECONDS, f"refine took {seconds:.1f} s on {name}"
        assert np.isfinite(result.alpha).all() and np.isfinite(result.foreground).all()
        unknown = result.trimap == 0.5
        np.testing.assert_array_equal(result.alpha[unknown], coarse[unknown])


def test_a_photo_with_sensor_noise_below_one_level_counts_as_flat():
    rng = np.random.default_rng(1)
    image = np.clip(0.5 + rng.normal(0, 1e-3, (HEIGHT, WIDTH, 3)), 0, 1).astype(np.float32)
    coarse = _coarse_alphas()["noise"]
    start = time.perf_counter()
    result = refine(image, coarse, feather_sigma=0)
    assert time.perf_counter() - start < SECONDS
    unknown = result.trimap == 0.5
    np.testing.assert_array_equal(result.alpha[unknown], coarse[unknown])


def test_a_trimap_with_one_side_missing_is_solved_without_a_system():
    rng = np.random.default_rng(2)
    image = rng.random((HEIGHT, WIDTH, 3)).astype(np.float32)
    trimap = np.full((HEIGHT, WIDTH), 0.5, np.float32)
    start = time.perf_counter()
    assert estimate_alpha(image, trimap).max() == 0.0  # nothing known: 0, as before
    trimap[:10] = 1.0
    assert estimate_alpha(image, trimap).min() == 1.0  # only foreground known
    trimap[:10] = 0.0
    assert estimate_alpha(image, trimap).max() == 0.0  # only background known
    assert time.perf_counter() - start < SECONDS


def test_one_side_missing_agrees_with_the_solve():
    # The shortcut gives what solving the system gives, here on a case small enough to
    # solve directly.
    from scipy.sparse.linalg import spsolve

    rng = np.random.default_rng(3)
    image = rng.random((20, 24, 3))
    trimap = np.full((20, 24), 0.5)
    trimap[:, :3] = 1.0
    unknown = (trimap == 0.5).ravel()
    laplacian = matting_laplacian(image, trimap == 0.5, epsilon=1e-7).tocsr()
    rows = laplacian[unknown]
    solved = spsolve(rows[:, unknown].tocsc(), -(rows[:, ~unknown] @ np.ones((~unknown).sum())))
    np.testing.assert_allclose(solved, 1.0, atol=1e-6)
    np.testing.assert_allclose(estimate_alpha(image, trimap, snap=0), 1.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 50), (50, 1), (1, 1), (2, 2), (3, 5)])
def test_tiny_photos_refine(shape):
    image = np.full((*shape, 3), 0.3, np.float32)
    image[..., : max(1, shape[1] // 2), 0] = 0.9
    coarse = np.zeros(shape, np.float32)
    coarse[..., : max(1, shape[1] // 2)] = 1
    result = refine(image, coarse)
    assert result.alpha.shape == shape and np.isfinite(result.alpha).all()


@pytest.mark.parametrize("shape", [(1, 3), (2, 3), (3, 5), (4, 4)])
def test_tiny_photos_refine_as_general_subjects(shape):
    # Fewer colour samples than colour doubt's neighbours, and a subject thinner than the
    # disk that reopen_foreground opens.
    from alphacut.api import GENERAL_SUBJECT_REFINEMENT

    rng = np.random.default_rng(1)
    image = rng.random((*shape, 3)).astype(np.float32)
    coarse = np.zeros(shape, np.float32)
    coarse[..., shape[1] // 2] = 0.5
    coarse[..., shape[1] // 2 + 1 :] = 1
    result = refine(image, coarse, **GENERAL_SUBJECT_REFINEMENT)
    assert result.alpha.shape == shape and np.isfinite(result.alpha).all()
    assert (result.trimap == 1).any()  # the subject keeps a definite pixel


def test_guided_filter_on_a_flat_guide_is_a_box_mean():
    guide = np.full((40, 50, 3), 0.4, np.float32)
    source = np.zeros((40, 50), np.float32)
    source[:, 25:] = 1
    out = guided_filter(guide, source, radius=4, eps=1e-4)
    assert np.isfinite(out).all()
    # No colour to follow: a = 0 and b is the window mean, averaged over the windows.
    assert out[:, :16].max() < 1e-4 and out[:, 34:].min() > 1 - 1e-4
    assert 0.3 < out[20, 25] < 0.7
    assert np.isfinite(guided_upsample(guide, source[::4, ::4])).all()


@pytest.mark.parametrize("eps", [0.0, -1e-3])
def test_guided_filter_needs_a_positive_eps(eps):
    # eps = 0 divided 0 by 0 in every flat window and returned NaN.
    guide = np.full((16, 16, 3), 0.4, np.float32)
    with pytest.raises(ValueError, match="eps must be positive"):
        guided_filter(guide, np.zeros((16, 16), np.float32), radius=2, eps=eps)
