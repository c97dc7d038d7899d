import time

import numpy as np
import pytest

from alphacut import Matte, remove_background


def test_neural_on_a_person(person):
    original = person.copy()
    matte = remove_background(person, "neural", refine=False)
    assert isinstance(matte, Matte) and matte.method == "neural"
    assert matte.alpha.dtype == np.float32 and matte.alpha.shape == (512, 512)
    assert matte.mask.dtype == bool
    np.testing.assert_array_equal(matte.mask, matte.alpha >= 0.5)
    assert "neural" in matte.timings and matte.provider == "CPUExecutionProvider"
    assert matte.model == "selfie"
    # The astronaut's outline: a clean suit, but hair and a soft flag edge.
    assert 0.0 < matte.edge_uncertainty < 0.8
    rgba = matte.rgba()
    assert rgba.dtype == np.uint8 and rgba.shape == (512, 512, 4)
    np.testing.assert_array_equal(person, original)  # never modified in place


def test_auto_picks_chroma_on_a_green_screen(green_screen):
    image, truth = green_screen
    matte = remove_background(image)
    assert matte.method == "chroma"
    assert any("key colour" in note for note in matte.notes)
    assert np.abs(matte.alpha - truth).mean() < 0.02


def test_auto_picks_neural_for_a_person(person):
    assert remove_background(person, refine=False).method == "neural"


def test_auto_falls_back_to_grabcut_without_a_person():
    # A rocket on its launch pad: nothing the person model recognises.
    from skimage.data import rocket

    image = rocket()
    matte = remove_background(image, refine=False)
    assert matte.method == "grabcut"
    assert any("found no subject, so GrabCut ran" in note for note in matte.notes)
    assert 0.01 < matte.mask.mean() < 0.9


def test_grabcut_keeps_a_person_that_the_frame_cuts(person):
    from alphacut.methods.grabcut import grabcut

    matte = remove_background(person, "grabcut", refine=False)
    assert any("a person found" in note for note in matte.notes)
    assert "neural" in matte.timings and matte.model == "selfie"
    # The astronaut's suit runs into the bottom edge: the automatic box's strip there.
    subject = remove_background(person, "neural", refine=False).mask
    strip = np.zeros_like(subject)
    strip[-round(0.05 * strip.shape[0]) :] = True
    at_edge = strip & subject
    assert at_edge.sum() > 5000
    assert matte.mask[at_edge].mean() > 0.95
    # GrabCut from the automatic box alone loses it: the strip is certain background.
    assert (grabcut(person)[at_edge] >= 0.5).mean() < 0.5


def test_grabcut_without_a_person_is_seeded_inside_the_automatic_box():
    from skimage.data import coffee

    from alphacut.methods.grabcut import grabcut, hints_from_partial_subject

    image = coffee()
    matte = remove_background(image, "grabcut", refine=False)
    assert any("no person found" in note for note in matte.notes)
    assert matte.model == "selfie"
    seeds = remove_background(image, "neural", refine=False).alpha
    seeded = grabcut(image, rect="auto", hints=hints_from_partial_subject(seeds))
    np.testing.assert_array_equal(matte.alpha, seeded)


