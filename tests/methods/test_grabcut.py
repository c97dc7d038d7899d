import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphacut import remove_background
from alphacut._internal.imageops import to_uint8
from alphacut.methods.grabcut import (
    BACKGROUND,
    FOREGROUND,
    PROBABLE_BACKGROUND,
    PROBABLE_FOREGROUND,
    _cut_in_halves,
    _dither_flat_colours,
    _grey_with_context,
    _has_both_sides,
    _resize_hints,
    _run_checked,
    _settle_strip,
    auto_rect,
    checking,
    grabcut,
    hints_from_alpha,
    hints_from_partial_subject,
    hints_from_sure_alpha,
)


@pytest.fixture()
def square_on_noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = (rng.random((120, 120, 3)) * 60 + 40).astype(np.uint8)
    image[30:90, 40:100] = (210, 60, 50)
    return image


def test_auto_rect_is_inset():
    assert auto_rect((100, 200), inset=0.05) == (10, 5, 180, 90)


def test_rectangle_finds_the_object_with_a_soft_edge(square_on_noise):
    alpha = grabcut(square_on_noise, rect=(20, 20, 95, 80))
    truth = np.zeros(alpha.shape, bool)
    truth[30:90, 40:100] = True
    iou = np.logical_and(alpha >= 0.5, truth).sum() / np.logical_or(alpha >= 0.5, truth).sum()
    assert iou > 0.95
    soft = (alpha > 0.02) & (alpha < 0.98)
    assert soft.any(), "the edge must be a soft band, not stair-steps"
    assert soft.mean() < 0.1  # ...a narrow one


def test_automatic_rectangle(square_on_noise):
    alpha = grabcut(square_on_noise)
    assert alpha[60, 70] > 0.9 and alpha[5, 5] < 0.1


def test_hints_alone_drive_grabcut(square_on_noise):
    hints = np.full((120, 120), 2, np.uint8)  # probable background
    hints[50:70, 60:80] = 1  # a definite-foreground stroke inside the square
    hints[:10] = 0
    alpha = grabcut(square_on_noise, hints=hints)
    assert alpha[40, 50] > 0.9 and alpha[110, 10] < 0.1


def test_hints_from_another_method(square_on_noise):
    coarse = np.zeros((120, 120), np.float32)
    coarse[35:85, 45:95] = 1  # a rough guess, smaller than the object
    alpha = grabcut(square_on_noise, hints=hints_from_alpha(coarse))
    assert alpha[32, 42] > 0.5  # GrabCut grew the guess to the object's real edge


def test_deterministic(person):
    np.testing.assert_array_equal(grabcut(person), grabcut(person))


def test_hints_without_background_are_rejected(square_on_noise):
    with pytest.raises(ValueError, match="background"):
        grabcut(square_on_noise, hints=np.full(square_on_noise.shape[:2], 1, np.uint8))


def test_a_box_as_large_as_the_photo_keeps_a_subject_that_fills_it():
    image = np.zeros((60, 80, 3), np.uint8)
    image[5:55, 5:75] = (200, 60, 40)
    alpha = grabcut(image, rect=(0, 0, 80, 60))
    assert alpha[10:50, 10:70].mean() > 0.9
    assert alpha[:3, :].mean() < 0.5


def test_partial_subject_hints_find_what_the_model_missed():
    # A red figure with a blue "hat": the stand-in model saw only the body, the way the
    # person model sees a troll's body but not its hair.
    rng = np.random.default_rng(3)
    image = (rng.random((160, 160, 3)) * 40 + 100).astype(np.uint8)
    image[60:140, 50:110] = (200, 40, 40)
    image[30:60, 55:105] = (40, 60, 210)
    partial = np.zeros((160, 160), np.float32)
    partial[65:140, 55:105] = 1.0
    hints = hints_from_partial_subject(partial)
    assert hints[100, 80] == 1  # the sure core is definite foreground
    assert hints[40, 80] == 3  # the missed hat is left for GrabCut to decide
    alpha = grabcut(image, rect=auto_rect(image.shape), hints=hints)
    assert alpha[45, 80] > 0.9, "GrabCut must recover the part the model missed"
    assert alpha[100, 80] > 0.9 and alpha[100, 20] < 0.1 and alpha[150, 150] < 0.1


