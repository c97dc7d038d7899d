import numpy as np
import pytest

from alphacut.refine import make_trimap
from alphacut.refine.trimap import band_width


def _step(h=20, w=40, at=20):
    alpha = np.zeros((h, w))
    alpha[:, at:] = 1.0
    return alpha


def test_hard_step_gets_band_of_requested_width():
    trimap = make_trimap(_step(), band=8)
    assert trimap.dtype == np.float32
    row = trimap[5]
    assert np.all(row[:16] == 0) and np.all(row[24:] == 1)
    assert np.all(row[16:24] == 0.5)  # 8 pixels centred on the edge
    assert np.all(trimap == trimap[:1])  # every row alike


def test_uncertain_pixels_are_unknown_with_margin():
    alpha = np.zeros((10, 40))
    alpha[:, 20:] = 1.0
    alpha[:, 15:20] = 0.4  # a soft region on the background side
    trimap = make_trimap(alpha, band=4)
    # Seeds: the soft columns 15-19 and column 20 across the 0.5 contour; band 4 adds one
    # pixel of margin either side.
    assert np.all(trimap[:, 14:22] == 0.5)
    assert np.all(trimap[:, :14] == 0) and np.all(trimap[:, 22:] == 1)


def test_thresholds_decide_definite_regions():
    alpha = np.tile(np.linspace(0, 1, 11), (3, 1))
    trimap = make_trimap(alpha, thresholds=(0.2, 0.8), band=0)
    assert trimap[0].tolist() == [0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 1, 1]


def test_band_width_in_pixels_fraction_and_default():
    assert band_width((100, 200), 10) == 10
    assert band_width((3000, 4000), 0.01) == 30
    assert band_width((3000, 4000)) == 60  # 2 % of the short side
    assert band_width((50, 50)) == 6  # never below the minimum


def test_definite_masks_override_band():
    fg = np.zeros((20, 40), bool)
    bg = np.zeros((20, 40), bool)
    fg[:, 19:21] = True
    bg[:, 17] = True
    trimap = make_trimap(_step(), band=8, definite_foreground=fg, definite_background=bg)
    assert np.all(trimap[:, 19:21] == 1) and np.all(trimap[:, 17] == 0)
    assert np.all(trimap[:, 18] == 0.5)


def test_uint8_alpha_and_bad_thresholds():
    trimap = make_trimap((_step() * 255).astype(np.uint8), band=4)
    np.testing.assert_array_equal(trimap, make_trimap(_step(), band=4))
    with pytest.raises(ValueError):
        make_trimap(_step(), thresholds=(0.9, 0.1))
