"""Input conversion: one set of rules per dtype, the same for images, alphas, trimaps and
ground truths (the table in :mod:`alphacut.convert`)."""

import numpy as np
import pytest

from alphacut import convert
from alphacut.convert import (
    MASK_THRESHOLD,
    as_alpha,
    as_float_rgb,
    as_trimap,
    as_truth_alpha,
    full_scale,
    read_alpha,
    read_float_rgb,
)

# --- the table: every kind of input reads a dtype alike ------------------------------------

# (case, values as stored, the same values in [0, 1])
DTYPE_CASES = [
    ("uint8", np.array([0, 51, 255], np.uint8), [0.0, 0.2, 1.0]),
    ("uint8 dark", np.array([0, 1, 2], np.uint8), [0.0, 1 / 255, 2 / 255]),
    ("uint16", np.array([0, 13107, 65535], np.uint16), [0.0, 0.2, 1.0]),
    ("uint16 dark", np.array([0, 200, 255], np.uint16), [0.0, 200 / 65535, 255 / 65535]),
    ("bool", np.array([False, True, True]), [0.0, 1.0, 1.0]),
    ("int32 0/1", np.array([0, 1, 1], np.int32), [0.0, 1.0, 1.0]),
    ("int32 small", np.array([0, 51, 255], np.int32), [0.0, 0.2, 1.0]),
    ("int32 large", np.array([0, 13107, 65535], np.int32), [0.0, 0.2, 1.0]),
    ("int64 small", np.array([0, 2, 51], np.int64), [0.0, 2 / 255, 0.2]),
    ("uint32 large", np.array([0, 256, 65535], np.uint32), [0.0, 256 / 65535, 1.0]),
    ("int16 small", np.array([0, 51, 255], np.int16), [0.0, 0.2, 1.0]),
    ("float64 0..1", np.array([0.0, 0.2, 1.0]), [0.0, 0.2, 1.0]),
    ("float32 0..1", np.array([0.0, 0.2, 1.0], np.float32), [0.0, 0.2, 1.0]),
    ("float16 0..1", np.array([0.0, 0.25, 1.0], np.float16), [0.0, 0.25, 1.0]),
    ("float 0..255", np.array([0.0, 51.0, 255.0]), [0.0, 0.2, 1.0]),
    ("float 0..255 dark", np.array([0.0, 20.0, 40.0]), [0.0, 20 / 255, 40 / 255]),
    ("float 0..65535", np.array([0.0, 13107.0, 65535.0]), [0.0, 0.2, 1.0]),
    ("float overshoot", np.array([-0.03, 0.5, 1.04]), [0.0, 0.5, 1.0]),
    ("float 0..255 overshoot", np.array([-8.0, 51.0, 270.0]), [0.0, 0.2, 1.0]),
    ("float near-empty", np.array([-1e-6, 0.0, 1e-6]), [0.0, 0.0, 1e-6]),
]
CASE_IDS = [case for case, _, _ in DTYPE_CASES]


def _plane(values: np.ndarray) -> np.ndarray:
    return np.tile(values, (2, 1))  # 2x3


@pytest.mark.parametrize(("case", "values", "unit"), DTYPE_CASES, ids=CASE_IDS)
def test_image_reads_each_dtype_by_the_table(case, values, unit):
    rgb = as_float_rgb(_plane(values))
    assert rgb.dtype == np.float32 and rgb.shape == (2, 3, 3)
    np.testing.assert_allclose(rgb, np.broadcast_to(_plane(unit)[..., None], rgb.shape), atol=1e-6)
    colour = as_float_rgb(np.dstack([_plane(values)] * 3))
    np.testing.assert_allclose(colour, rgb, atol=0)


@pytest.mark.parametrize(("case", "values", "unit"), DTYPE_CASES, ids=CASE_IDS)
def test_alpha_and_truth_read_each_dtype_like_an_image(case, values, unit):
    image = as_float_rgb(_plane(values))[..., 0]
    for convert_alpha in (as_alpha, read_alpha, as_truth_alpha):
        alpha = convert_alpha(_plane(values))
        assert alpha.dtype == np.float32 and alpha.shape == (2, 3), convert_alpha
        np.testing.assert_allclose(alpha, _plane(unit), atol=1e-6, err_msg=convert_alpha.__name__)
        np.testing.assert_array_equal(alpha, image, err_msg=convert_alpha.__name__)


@pytest.mark.parametrize(("case", "values", "unit"), DTYPE_CASES, ids=CASE_IDS)
def test_trimap_reads_each_dtype_like_an_alpha(case, values, unit):
    trimap = as_trimap(_plane(values))
    unit = np.asarray(unit)
    expected = np.where(unit <= 0, 0.0, np.where(unit >= 1, 1.0, 0.5))
    assert trimap.dtype == np.float32
    np.testing.assert_array_equal(trimap, _plane(expected))