def test_a_big_photos_seeds_come_from_a_copy_twice_grabcuts_working_size(monkeypatch):
    import cv2
    from skimage.data import coffee

    import alphacut.api as api
    from alphacut.methods.grabcut import MAX_SIDE

    image = cv2.resize(coffee(), (2000, 1500), interpolation=cv2.INTER_LINEAR)
    seen = []
    real = api.grabcut

    def spy(rgb, **options):
        seen.append((rgb.shape[:2], options["hints"].shape))
        return real(rgb, **options)

    monkeypatch.setattr(api, "grabcut", spy)
    matte = remove_background(image, "grabcut", refine=False)
    assert seen == [((1500, 2000), (2 * MAX_SIDE * 3 // 4, 2 * MAX_SIDE))]
    assert matte.alpha.shape == (1500, 2000)
    # The cup is kept whole: the seeds' size changes where they are, not what they hold.
    assert matte.mask[600:1000, 700:1300].mean() > 0.95
    assert matte.mask[:100].mean() < 0.05


def test_grabcut_with_nothing_to_seed_it_runs_from_the_automatic_box_alone():
    from alphacut.methods.grabcut import grabcut

    image = (np.random.default_rng(0).random((300, 400, 3)) * 30 + 100).astype(np.uint8)
    matte = remove_background(image, "grabcut", refine=False)
    assert any("found nothing to start from" in note for note in matte.notes)
    assert matte.model is None  # it ran, but decided nothing
    np.testing.assert_array_equal(matte.alpha, grabcut(image))


def test_grabcut_in_a_box_or_from_strokes_runs_no_model(person):
    hints = np.full(person.shape[:2], 2, np.uint8)
    hints[200:300, 200:300] = 1
    hints[:20] = 0
    for options in ({"rect": (60, 20, 400, 480)}, {"hints": hints}):
        matte = remove_background(person, "grabcut", refine=False, **options)
        assert "neural" not in matte.timings and matte.model is None
        assert not any("person found" in note for note in matte.notes)


@pytest.mark.parametrize("kind", ["float", "grey", "rgba"])
def test_input_layouts(person, kind):
    image = {
        "float": person / 255.0,
        "grey": person.mean(axis=2).astype(np.uint8),
        "rgba": np.dstack([person, np.full(person.shape[:2], 7, np.uint8)]),
    }[kind]
    before = image.copy()
    matte = remove_background(image, "neural", refine=False)
    assert matte.alpha.shape == (512, 512)
    np.testing.assert_array_equal(image, before)


def test_bad_method_and_bad_shape(person):
    with pytest.raises(ValueError, match="unknown method"):
        remove_background(person, "magic")
    with pytest.raises(ValueError, match="shape"):
        remove_background(np.zeros((4, 4, 2)))


def test_refined_matte_has_decontaminated_foreground(person):
    matte = remove_background(person, "neural")
    assert matte.foreground.shape == (512, 512, 3)
    assert "matting" in matte.timings
    edge = (matte.alpha > 0.05) & (matte.alpha < 0.95)
    assert edge.any()
    assert not np.allclose(matte.foreground[edge], person[edge] / 255, atol=1e-3)


def test_refinement_options_switch_refinement_on_for_chroma(green_screen):
    image, _ = green_screen
    plain = remove_background(image, "chroma")
    assert "matting" not in plain.timings
    refined = remove_background(image, "chroma", feather_sigma=2.0)
    assert "matting" in refined.timings
    with pytest.raises(TypeError, match="refine is off"):
        remove_background(image, "chroma", refine=False, feather_sigma=2.0)


def test_matte_rgba_rounds_and_clips_each_channel():
    rng = np.random.default_rng(0)
    foreground = rng.uniform(-0.1, 1.1, (9, 11, 3)).astype(np.float32)
    foreground[0, 0] = [0.5 / 255, 1.5 / 255, 2.5 / 255]  # halves round to even
    alpha = rng.uniform(0, 1, (9, 11)).astype(np.float32)
    matte = Matte(alpha=alpha, foreground=foreground, method="chroma")
    expected = np.clip(np.rint(np.dstack([foreground, alpha]) * 255), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(matte.rgba(), expected)


def test_auto_says_no_person_when_the_detectors_find_none():
    # A cup of coffee: the person model marks part of it; the detectors see no person.
    from skimage.data import coffee

    matte = remove_background(coffee(), refine=False)
    assert matte.method == "grabcut"
    no_person = [note for note in matte.notes if "no person found" in note]
    assert no_person and "alphacut models import isnet-imgly" in no_person[0]


def test_choose_model_order(monkeypatch, tmp_path):
    from alphacut.api import choose_model

    monkeypatch.delenv("ALPHACUT_MODEL")
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("ALPHACUT_CONFIG", str(tmp_path / "config.toml"))
    assert choose_model() == ("selfie", "only the embedded person model selfie is installed")
    assert choose_model("u2netp")[0] == "u2netp"
    (tmp_path / "config.toml").write_text('model = "isnet-imgly-small"\n')
    assert choose_model()[0] == "isnet-imgly-small"
    monkeypatch.setenv("ALPHACUT_MODEL", "selfie-landscape")
    assert choose_model()[0] == "selfie-landscape"
    (tmp_path / "config.toml").write_text("model = [")
    monkeypatch.delenv("ALPHACUT_MODEL")
    with pytest.raises(ValueError, match="config.toml"):
        choose_model()


def test_auto_uses_the_installed_general_model(general_model, monkeypatch):
    from skimage.data import chelsea

    monkeypatch.delenv("ALPHACUT_MODEL")
    cat = chelsea()
    matte = remove_background(cat, refine=False)
    assert matte.method == "neural"
    assert matte.notes == [
        f"neural: {general_model} ran because the general model {general_model} is installed"
    ]
    # The cat's face fills the middle; the room behind it, on the right, is background.
    assert matte.alpha[100:200, 150:300].mean() > 0.9
    assert matte.alpha[100:200, 420:].mean() < 0.1


def test_auto_averages_the_general_model_with_the_person_model_on_a_person(
    general_model, person, monkeypatch
):
    from alphacut.methods.neural import neural
    from alphacut.models import load_model

    monkeypatch.delenv("ALPHACUT_MODEL")
    matte = remove_background(person, refine=False)
    assert matte.method == "neural"
    assert any(
        "a person found" in note and "averaged with the person model selfie" in note
        for note in matte.notes
    )
    general = neural(person, loaded=load_model(general_model, device="cpu"))
    selfie = neural(person, model="selfie", device="cpu")
    np.testing.assert_allclose(matte.alpha, (general + selfie) / 2, atol=1e-6)


def test_general_subjects_get_the_general_subject_refinement(general_model, person, monkeypatch):
    from skimage.data import chelsea

    import alphacut.refine
    from alphacut.api import GENERAL_SUBJECT_REFINEMENT

    monkeypatch.delenv("ALPHACUT_MODEL")
    seen = []
    real_refine = alphacut.refine.refine

    def recording_refine(*args, **kwargs):
        seen.append(kwargs)
        return real_refine(*args, **kwargs)

    monkeypatch.setattr(alphacut.refine, "refine", recording_refine)
    cat = chelsea()[::2, ::2]
    remove_background(cat)  # the general model, no person: doubt, infoflow, no feather
    assert GENERAL_SUBJECT_REFINEMENT.items() <= seen[-1].items()
    remove_background(cat, band=8, solver="closed-form")  # the caller's options win
    assert seen[-1]["solver"] == "closed-form" and seen[-1]["band"] == 8
    remove_background(person)  # a person: averaged with the person model, plain refinement
    assert "doubt_colours" not in seen[-1] and "solver" not in seen[-1]
    remove_background(cat, method="neural", model="selfie")  # the person model: plain
    assert "doubt_colours" not in seen[-1]
    # No person found, so GrabCut cut out the object: its hard mask gets the general
    # refinement, whether auto handed the photo on or GrabCut was asked for.
    matte = remove_background(cat, model="selfie")
    assert matte.method == "grabcut"
    assert GENERAL_SUBJECT_REFINEMENT.items() <= seen[-1].items()
    remove_background(cat, method="grabcut")
    assert GENERAL_SUBJECT_REFINEMENT.items() <= seen[-1].items()
    remove_background(person, method="grabcut")  # a person: plain refinement
    assert "doubt_colours" not in seen[-1]


def test_a_box_runs_the_model_on_the_box_only(person):
    box = (100, 20, 300, 300)
    matte = remove_background(person, method="neural", rect=box, refine=False)
    outside = np.ones(matte.alpha.shape, bool)
    outside[20:320, 100:400] = False
    assert matte.alpha[outside].max() == 0.0
    # Inside the box the subject is the one found without a box.
    whole = remove_background(person, method="neural", refine=False).mask[20:320, 100:400]
    boxed = matte.mask[20:320, 100:400]
    assert (whole & boxed).sum() / (whole | boxed).sum() > 0.85


@pytest.mark.parametrize(
    "colour", [(255, 255, 255), (0, 0, 0), (255, 0, 0), (0, 200, 40), (30, 60, 200), (140, 120, 90)]
)
def test_every_method_returns_promptly_on_a_uniform_photo(colour):
    # A correctness bound, not a benchmark: before the fix `auto` fell back to GrabCut and
    # OpenCV ran for minutes on a blank photo. Each call takes well under a second.
    image = np.empty((480, 640, 3), np.uint8)
    image[:] = colour
    for method in ("auto", "neural", "chroma", "grabcut"):
        start = time.perf_counter()
        try:
            matte = remove_background(image, method)
        except ValueError as error:
            # Chroma keying with no backdrop colour to find is a clear, prompt error.
            assert method == "chroma" and "no uniform backdrop colour" in str(error)
        else:
            assert not matte.mask.any(), f"{method} found a subject on a blank photo"
            assert np.isfinite(matte.alpha).all() and np.isfinite(matte.foreground).all()
        seconds = time.perf_counter() - start
        assert seconds < 10.0, f"{method} took {seconds:.1f} s on a uniform {colour} photo"


def test_a_float_photo_holding_0_to_255_is_read_as_such(person):
    # The defect: float 0..255 was clipped to 0..1, and the photo turned white.
    expected = remove_background(person, "neural", refine=False)
    matte = remove_background(person.astype(np.float64), "neural", refine=False)
    np.testing.assert_allclose(matte.alpha, expected.alpha, atol=1e-3)
    np.testing.assert_allclose(matte.foreground, person / 255, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_pixels_are_refused(person, bad):
    image = person / 255.0
    image[10, 10, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        remove_background(image, "neural", refine=False)


def test_auto_does_not_key_a_photo_in_a_green_frame(person):
    framed = person.copy()
    for edge in (np.s_[:25], np.s_[-25:], np.s_[:, :25], np.s_[:, -25:]):
        framed[edge] = (20, 200, 40)
    matte = remove_background(framed, refine=False)
    assert matte.method != "chroma"
    assert matte.mask[200:400, 200:300].mean() > 0.5, "the person is the subject"
