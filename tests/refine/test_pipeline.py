import cv2
import numpy as np

from alphacut.refine import Refinement, refine

FG = np.array([1.0, 0.5, 0.0])
BG = np.array([0.1, 0.2, 0.6])


def _scene(h=32, w=64):
    """A horizontal ramp of alpha between columns 26 and 38 mixing two colours."""
    truth = np.tile(np.clip((np.arange(w) - 26) / 12, 0, 1), (h, 1))
    image = truth[..., None] * FG + (1 - truth[..., None]) * BG
    return image, truth


def test_refine_recovers_alpha_and_colour_from_hard_coarse_alpha():
    image, truth = _scene()
    coarse = (truth > 0.5).astype(np.float32)
    result = refine(image, coarse, band=24, feather_sigma=0)
    assert isinstance(result, Refinement)
    assert set(result.timings) == {"trimap", "matting", "feather", "foreground"}
    assert set(np.unique(result.trimap)) == {0.0, 0.5, 1.0}
    middle = (truth > 0.1) & (truth < 0.9)
    np.testing.assert_allclose(result.alpha[middle], truth[middle], atol=0.02)
    visible = truth > 0.2
    assert np.abs(result.foreground[visible] - FG).max() < 0.1  # the composite: up to 0.7


def test_options_switch_steps_off():
    image, truth = _scene()
    coarse = np.clip(truth * 1.3 - 0.15, 0, 1)
    result = refine(image, coarse, matting=False, feather_sigma=0, decontaminate=False, band=4)
    np.testing.assert_allclose(result.foreground, image, atol=1e-6)
    unknown = result.trimap == 0.5
    np.testing.assert_allclose(result.alpha[unknown], coarse[unknown], atol=1e-6)


def test_trimap_override_and_hints():
    image, truth = _scene()
    trimap = np.full(truth.shape, 0.5)
    trimap[:, :14], trimap[:, 50:] = 0, 1
    hint = np.zeros(truth.shape, bool)
    hint[:, 40:44] = True
    result = refine(image, truth > 0.5, trimap=trimap, definite_foreground=hint, feather_sigma=0)
    assert np.all(result.trimap[:, 40:44] == 1) and np.all(result.alpha[:, 40:44] == 1)
    np.testing.assert_array_equal(result.trimap[:, :14], 0)


def test_feather_changes_band_only():
    image, truth = _scene()
    coarse = (truth > 0.5).astype(np.float32)
    sharp = refine(image, coarse, band=10, matting=False, feather_sigma=0, decontaminate=False)
    soft = refine(image, coarse, band=10, matting=False, feather_sigma=2.0, decontaminate=False)
    outside = sharp.trimap != 0.5
    np.testing.assert_array_equal(soft.alpha[outside], sharp.alpha[outside])
    assert not np.array_equal(soft.alpha, sharp.alpha)


def test_soft_region_out_of_reach_of_the_background_keeps_the_coarse_alpha():
    from alphacut.refine import estimate_alpha
    from alphacut.refine.trimap import within_reach

    image, truth = _scene()
    image[:, 48:] = BG  # background colour again, right of the subject ...
    coarse = np.clip(truth * 1.3 - 0.15, 0, 1).astype(np.float32)
    coarse[:, 48:] = 0.4  # ... where the coarse alpha is unsure over 16 px, far from any 0
    result = refine(image, coarse, feather_sigma=0, decontaminate=False)
    unknown = result.trimap == 0.5
    assert np.all(unknown[:, 48:])
    # Matting sees only foreground around that region and fills it with 1 whatever its
    # colour; the refinement keeps the coarse 0.4 instead.
    assert np.all(estimate_alpha(image, result.trimap)[:, 52:] == 1)
    np.testing.assert_array_equal(result.alpha[:, 52:], np.float32(0.4))
    # The edge itself, the coarse alpha's uncertain columns 29-35, is matted where both
    # sides are within the band width of 6 px (columns 30-34; 29 and 35 are 6.7 px from
    # the far side in OpenCV's distance).
    near = within_reach(result.trimap, 6)
    assert np.all(unknown[:, 29:36]) and np.all(near[:, 30:35]) and not near[:, 35:].any()
    np.testing.assert_array_equal(result.alpha[near], estimate_alpha(image, result.trimap)[near])
    np.testing.assert_array_equal(result.alpha[:, [29, 35]], coarse[:, [29, 35]])
    assert np.all(np.diff(result.alpha[:, 28:37], axis=1) > 0)