# (values, message): refused alike by every kind of input.
REFUSED = [
    (np.array([0.5, np.nan]), "NaN or infinite"),
    (np.array([0.5, np.inf]), "NaN or infinite"),
    (np.array([0.5, -np.inf]), "NaN or infinite"),
    (np.array([0.5, 1e6]), "beyond any known pixel range"),
    (np.array([0.5, -0.5]), "negative"),
    (np.array([-2.1, 2.6], np.float32), "negative"),  # an ImageNet-normalised tensor
    (np.array([-25.0, 200.0]), "negative"),  # below -10 % of the peak
    (np.array([0, 70_000], np.int32), "beyond any known pixel range"),
    (np.array([-1, 200], np.int64), "negative"),
    (np.array([-1, 1], np.int8), "negative"),
]


@pytest.mark.parametrize(("values", "message"), REFUSED)
@pytest.mark.parametrize(
    ("convert_input", "what"),
    [
        (as_float_rgb, "image"),
        (read_float_rgb, "image"),
        (as_alpha, "alpha"),
        (read_alpha, "alpha"),
        (as_truth_alpha, "alpha"),
        (as_trimap, "trimap"),
    ],
)
def test_values_that_stand_for_nothing_are_refused(convert_input, what, values, message):
    array = _plane(values)
    if convert_input in (read_float_rgb, read_alpha) and array.dtype.kind == "f":
        array = array.astype(np.float32)  # past the fast path's own checks
    if convert_input is read_float_rgb:
        array = np.dstack([array] * 3)
    with pytest.raises(ValueError, match=message) as error:
        convert_input(array)
    assert str(error.value).startswith(what)


@pytest.mark.parametrize("convert_input", [as_float_rgb, as_alpha, as_trimap, as_truth_alpha])
def test_dtypes_that_hold_no_values_are_refused(convert_input):
    with pytest.raises(TypeError, match="dtype"):
        convert_input(np.ones((2, 2, 3), np.complex64))
    with pytest.raises(TypeError, match="dtype"):
        convert_input(np.full((2, 2), "a"))


def test_full_scale_follows_the_table():
    assert full_scale(np.zeros((2, 2), np.uint8)) == 255.0
    assert full_scale(np.zeros((2, 2), np.uint16)) == 65535.0
    assert full_scale(np.zeros((2, 2), bool)) == 1.0
    assert full_scale(np.array([0, 1])) == 1.0
    assert full_scale(np.array([0, 2])) == 255.0
    assert full_scale(np.array([0, 256])) == 65535.0
    assert full_scale(np.array([0.0, 1.1])) == 1.0  # within the slack
    assert full_scale(np.array([0.0, 1.2])) == 255.0
    assert full_scale(np.array([0.0, 280.5])) == 255.0
    assert full_scale(np.array([0.0, 281.0])) == 65535.0
    assert full_scale(np.array([0.0, 72088.5])) == 65535.0
    assert full_scale(np.zeros(0)) == 1.0


# --- images --------------------------------------------------------------------------------


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


def test_alpha_channel_does_not_decide_the_range():
    rgba = np.zeros((2, 2, 4), np.float32)
    rgba[..., :3] = 0.5
    rgba[..., 3] = 255.0  # an alpha stored as 0..255 next to 0..1 colours
    np.testing.assert_allclose(as_float_rgb(rgba), 0.5)


def test_image_shapes_other_than_grey_rgb_rgba_are_refused():
    for shape in [(4,), (2, 2, 2), (2, 2, 5), (1, 2, 2, 3)]:
        with pytest.raises(ValueError, match="image"):
            as_float_rgb(np.zeros(shape, np.uint8))


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


