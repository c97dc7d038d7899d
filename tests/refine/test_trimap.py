import numpy as np
import pytest

from alphacut.refine import make_trimap
from alphacut.refine.trimap import band_width, within_reach


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


def test_adaptive_trimap_keeps_a_soft_edge_and_bands_a_hard_one():
    alpha = np.zeros((10, 60))
    alpha[:, 20:] = 1.0
    alpha[:5, 18:21] = [0.2, 0.45, 0.8]  # top half: a soft transition, the alpha's own doubt
    alpha[:, 40:] = 0.0  # a hard step back to background, far from any uncertain pixel
    trimap = make_trimap(alpha, band=None)
    # The soft transition is the unknown region as it is; the hard step beside it (rows
    # 5-9, column 19/20, within the default width of 6 px of it) gets no band of its own.
    assert trimap[0, 17:22].tolist() == [0, 0.5, 0.5, 0.5, 1]
    assert trimap[9, 17:22].tolist() == [0, 0, 0, 1, 1]
    # The hard step at column 40 gets the default band: 6 pixels centred on the edge.
    assert np.all(trimap[:, 37:43] == 0.5)
    assert np.all(trimap[:, 36] == 1) and np.all(trimap[:, 43] == 0)


def test_adaptive_trimap_of_a_binary_mask_is_the_default_band():
    np.testing.assert_array_equal(make_trimap(_step()), make_trimap(_step(), band=6))


def test_within_reach_needs_both_definite_regions():
    trimap = np.full((5, 30), 0.5, np.float32)
    trimap[:, :3] = 0
    trimap[:, 8:12] = 1  # an edge band (columns 3-7), then a wide soft region (12-29)
    near = within_reach(trimap, 12)
    assert np.all(near[:, 3:8])  # between the two sides
    assert not near[:, :3].any() and not near[:, 8:12].any()  # definite pixels are not unknown
    # OpenCV's 3x3 distance counts 0.955 per pixel along a row: columns 12-14 lie within
    # 12 of the background at column 2, the rest of the soft region has only foreground.
    assert np.all(near[:, 12:15]) and not near[:, 15:].any()
    assert not within_reach(trimap, 4)[:, 12:].any()
    assert not within_reach(np.full((4, 4), 0.5, np.float32), 10).any()  # nothing definite


def _leaves(seed=0):
    """Green leaves with sky showing through holes that a coarse alpha calls subject."""
    rng = np.random.default_rng(seed)
    image = np.empty((80, 80, 3))
    image[:] = [0.55, 0.7, 0.95]  # sky
    image[:, 40:] = [0.15, 0.5, 0.1]  # foliage on the right
    image += rng.normal(0, 0.01, image.shape)
    holes = np.zeros((80, 80), bool)
    holes[20:26, 50:56] = holes[50:55, 60:64] = True
    image[holes] = [0.55, 0.7, 0.95]
    coarse = np.zeros((80, 80), np.float32)
    coarse[:, 40:] = 1.0  # smooth: the holes are "subject"
    return np.clip(image, 0, 1), coarse, holes


def test_colour_doubt_finds_sky_through_the_leaves():
    from alphacut.refine.trimap import colour_doubt

    image, coarse, holes = _leaves()
    trimap = make_trimap(coarse, band=6)
    doubt = colour_doubt(image, trimap, reach=0.5)
    assert doubt[holes].all()
    assert doubt[:, 40:].mean() < 0.15  # the leaves themselves stay definite
    assert not doubt[:, :30].any()  # and so does the open sky
    assert not doubt[trimap == 0.5].any()  # only definite pixels are doubted
    np.testing.assert_array_equal(doubt, colour_doubt(image, trimap, reach=0.5))  # seeded
    # Too far from the band: left alone.
    assert not colour_doubt(image, trimap, reach=0.05)[holes].any()


def test_colour_doubt_needs_both_sides_and_a_band():
    from alphacut.refine.trimap import colour_doubt

    image, _, _ = _leaves()
    for trimap in (np.ones((80, 80), np.float32), np.zeros((80, 80), np.float32)):
        assert not colour_doubt(image, trimap).any()
    one_sided = np.ones((80, 80), np.float32)
    one_sided[:, :10] = 0.5
    assert not colour_doubt(image, one_sided).any()


def test_reopen_foreground_only_touches_foreground_next_to_partial_pixels():
    from alphacut.refine.trimap import reopen_foreground

    trimap = np.zeros((9, 30), np.float32)
    trimap[:, 10:14] = 0.5
    trimap[:, 14:] = 1
    alpha = trimap.copy()
    alpha[:, 10:14] = [0.0, 0.05, 0.3, 0.95]  # settled: the edge ends inside the band
    assert not reopen_foreground(trimap, alpha).any()
    alpha[4:6, 13] = 0.5  # still partial where it meets the foreground
    reopened = reopen_foreground(trimap, alpha, radius=3)
    assert reopened.any() and np.all(trimap[reopened] == 1)
    assert reopened[4, 14:17].all() and not reopened[:, 17:].any()
    assert not reopened[0].any()  # a disk, not a band down the whole edge