def test_partial_subject_hints_keep_nearby_background_probable():
    partial = np.zeros((200, 200), np.float32)
    partial[80:120, 80:120] = 1.0
    hints = hints_from_partial_subject(partial, reach=0.05)
    assert hints[75, 100] == 2  # rejected and within reach: probable background
    assert hints[20, 100] == 3  # rejected but far: GrabCut decides
    assert not (hints == 0).any(), "the hints never make definite background"


def test_sure_alpha_hints_keep_only_the_sure_interior_definite():
    alpha = np.zeros((600, 600), np.float32)
    alpha[150:450, 150:450] = 1.0
    alpha[150:450, 420:450] = 0.7  # an unsure strip on the right edge
    hints = hints_from_sure_alpha(alpha)  # erodes by 1 % of 600: 3 pixels each way
    assert hints[300, 300] == 1 and hints[10, 10] == 0
    assert hints[300, 435] == 3, "unsure but above 0.5: probable foreground"
    assert hints[300, 418] == 3, "the sure region is eroded away from the unsure strip"
    assert hints[300, 451] == 2, "next to the edge: only probably background"
    assert hints[300, 460] == 0


# --- flat and degenerate input: bounded time, a documented answer -------------------------

# Generous: each of these returns in well under a second; before the fix OpenCV's
# max-flow ran for minutes on the uniform ones.
SECONDS = 10.0

COLOURS = [(255, 255, 255), (0, 0, 0), (255, 0, 0), (0, 200, 40), (37, 37, 37), (200, 30, 90)]


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


@pytest.mark.parametrize("colour", COLOURS)
def test_uniform_photo_returns_promptly_with_no_subject(colour):
    image = np.empty((480, 640, 3), np.uint8)
    image[:] = colour
    alpha, seconds = _timed(grabcut, image)
    assert seconds < SECONDS, f"GrabCut took {seconds:.1f} s on a uniform {colour} photo"
    assert alpha.shape == (480, 640) and alpha.dtype == np.float32
    assert alpha.max() == 0.0, "a blank photo has no subject"


def test_uniform_float_photo_and_a_box_give_no_subject_either():
    image = np.full((480, 640, 3), 0.7, np.float32)
    alpha, seconds = _timed(grabcut, image, rect=(100, 100, 300, 200))
    assert seconds < SECONDS and alpha.max() == 0.0


@pytest.mark.parametrize("kind", ["stray pixels", "one-level noise", "two flat halves"])
def test_nearly_flat_photos_return_promptly(kind):
    rng = np.random.default_rng(5)
    image = np.full((480, 640, 3), 255, np.uint8)
    if kind == "stray pixels":  # 1 pixel in 1000 one level off: hung before the fix
        image[rng.random((480, 640)) < 0.001] = (254, 255, 255)
    elif kind == "one-level noise":
        image = (image - rng.integers(0, 2, image.shape)).astype(np.uint8)
    else:  # not flat as a whole, but both regions hold the same two flat colours
        image[:, 320:] = 0
    alpha, seconds = _timed(grabcut, image)
    assert seconds < SECONDS, f"GrabCut took {seconds:.1f} s on {kind}"
    if kind != "two flat halves":
        assert alpha.max() == 0.0


def test_definite_foreground_hints_are_the_answer_on_a_uniform_photo():
    image = np.full((120, 160, 3), 90, np.uint8)
    hints = np.full((120, 160), 2, np.uint8)
    hints[40:80, 60:100] = 1
    hints[:5] = 0
    alpha = grabcut(image, hints=hints)
    assert alpha[50:70, 70:90].min() == 1.0
    assert alpha[:30].max() == 0.0 and alpha[100:].max() == 0.0


