import numpy as np
import pytest

from alphacut.refine import estimate_foreground

RED = np.array([1.0, 0.1, 0.0])
BLUE = np.array([0.0, 0.2, 1.0])


def _ramp(h=16, w=96):
    """Pure blue, a 16-pixel linear alpha ramp into pure red, pure red."""
    alpha = np.tile(np.clip((np.arange(w) - 40) / 16, 0, 1), (h, 1))
    image = alpha[..., None] * RED + (1 - alpha[..., None]) * BLUE
    return image, alpha


def test_removes_background_from_two_colour_ramp():
    image, alpha = _ramp()
    fg = estimate_foreground(image, alpha)
    assert fg.dtype == np.float32 and fg.shape == image.shape
    visible = alpha > 0.2
    # Blur-fusion's own approximation error on a ramp is below 0.08 (Forte's reference
    # implementation measures the same); the composite itself is off by up to 0.8.
    assert np.abs(fg[visible] - RED).max() < 0.1
    assert np.abs(fg[visible] - RED).mean() < 0.03
    assert np.abs(image[visible] - RED).max() > 0.7


def test_opaque_pixels_keep_image_colour():
    image, alpha = _ramp()
    fg = estimate_foreground(image, alpha)
    np.testing.assert_allclose(fg[:, 56:], image[:, 56:], atol=1e-6)


def test_tiles_give_the_same_result_as_one_pass():
    rng = np.random.default_rng(0)
    image = rng.random((70, 50, 3))
    alpha = np.clip(rng.random((70, 50)) * 1.4 - 0.2, 0, 1)
    alpha[30:45] = 1.0  # tiles without partial alpha are skipped, not miscomputed
    whole = estimate_foreground(image, alpha, tile=1000)
    np.testing.assert_allclose(estimate_foreground(image, alpha, tile=9), whole, atol=1e-6)


def test_uint8_input_and_shape_check():
    image, alpha = _ramp()
    fg8 = estimate_foreground(
        (image * 255).round().astype(np.uint8), (alpha * 255).astype(np.uint8)
    )
    assert fg8.shape == image.shape
    with pytest.raises(ValueError):
        estimate_foreground(image, alpha[:-1])


def test_writing_into_the_photo_itself_gives_the_same_result():
    rng = np.random.default_rng(1)
    image = rng.random((70, 50, 3)).astype(np.float32)
    alpha = np.clip(rng.random((70, 50)) * 1.4 - 0.2, 0, 1)
    expected = estimate_foreground(image, alpha, tile=9)
    result = estimate_foreground(image, alpha, tile=9, out=image)
    assert result is image
    np.testing.assert_array_equal(result, expected)
