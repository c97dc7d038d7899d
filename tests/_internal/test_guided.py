import numpy as np

from alphacut._internal.guided import guided_filter, guided_upsample


def test_guided_filter_keeps_the_guide_edge():
    guide = np.zeros((64, 64, 3), np.float32)
    guide[:, 32:] = 1
    blurry = np.clip((np.arange(64) - 24) / 16, 0, 1)[None, :].repeat(64, 0).astype(np.float32)
    out = guided_filter(guide, blurry, radius=6, eps=1e-4)
    # The ramp straddled the edge; the filtered map steps where the guide steps.
    assert out[:, 29].mean() < 0.3 and out[:, 35].mean() > 0.7


def test_fast_variant_agrees_with_the_exact_one():
    rng = np.random.default_rng(0)
    guide = rng.random((96, 96, 3)).astype(np.float32)
    guide = np.repeat(np.repeat(guide[::8, ::8], 8, 0), 8, 1)
    source = guide.mean(axis=2)
    exact = guided_filter(guide, source, radius=8, eps=1e-3)
    fast = guided_filter(guide, source, radius=8, eps=1e-3, subsample=2)
    assert np.abs(exact - fast).mean() < 0.02


def test_guided_upsample_shape_and_range():
    guide = np.zeros((100, 150, 3), np.float32)
    guide[:, 75:] = 1
    low = np.zeros((10, 15), np.float32)
    low[:, 7:] = 1  # bilinear upsampling ramps from column 65 to 75
    out = guided_upsample(guide, low)
    assert out.shape == (100, 150) and out.min() >= 0 and out.max() <= 1
    assert out[:, 60].mean() < 0.2 and out[:, 80].mean() > 0.8
    # The transition snapped to the guide's edge between columns 74 and 75.
    assert (out[:, 75] - out[:, 74]).mean() > 0.3


def test_the_filter_near_an_edge_equals_the_whole_photos_there():
    from alphacut._internal.guided import _TILE, guided_filter_near

    rng = np.random.default_rng(11)
    height, width = _TILE * 2 + 9, _TILE * 3 + 1
    guide = rng.random((height, width, 3)).astype(np.float32)
    source = (rng.random((height, width)) > 0.5).astype(np.float32)
    near = np.zeros((height, width), bool)
    near[_TILE - 2 : _TILE + 2, :] = True  # across a row of tile edges
    near[-1, -1] = True  # the cut-short corner tile
    whole = guided_filter(guide, source, radius=3, eps=1e-3)
    out = guided_filter_near(guide, source, near, radius=3, eps=1e-3)
    np.testing.assert_allclose(out[near], whole[near], rtol=1e-5, atol=1e-5)
    assert out[-2, 5] == 0  # a tile the edge does not reach