def test_a_box_exactly_around_a_flat_shape_keeps_the_box():
    # Each side flat, in different colours: the box is the answer, without OpenCV.
    image = np.full((120, 160, 3), 255, np.uint8)
    image[30:90, 40:120] = (20, 40, 200)
    alpha = grabcut(image, rect=(40, 30, 80, 60))
    assert alpha[35:85, 45:115].min() > 0.99
    assert alpha[:20].max() < 0.01 and alpha[:, :30].max() < 0.01


@pytest.mark.parametrize("shape", [(1, 200), (200, 1), (2, 300), (1, 1), (2, 2), (3, 3)])
@pytest.mark.parametrize("content", ["flat", "random"])
def test_strips_and_tiny_photos_give_an_alpha(shape, content):
    rng = np.random.default_rng(6)
    image = (
        rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        if content == "random"
        else np.full((*shape, 3), (255, 0, 0), np.uint8)
    )
    alpha, seconds = _timed(grabcut, image)
    assert seconds < SECONDS
    assert alpha.shape == shape and np.isfinite(alpha).all()
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    if content == "flat":
        assert alpha.max() == 0.0


def test_auto_rect_spans_sides_too_short_for_a_border():
    assert auto_rect((1, 200)) == (10, 0, 180, 1)
    assert auto_rect((200, 2)) == (0, 10, 2, 180)


def test_the_time_limit_stops_after_the_first_iteration(square_on_noise):
    once = grabcut(square_on_noise, rect=(20, 20, 95, 80), iterations=1)
    limited = grabcut(square_on_noise, rect=(20, 20, 95, 80), iterations=5, time_limit=0.0)
    np.testing.assert_array_equal(once, limited)


def test_only_crowded_colours_are_dithered():
    rng = np.random.default_rng(7)
    textured = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_dither_flat_colours(textured, 0), textured)
    backdrop = textured.copy()
    backdrop[:, :40] = (255, 255, 255)
    dithered = _dither_flat_colours(backdrop, 0)
    np.testing.assert_array_equal(dithered[:, 40:], backdrop[:, 40:])
    flat = dithered[:, :40].reshape(-1, 3).astype(int)
    assert flat.std(axis=0).min() > 0.2, "the flat area must get a spread"
    assert np.abs(flat - 255).max() <= 3, "...of a level or two, not a new colour"
    np.testing.assert_array_equal(dithered, _dither_flat_colours(backdrop, 0))  # seeded


# --- speed and cancelling ------------------------------------------------------------------

MATTING = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "matting"


class Cancel(Exception):
    pass


def _upscaled(image: np.ndarray, megapixels: float) -> np.ndarray:
    scale = (megapixels * 1e6 / (image.shape[0] * image.shape[1])) ** 0.5
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _helpers_alive() -> int:
    return sum(t.name == "alphacut-grabcut" and t.is_alive() for t in threading.enumerate())


def test_a_check_that_never_fires_changes_nothing(person):
    # The work then runs in a helper thread, which must seed OpenCV's per-thread RNG itself.
    np.testing.assert_array_equal(grabcut(person, check=lambda: None), grabcut(person))


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.25])
def test_a_cancel_reaches_the_caller_within_half_a_second_at_12_mp(person, delay):
    image = _upscaled(person, 12)
    deadline = time.perf_counter() + delay

    def check() -> None:
        if time.perf_counter() >= deadline:
            raise Cancel

    with pytest.raises(Cancel):
        grabcut(image, check=check)
    latency = time.perf_counter() - deadline
    assert latency < 0.5, f"the cancel took {latency:.2f} s to arrive"
    # The abandoned helper stops at its next step rather than finishing the photo.
    limit = time.perf_counter() + SECONDS
    while _helpers_alive() and time.perf_counter() < limit:
        time.sleep(0.01)
    assert not _helpers_alive()


def test_a_cancel_does_not_wait_for_a_long_step():
    # One OpenCV call (a max-flow, a full-resolution filter) cannot be interrupted: the
    # caller stops waiting for it instead.
    asked = time.perf_counter() + 0.1

    def check() -> None:
        if time.perf_counter() >= asked:
            raise Cancel

    start = time.perf_counter()
    with pytest.raises(Cancel):
        _run_checked(check, lambda stop: time.sleep(3))
    assert time.perf_counter() - start < 0.5