def test_read_float_rgb_returns_unit_float32_itself_and_converts_the_rest(photo):
    unit = (photo / 255).astype(np.float32)
    assert read_float_rgb(unit) is unit
    wide = photo.astype(np.float32)  # float32 0..255: not a fast-path array
    result = read_float_rgb(wide)
    assert result is not wide
    np.testing.assert_allclose(result, unit, atol=1e-6)
    unit[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        read_float_rgb(unit)


# --- alphas and ground truths --------------------------------------------------------------


def test_uint16_alpha_is_scaled_not_clipped():
    # The defect: uint16 was taken as float and clipped, so any non-zero alpha became 1.
    alpha = np.array([[0, 16384, 32768, 65535]], np.uint16)
    np.testing.assert_allclose(as_alpha(alpha), [[0.0, 0.25, 0.5, 1.0]], atol=1e-4)


def test_float_alpha_holding_0_to_255_is_scaled_not_clipped():
    # The defect: every partial alpha of a 0..255 float matte was clipped to 1.
    alpha = np.array([[0.0, 63.75, 127.5, 255.0]], np.float32)
    np.testing.assert_allclose(as_alpha(alpha), [[0.0, 0.25, 0.5, 1.0]])
    np.testing.assert_allclose(read_alpha(alpha), [[0.0, 0.25, 0.5, 1.0]])


def test_wide_integer_alpha_is_read_by_its_range():
    # Before, integers other than uint8 were clipped: 0..255 in an int64 lost its soft edge.
    np.testing.assert_allclose(as_alpha(np.array([[0, 51, 255]])), [[0.0, 0.2, 1.0]])
    # ... and a 0/1 integer mask stays a mask, not a nearly transparent 0..255 alpha.
    np.testing.assert_array_equal(as_alpha(np.array([[0, 1]])), [[0.0, 1.0]])


def test_alpha_nan_is_refused_not_propagated():
    # The defect: NaN went through as_alpha's min/max clipping into the refinement.
    alpha = np.array([[0.0, np.nan]], np.float32)
    for convert_alpha in (as_alpha, read_alpha):
        with pytest.raises(ValueError, match="alpha contains NaN"):
            convert_alpha(alpha)


def test_alpha_takes_the_first_channel_and_refuses_other_shapes():
    stacked = np.zeros((2, 3, 3), np.uint8)
    stacked[..., 0] = 255
    np.testing.assert_array_equal(as_alpha(stacked), np.ones((2, 3)))
    for shape in [(4,), (1, 2, 2, 2)]:
        with pytest.raises(ValueError, match="HxW"):
            as_alpha(np.zeros(shape))


def test_as_alpha_copies_and_read_alpha_reads_in_place():
    alpha = np.full((3, 4), 0.25, np.float32)
    copied = as_alpha(alpha)
    assert not np.shares_memory(copied, alpha)
    copied[...] = 1
    assert float(alpha.max()) == 0.25
    assert read_alpha(alpha) is alpha
    empty = np.zeros((0, 4), np.float32)
    assert read_alpha(empty) is empty
    wide = alpha.astype(np.float64)
    assert read_alpha(wide).dtype == np.float32


def test_truth_labels_are_subject_wherever_non_zero():
    labels = np.array([[0, 1, 7, 300]], np.int32)
    np.testing.assert_array_equal(as_truth_alpha(labels, labels=True), [[0, 1, 1, 1]])
    assert as_truth_alpha(np.zeros((2, 2, 3), np.uint8)).shape == (2, 2)
    with pytest.raises(ValueError, match="HxW"):
        as_truth_alpha(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="HxW"):
        as_truth_alpha(np.zeros((2, 2, 2, 2)), labels=True)


def test_truth_overshoot_is_clipped_and_a_signed_truth_refused():
    np.testing.assert_allclose(as_truth_alpha(np.array([[-0.05, 0.3, 1.05]])), [[0, 0.3, 1]])
    # Before, values far outside [0, 1] were clipped, whatever they stood for.
    with pytest.raises(ValueError, match="negative"):
        as_truth_alpha(np.array([[-1.0, 0.3, 2.0]]))


# --- trimaps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trimap",
    [
        np.array([[0, 128, 255]], np.uint8),
        np.array([[0, 32768, 65535]], np.uint16),
        np.array([[0, 128, 255]], np.int64),
        np.array([[0.0, 128.0, 255.0]]),
        np.array([[0.0, 0.5, 1.0]], np.float32),
        np.array([[-0.02, 0.5, 1.05]]),
    ],
    ids=["uint8", "uint16", "int64", "float 0..255", "float 0..1", "float overshoot"],
)
def test_trimap_unknown_stays_unknown_in_every_dtype(trimap):
    # The defects: uint16 and wide-integer trimaps read every non-zero value, and a
    # 0..255 float trimap every value from 1 up, as foreground.
    np.testing.assert_array_equal(as_trimap(trimap), [[0.0, 0.5, 1.0]])


def test_trimap_bool_has_no_unknown_and_takes_the_first_channel():
    np.testing.assert_array_equal(as_trimap(np.array([[False, True]])), [[0.0, 1.0]])
    stacked = np.zeros((1, 3, 3), np.uint8)
    stacked[0, :, 0] = [0, 128, 255]
    np.testing.assert_array_equal(as_trimap(stacked), [[0.0, 0.5, 1.0]])


# --- the mask threshold --------------------------------------------------------------------


def test_one_mask_threshold_serves_the_core():
    from alphacut import metrics
    from alphacut._internal import imageops
    from alphacut.matte import Matte

    assert MASK_THRESHOLD == 0.5
    assert metrics.MASK_THRESHOLD is MASK_THRESHOLD
    alpha = np.array([[0.49, 0.5, 1.0]], np.float32)
    matte = Matte(alpha=alpha, foreground=np.zeros((1, 3, 3), np.float32), method="test")
    np.testing.assert_array_equal(matte.mask, [[False, True, True]])
    # The old homes still hand out the same functions.
    assert imageops.as_float_rgb is convert.as_float_rgb
    assert imageops.read_float_rgb is convert.read_float_rgb
    assert imageops.full_scale is convert.full_scale
    assert metrics.as_truth_alpha is convert.as_truth_alpha
