import numpy as np
import pytest

from alphacut.imageops import as_float_rgb, full_scale, pixel_dot, to_uint8


def _reference_uint8(values: np.ndarray) -> np.ndarray:
    finite = np.nan_to_num(np.asarray(values, np.float32), nan=0.0)
    return np.clip(np.rint(finite * 255), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(7,), (5, 6), (5, 6, 1), (5, 6, 3), (5, 6, 4), (2, 3, 4, 3)])
def test_to_uint8_rounds_half_to_even_and_clips_in_any_shape(shape):
    rng = np.random.default_rng(1)
    values = rng.uniform(-0.2, 1.2, shape).astype(np.float32)
    flat = values.reshape(-1)
    flat[:5] = [0.5 / 255, 1.5 / 255, np.inf, -np.inf, np.nan]
    result = to_uint8(values)
    assert result.dtype == np.uint8 and result.shape == values.shape
    np.testing.assert_array_equal(result, _reference_uint8(values))
    assert result.reshape(-1)[:5].tolist() == [0, 2, 255, 0, 0]


def test_pixel_dot_is_the_per_pixel_dot_product():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(-1, 1, (2, 6, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(pixel_dot(a, b), np.einsum("hwc,hwc->hw", a, b), atol=1e-6)


# --- as_float_rgb: the range of the input decides the scale -------------------------------


@pytest.fixture()
def photo() -> np.ndarray:
    """A small uint8 photo-like array with values over the whole 0..255 range."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    image[0, 0] = (0, 128, 255)
    return image


def test_uint8_and_uint16_are_scaled_by_their_dtype(photo):
    np.testing.assert_array_equal(as_float_rgb(photo), photo.astype(np.float32) / 255)
    wide = photo.astype(np.uint16) * 257
    np.testing.assert_allclose(as_float_rgb(wide), photo / 255, atol=1e-6)
    # A dark uint16 photo stays dark: the dtype, not the values, gives the range.
    dark = np.full((2, 2, 3), 200, np.uint16)
    np.testing.assert_allclose(as_float_rgb(dark), 200 / 65535)


def test_float_0_to_255_is_not_clipped_white(photo):
    # The defect: a float array holding 0..255 was clipped to 0..1, a white photo.
    result = as_float_rgb(photo.astype(np.float64))
    np.testing.assert_allclose(result, photo / 255, atol=1e-6)
    assert result[0, 0].tolist() == pytest.approx([0.0, 128 / 255, 1.0])


def test_float_ranges_are_read_from_the_peak(photo):
    unit = photo / 255.0
    np.testing.assert_allclose(as_float_rgb(unit), unit, atol=1e-6)
    np.testing.assert_allclose(as_float_rgb(unit * 65535), unit, atol=1e-6)
    # A dark 0..255 float photo (peak 40) is still 0..255, not 0..1.
    np.testing.assert_allclose(as_float_rgb(np.full((2, 2), 40.0)), 40 / 255)


def test_float_resampling_overshoot_is_clipped_not_rescaled():
    # Bicubic resampling rings a little past 1 (and below 0) along sharp edges: reading
    # such a photo as 0..255 would make it black.
    ringing = np.array([[[-0.03, 0.5, 1.04]]])
    np.testing.assert_allclose(as_float_rgb(ringing), [[[0.0, 0.5, 1.0]]])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0.5, np.nan], "NaN or infinite"),
        ([0.5, np.inf], "NaN or infinite"),
        ([0.5, -np.inf], "NaN or infinite"),
        ([0.5, 1e6], "beyond any known pixel range"),
        ([0.5, -0.5], "negative"),
        ([-2.1, 2.6], "negative"),  # an ImageNet-normalised tensor
    ],
)
def test_float_values_that_are_no_photo_raise(values, message):
    with pytest.raises(ValueError, match=message):
        as_float_rgb(np.array([values], np.float32))


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint32])
def test_wide_integers_are_read_by_their_range(dtype):
    eight_bit = np.array([[0, 51, 255]], dtype)
    np.testing.assert_allclose(as_float_rgb(eight_bit)[0, :, 0], [0, 0.2, 1], atol=1e-6)
    if np.iinfo(dtype).max >= 65535:
        sixteen_bit = np.array([[0, 13107, 65535]], dtype)
        np.testing.assert_allclose(as_float_rgb(sixteen_bit)[0, :, 0], [0, 0.2, 1], atol=1e-6)


def test_integers_outside_16_bits_or_negative_raise():
    with pytest.raises(ValueError, match="beyond any known pixel range"):
        as_float_rgb(np.array([[0, 70_000]], np.int32))
    with pytest.raises(ValueError, match="negative"):
        as_float_rgb(np.array([[-1, 200]], np.int64))


def test_bool_is_zero_or_one_and_other_dtypes_are_refused():
    np.testing.assert_array_equal(as_float_rgb(np.array([[True, False]]))[0, :, 0], [1.0, 0.0])
    with pytest.raises(TypeError, match="dtype"):
        as_float_rgb(np.ones((2, 2, 3), np.complex64))


def test_alpha_channel_does_not_decide_the_range():
    rgba = np.zeros((2, 2, 4), np.float32)
    rgba[..., :3] = 0.5
    rgba[..., 3] = 255.0  # an alpha stored as 0..255 next to 0..1 colours
    np.testing.assert_allclose(as_float_rgb(rgba), 0.5)


def test_result_is_a_new_array_and_the_input_is_untouched(photo):
    image = photo.astype(np.float32)
    before = image.copy()
    result = as_float_rgb(image)
    result[...] = 0
    np.testing.assert_array_equal(image, before)
    unit = image / 255
    assert not np.shares_memory(as_float_rgb(unit), unit)


def test_explicit_scale_converts_a_part_like_the_whole(photo):
    whole = photo.astype(np.float32)
    whole[2:] = np.minimum(whole[2:], 0.9)  # a part whose own peak says "0..1"
    part = whole[2:]
    scale = full_scale(whole)
    assert scale == 255.0
    np.testing.assert_allclose(as_float_rgb(part, scale=scale), as_float_rgb(whole)[2:])