def test_errors_and_results_come_back_through_the_helper():
    assert _run_checked(lambda: None, lambda stop: 42) == 42
    with pytest.raises(ValueError, match="background"):
        grabcut(
            np.zeros((40, 40, 3), np.uint8), hints=np.ones((40, 40), np.uint8), check=lambda: None
        )


def test_checking_reaches_grabcut_inside_remove_background(person):
    def cancel() -> None:
        raise Cancel

    with checking(cancel), pytest.raises(Cancel):
        remove_background(person, "grabcut", refine=False)
    # Outside the context no check is left behind.
    assert remove_background(person, "grabcut", refine=False).alpha.shape == person.shape[:2]


@pytest.mark.parametrize("megapixels", [1, 12])
@pytest.mark.parametrize("colour", ["RGB", "grey"])
def test_large_and_grey_photos_take_bounded_time(person, megapixels, colour):
    # 1 MP took 2 s and its grey version 10 s (the time limit) when GrabCut ran all its
    # iterations at 640 pixels; the goal is 1 s at 1 MP. Generous here: CI
    # machines are shared.
    image = _upscaled(person, megapixels)
    if colour == "grey":
        image = _grey(image)
    alpha, seconds = _timed(grabcut, image)
    assert seconds < SECONDS / 2, f"{seconds:.1f} s at {megapixels} MP {colour}"
    assert alpha.shape == image.shape[:2] and 0 <= alpha.min() <= alpha.max() <= 1
    if colour == "RGB":  # (grey, her white suit is the white of the background)
        assert alpha[round(0.7 * image.shape[0]), round(0.3 * image.shape[1])] > 0.5


def test_thin_definite_strokes_survive_the_working_resolution():
    hints = np.full((3000, 4000), PROBABLE_BACKGROUND, np.uint8)
    hints[1000:2000, 2001:2004] = FOREGROUND  # a 3-pixel line: under a working pixel wide
    hints[500, :] = BACKGROUND
    small = _resize_hints(hints, (240, 320))
    assert (small == FOREGROUND).any(axis=1)[81:160].all(), "the stroke must stay unbroken"
    assert (small == BACKGROUND).any(axis=0).all()
    assert (small == FOREGROUND).sum() < 100 and (small == BACKGROUND).sum() < 400
    np.testing.assert_array_equal(_resize_hints(hints, hints.shape), hints)


def test_real_photos_keep_their_quality():
    # Guards the working sizes: on the 12 alphamatting photos GrabCut from the automatic
    # box scored mean IoU 0.693 solved at 640 pixels, 0.680 at 320 alone, and 0.727
    # settled at 320 then polished at 640 (the default).
    if not (MATTING / "image").is_dir():
        pytest.skip(f"shared matting photos not found at {MATTING}")
    scores = []
    for path in sorted((MATTING / "image").glob("*.png")):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        truth = cv2.imread(str(MATTING / "alpha" / path.name), cv2.IMREAD_GRAYSCALE) >= 128
        found = grabcut(image) >= 0.5
        scores.append((found & truth).sum() / (found | truth).sum())
    assert np.mean(scores) > 0.69


def test_grey_photos_get_neighbourhood_channels():
    rng = np.random.default_rng(8)
    colour = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert _grey_with_context(colour) is colour
    grey = np.repeat(rng.integers(0, 256, (60, 80, 1), dtype=np.uint8), 3, axis=2)
    channels = _grey_with_context(grey)
    np.testing.assert_array_equal(channels[..., 0], grey[..., 0])
    spread = [channels[..., c].astype(float).std() for c in range(3)]
    assert spread[0] > spread[1] > spread[2], "the wider neighbourhood is the smoother"


def test_the_last_iteration_runs_on_the_larger_copy(person):
    # Settled at 320 then one iteration at 640 (the default) differs from either alone.
    image = _upscaled(person, 1)
    both = grabcut(image) >= 0.5
    small = grabcut(image, max_side=320) >= 0.5
    assert grabcut(image, solve_side=640).shape == both.shape
    assert not np.array_equal(both, small)