def test_doubt_colours_lets_matting_open_the_holes_a_coarse_alpha_closed():
    image = np.empty((200, 200, 3))
    image[:] = BG
    image[:, 100:] = FG
    holes = np.zeros((200, 200), bool)
    holes[60:66, 103:113] = True  # a notch from the edge into the subject
    image[holes] = BG
    coarse = np.zeros((200, 200), np.float32)
    coarse[:, 100:] = 1.0
    plain = refine(image, coarse, feather_sigma=0)
    assert plain.alpha[holes].min() == 1.0  # beyond the band: the coarse alpha stays
    doubted = refine(image, coarse, feather_sigma=0, doubt_colours=True)
    assert np.all(doubted.trimap[holes] == 0.5) and np.all(doubted.trimap[100:150, 130:] == 1)
    # Two flat colours leave closed-form matting free to call the notch either side (both
    # cost nothing); the non-local colour flows of infoflow see its colour is background's.
    matted = refine(image, coarse, feather_sigma=0, doubt_colours=True, solver="infoflow")
    assert matted.alpha[holes].max() < 0.1
    assert matted.alpha[100:150, 130:].min() == 1.0
    # The user's strokes still win over the doubt.
    kept = refine(image, coarse, doubt_colours=True, definite_foreground=holes, feather_sigma=0)
    assert kept.alpha[holes].min() == 1.0


def test_max_unknown_solves_a_wide_band_on_a_reduced_copy():
    truth = np.tile(np.clip((np.arange(192) - 78) / 36, 0, 1), (96, 1))
    image = truth[..., None] * FG + (1 - truth[..., None]) * BG
    coarse = (truth > 0.5).astype(np.float32)
    options = dict(band=72, feather_sigma=0, decontaminate=False)
    whole = refine(image, coarse, **options)
    reduced = refine(image, coarse, max_unknown=500, **options)
    unknown = int(np.count_nonzero(reduced.trimap == 0.5))
    assert unknown > 10 * 500  # so the band is solved at under a third of the size
    assert not np.array_equal(reduced.alpha, whole.alpha)
    middle = (truth > 0.1) & (truth < 0.9)
    np.testing.assert_allclose(reduced.alpha[middle], truth[middle], atol=0.05)


def test_reopen_grows_the_band_into_the_foreground_only():
    # Solid from column 24, but every other pair of rows is a strand that the background
    # shows through up to column 44; the coarse alpha calls it all solid from column 26.
    truth = np.tile((np.arange(64) >= 24).astype(float), (24, 1))
    truth[(np.arange(24) // 2) % 2 == 1] = np.clip((np.arange(64) - 20) / 24, 0, 1)
    image = truth[..., None] * FG + (1 - truth[..., None]) * BG
    coarse = (np.arange(64) >= 26).astype(np.float32)[None].repeat(24, axis=0)
    options = dict(band=8, feather_sigma=0, decontaminate=False, solver="infoflow")
    once = refine(image, coarse, **options)
    twice = refine(image, coarse, reopen=True, **options)
    grown = (twice.trimap == 0.5) & (once.trimap != 0.5)
    assert grown.any() and np.all(once.trimap[grown] == 1)
    np.testing.assert_array_equal(twice.trimap[once.trimap == 0], 0)
    kept = np.zeros(truth.shape, bool)
    kept[:, 30:40] = True  # a user's foreground stroke stays definite
    hinted = refine(image, coarse, reopen=True, definite_foreground=kept, **options)
    assert np.all(hinted.trimap[kept] == 1)


def test_reopen_recovers_hair_a_coarse_alpha_filled_in(matting_dir):
    folder = matting_dir
    from alphacut.api import GENERAL_SUBJECT_REFINEMENT

    image = cv2.cvtColor(cv2.imread(str(folder / "image" / "GT04.png")), cv2.COLOR_BGR2RGB)
    truth = cv2.imread(str(folder / "alpha" / "GT04.png"), cv2.IMREAD_GRAYSCALE) / 255.0
    # A network's answer on hair: the strands and the gaps between them filled in, soft edge.
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    filled = cv2.morphologyEx((truth > 0.05).astype(np.uint8), cv2.MORPH_CLOSE, disk)
    coarse = cv2.GaussianBlur(filled.astype(np.float32), (0, 0), 2)
    options = {**GENERAL_SUBJECT_REFINEMENT, "decontaminate": False}
    assert options["reopen"]
    twice = refine(image, coarse, **options).alpha
    once = refine(image, coarse, **{**options, "reopen": False}).alpha
    # Measured: SAD 42.9 against 52.0 solved once (the coarse alpha: 64.8).
    assert np.abs(twice - truth).sum() < 0.9 * np.abs(once - truth).sum()
