"""The comparison metrics against hand-computed values."""

import numpy as np
import pytest

from alphacut.metrics import (
    agreement_table,
    as_truth_alpha,
    disagreement,
    iou,
    mean_abs_diff,
)


def test_iou_counts_pixels_at_and_above_half():
    a = np.array([[0.5, 0.49, 1.0, 0.0]])
    b = np.array([[1.0, 1.0, 0.5, 0.0]])
    # masks: a = [1, 0, 1, 0], b = [1, 1, 1, 0] -> 2 shared of 3
    assert iou(a, b) == pytest.approx(2 / 3)
    assert iou(a, a) == 1.0


def test_iou_of_two_empty_masks_is_agreement():
    assert iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    assert iou(np.zeros((3, 3)), np.ones((3, 3))) == 0.0


def test_iou_accepts_boolean_masks():
    mask = np.eye(4, dtype=bool)
    assert iou(mask, mask.astype(np.float32)) == 1.0


def test_mean_abs_diff():
    a = np.array([[0.0, 1.0], [0.25, 0.5]], np.float32)
    b = np.array([[1.0, 1.0], [0.75, 0.5]], np.float32)
    assert mean_abs_diff(a, b) == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert isinstance(mean_abs_diff(a, b), float)


@pytest.mark.parametrize("func", [iou, mean_abs_diff])
def test_shape_mismatch_is_an_error(func):
    with pytest.raises(ValueError, match="shape"):
        func(np.zeros((2, 2)), np.zeros((2, 3)))


def test_disagreement_is_the_spread():
    alphas = {
        "a": np.array([[0.0, 0.2, 1.0]]),
        "b": np.array([[0.0, 0.6, 0.0]]),
        "c": np.array([[0.0, 0.4, 0.5]]),
    }
    spread = disagreement(alphas)
    assert spread.dtype == np.float32
    np.testing.assert_allclose(spread, [[0.0, 0.4, 1.0]], atol=1e-6)
    np.testing.assert_array_equal(disagreement([alphas["a"]]), 0)
    with pytest.raises(ValueError):
        disagreement([])


def test_agreement_table_pairs_and_truth():
    rng = np.random.default_rng(0)
    alphas = {name: rng.random((8, 8)) for name in ("x", "y", "z")}
    truth = rng.random((8, 8))
    rows = agreement_table(alphas, truth)
    assert [(r.first, r.second) for r in rows] == [
        ("x", "ground truth"),
        ("y", "ground truth"),
        ("z", "ground truth"),
        ("x", "y"),
        ("x", "z"),
        ("y", "z"),
    ]
    assert rows[4].iou == pytest.approx(iou(alphas["x"], alphas["z"]))
    assert rows[1].mean_abs_diff == pytest.approx(np.abs(alphas["y"] - truth).mean())
    assert len(agreement_table(alphas)) == 3


def test_truth_conversions():
    labels = np.array([[0, 1, 7]], np.int32)
    np.testing.assert_array_equal(as_truth_alpha(labels, labels=True), [[0, 1, 1]])
    np.testing.assert_allclose(as_truth_alpha(np.array([[0, 51, 255]], np.uint8)), [[0, 0.2, 1]])
    np.testing.assert_allclose(as_truth_alpha(np.array([[0, 65535]], np.uint16)), [[0, 1]])
    np.testing.assert_allclose(as_truth_alpha(np.array([[-0.05, 0.3, 1.05]])), [[0, 0.3, 1]])
    np.testing.assert_array_equal(as_truth_alpha(np.array([[0, 255]], np.int64)), [[0, 1]])
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = 255
    assert as_truth_alpha(rgb).shape == (2, 2)
    with pytest.raises(ValueError):
        as_truth_alpha(np.zeros((2, 2, 2, 2)))


# --- mattes of any dtype score as the same mattes in float ---------------------------------


def test_a_uint8_matte_scores_like_the_same_matte_in_float():
    # The defect: uint8 mattes were taken as float without scaling, so a matte compared
    # with itself stored as float had a mean |delta alpha| of 63.5 instead of 0.
    truth = np.array([[0.0, 1.0], [0.0, 0.0]], np.float32)
    eight_bit = (truth * 255).astype(np.uint8)
    assert mean_abs_diff(eight_bit, truth) == 0.0
    rows = agreement_table({"uint8": eight_bit, "float": truth}, truth=eight_bit)
    assert [row.mean_abs_diff for row in rows] == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(disagreement([eight_bit, truth]), 0)


def test_a_uint8_matte_is_masked_at_half_opacity_not_at_one_level():
    # The defect: alpha 100 of 255 (0.39) counted as >= 0.5, so it was in the mask.
    faint = np.full((2, 2), 100, np.uint8)
    assert iou(faint, np.zeros((2, 2))) == 1.0  # both masks empty
    assert iou(np.full((2, 2), 128, np.uint8), np.ones((2, 2))) == 1.0


def test_a_uint16_matte_is_scaled_in_a_metric():
    half = np.full((2, 2), 32768, np.uint16)
    assert mean_abs_diff(half, np.full((2, 2), 0.5)) == pytest.approx(0.5 / 65535, abs=1e-6)


def test_nan_in_a_matte_is_an_error_not_a_nan_score():
    with pytest.raises(ValueError, match="NaN"):
        mean_abs_diff(np.array([[np.nan, 0.0]]), np.zeros((1, 2)))


def test_edge_uncertainty_counts_the_unsure_part_of_the_outline():
    import cv2

    from alphacut.metrics import edge_uncertainty

    hard = np.zeros((60, 60), np.float32)
    hard[10:50, 10:50] = 1
    assert edge_uncertainty(hard) == 0.0
    assert edge_uncertainty(np.zeros((60, 60))) == 0.0  # no outline
    assert edge_uncertainty(np.ones((60, 60))) == 0.0
    # Blur only the left half of the square: about half the outline becomes unsure.
    half = hard.copy()
    half[:, :30] = cv2.GaussianBlur(hard, (0, 0), 6)[:, :30]
    share = edge_uncertainty(half)
    assert 0.3 < share < 0.7
    # The outline examined is the final alpha's: a refined hard edge over an unsure
    # coarse one still counts the coarse doubt.
    assert edge_uncertainty(half, hard) == pytest.approx(edge_uncertainty(half, half), abs=0.1)
    with pytest.raises(ValueError, match="differ in shape"):
        edge_uncertainty(hard, hard[:10])