def test_grabcut_leaves_the_callers_opencv_random_generator_alone():
    # Issue 14: the seeding was a global side effect on the calling thread's generator.
    image = np.zeros((80, 80, 3), np.uint8)
    image[20:60, 20:60] = (200, 50, 50)

    def draw() -> np.ndarray:
        values = np.zeros(8, np.float32)
        cv2.randu(values, 0.0, 1.0)
        return values

    cv2.setRNGSeed(123)
    undisturbed = draw()
    cv2.setRNGSeed(123)
    grabcut(image, rect=(10, 10, 60, 60), seed=7)
    assert np.array_equal(draw(), undisturbed)


def _pot_on_a_wall(gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A red subject on a noisy blue-grey wall, ``gap`` pixels above the bottom edge (0:
    standing on it), and its mask."""
    rng = np.random.default_rng(0)
    height, width = 240, 320
    image = np.empty((height, width, 3), np.float32)
    image[:] = np.linspace(0.55, 0.75, width)[None, :, None] * np.array([0.4, 0.6, 1.0])
    image += rng.normal(0, 0.02, image.shape)
    rows, cols = np.mgrid[:height, :width]
    head = (cols - 160) ** 2 / 60**2 + (rows - 110) ** 2 / 70**2 < 1
    subject = head | ((np.abs(cols - 160) < 45) & (rows > 120) & (rows < height - gap))
    image[subject] = np.array([0.8, 0.35, 0.2]) + rng.normal(0, 0.03, (subject.sum(), 3))
    return np.clip(image, 0, 1), subject


def test_automatic_box_keeps_a_subject_that_runs_into_the_border():
    # Issue 15: the strip outside the automatic box was certain background, which cut
    # off the bottom 5 % of a pot or of a person cut by the frame.
    image, subject = _pot_on_a_wall()
    alpha = grabcut(image)
    strip = np.s_[-12:]
    assert (alpha[strip][subject[strip]] >= 0.5).all()
    assert (alpha[~subject] < 0.5).mean() > 0.995  # the wall's strip stays background


def test_automatic_box_still_frames_a_subject_clear_of_the_border():
    image, subject = _pot_on_a_wall(gap=40)
    alpha = grabcut(image)
    assert (alpha[-12:] < 0.5).all()
    iou = ((alpha >= 0.5) & subject).sum() / ((alpha >= 0.5) | subject).sum()
    assert iou > 0.9


def test_a_cut_in_halves_is_the_cut_of_the_whole():
    # Two objects, one across the seam: with the mixtures fixed, the halves solved side by
    # side give the labels of one graph cut over the whole photo.
    rng = np.random.default_rng(5)
    image = (rng.random((300, 200, 3)) * 60 + 40).astype(np.uint8)
    image[120:190, 50:150] = (210, 60, 50)
    image[20:60, 30:80] = (60, 200, 90)
    labels = np.full(image.shape[:2], PROBABLE_FOREGROUND, np.uint8)
    labels[:10], labels[-10:], labels[:, :10], labels[:, -10:] = BACKGROUND, 0, 0, 0
    labels[140:170, 80:120] = FOREGROUND
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    cv2.grabCut(image, labels, None, bgd, fgd, 0, cv2.GC_INIT_WITH_MASK)
    whole = labels.copy()
    cv2.grabCut(image, whole, None, bgd.copy(), fgd.copy(), 1, cv2.GC_EVAL_FREEZE_MODEL)
    _cut_in_halves(image, labels, bgd, fgd)
    np.testing.assert_array_equal(labels, whole)
    found = (labels == FOREGROUND) | (labels == PROBABLE_FOREGROUND)
    assert found[120:190, 50:150].mean() > 0.95 and found[20:60, 30:80].mean() > 0.95
    assert found[200:290, 20:180].mean() < 0.05


def test_both_sides_must_be_left_to_refit_the_mixtures():
    labels = np.full((4, 4), PROBABLE_BACKGROUND, np.uint8)
    assert not _has_both_sides(labels)  # k-means would have no foreground to fit
    labels[0, 0] = PROBABLE_FOREGROUND
    assert _has_both_sides(labels)
    labels[:] = FOREGROUND
    assert not _has_both_sides(labels)


def _seeds_from_the_head(subject: np.ndarray) -> np.ndarray:
    # A person model shown the pot: sure of its round top only, blind to the rest.
    rows = np.arange(subject.shape[0])[:, None]
    return hints_from_partial_subject((subject & (rows < 140)).astype(np.float32))


def test_seeded_automatic_box_decides_the_strip_the_subject_runs_into():
    # Issue 15: from a model's seeds in the automatic box, the strip was certain
    # background; now the colours along that side decide it.
    image, subject = _pot_on_a_wall()
    seeds = _seeds_from_the_head(subject)
    strip = np.s_[-12:]
    closed = grabcut(image, rect=auto_rect(image.shape), hints=seeds)
    assert (closed[strip][subject[strip]] < 0.5).all()  # what the fix is for
    alpha = grabcut(image, rect="auto", hints=seeds)
    assert (alpha[strip][subject[strip]] >= 0.5).mean() > 0.98
    assert (alpha[strip][~subject[strip]] < 0.5).mean() > 0.99  # the wall's strip stays
    iou = ((alpha >= 0.5) & subject).sum() / ((alpha >= 0.5) | subject).sum()
    assert iou > 0.95


def test_settling_the_strip_reopens_the_edge_of_the_box_it_pulled_away():
    # The strip, certain background while GrabCut solved, also pulls away the subject
    # beside it inside the box (GT21's flowers along the right side): the side's own cut
    # gives back that edge as well as the strip, and takes no wall there.
    image, subject = _pot_on_a_wall()
    seen = np.ascontiguousarray(to_uint8(image)[..., ::-1])
    box = auto_rect(image.shape)
    x, y, w, h = box
    strip_width = image.shape[0] - (y + h)
    pulled = np.s_[y + h - strip_width : y + h]  # the rows beside the strip
    answer = subject.copy()
    answer[pulled] = False
    answer[y + h :] = False
    settled = _settle_strip(seen, answer.astype(np.float32), box, seed=0) >= 0.5
    assert (settled[pulled][subject[pulled]]).mean() > 0.98
    assert (settled[y + h :][subject[y + h :]]).mean() > 0.98
    assert not (settled & ~subject)[y + h - strip_width :].any()
    assert (settled[: y + h - strip_width] == answer[: y + h - strip_width]).all()


def test_seeded_automatic_box_frames_a_subject_clear_of_the_border():
    image, subject = _pot_on_a_wall(gap=40)
    alpha = grabcut(image, rect="auto", hints=_seeds_from_the_head(subject))
    assert (alpha[-12:] < 0.5).all()
    iou = ((alpha >= 0.5) & subject).sum() / ((alpha >= 0.5) | subject).sum()
    assert iou > 0.9


def test_rect_is_a_box_or_auto(square_on_noise):
    with pytest.raises(ValueError, match="rect must be"):
        grabcut(square_on_noise, rect="full")


@pytest.mark.parametrize("backdrop", ["flat", "one-level noise"])
def test_seeded_automatic_box_on_flat_colours_returns_promptly(backdrop):
    # The strip's own GrabCut meets the flat colours that stall OpenCV's max-flow: a flat
    # red block on a white wall, standing on the bottom edge.
    rng = np.random.default_rng(9)
    image = np.full((480, 640, 3), 255, np.uint8)
    if backdrop == "one-level noise":
        image = (image - rng.integers(0, 2, image.shape)).astype(np.uint8)
    image[200:, 250:400] = (200, 30, 30)
    hints = np.full((480, 640), PROBABLE_FOREGROUND, np.uint8)
    hints[250:400, 280:370] = FOREGROUND
    alpha, seconds = _timed(grabcut, image, rect="auto", hints=hints)
    assert seconds < SECONDS, f"GrabCut took {seconds:.1f} s on a {backdrop} wall"
    assert alpha[-20:, 260:390].min() > 0.5  # the block's foot in the strip is kept
    assert alpha[-20:, :200].max() < 0.5 and alpha[:150].max() < 0.5
