import time

import numpy as np
import pytest

from alphacut.methods.chroma import chroma, estimate_key_color, keyed_foreground, suppress_spill


def test_key_colour_found_on_a_green_border(green_screen):
    image, _ = green_screen
    key = estimate_key_color(image)
    assert key is not None
    assert key[1] > key[0] + 0.3 and key[1] > key[2] + 0.3


def test_no_key_colour_on_an_ordinary_photo(person):
    assert estimate_key_color(person) is None


def test_alpha_is_soft_and_close_to_the_truth(green_screen):
    image, truth = green_screen
    alpha = chroma(image)
    assert alpha.dtype == np.float32 and alpha.shape == truth.shape
    assert alpha.min() == 0 and alpha.max() == 1
    edge = (truth > 0.1) & (truth < 0.9)
    assert np.mean((alpha[edge] > 0.02) & (alpha[edge] < 0.98)) > 0.5  # soft, not binary
    assert np.abs(alpha - truth).mean() < 0.02


def test_explicit_key_colour_and_blue_screen():
    image = np.zeros((40, 40, 3), np.uint8)
    image[...] = (20, 40, 200)
    image[10:30, 10:30] = (200, 180, 40)
    alpha = chroma(image, key_color=(20, 40, 200))
    assert alpha[20, 20] == 1 and alpha[2, 2] == 0


def test_missing_screen_is_a_clear_error(person):
    with pytest.raises(ValueError, match="no uniform backdrop colour .* pass key_color"):
        chroma(person)


def test_despill_caps_the_key_channel_only_where_it_dominates():
    pixels = np.array([[[0.3, 0.8, 0.5], [0.9, 0.2, 0.1]]], np.float32)
    result = suppress_spill(pixels, (0.1, 0.9, 0.1))
    np.testing.assert_allclose(result[0, 0], [0.3, 0.5, 0.5])
    np.testing.assert_allclose(result[0, 1], [0.9, 0.2, 0.1])


def test_keyed_foreground_removes_the_green_fringe(green_screen):
    image, truth = green_screen
    alpha = chroma(image)
    foreground = keyed_foreground(image, alpha)
    edge = (alpha > 0.1) & (alpha < 0.9)
    photo = image.astype(np.float32) / 255
    spill_before = (photo[..., 1] - np.maximum(photo[..., 0], photo[..., 2]))[edge].mean()
    spill_after = (foreground[..., 1] - np.maximum(foreground[..., 0], foreground[..., 2]))[
        edge
    ].mean()
    assert spill_before > 0.05
    assert spill_after <= 0.0 + 1e-6
    # The subject's own colour comes back where it was mixed with the screen.
    np.testing.assert_allclose(foreground[edge].mean(axis=0), [0.8, 0.55, 0.45], atol=0.08)


def test_known_background_refinement_recovers_a_dark_semi_transparent_ramp():
    # A dark subject fading into the screen over 40 px: the chroma plane barely tells dark
    # from a shadowed screen, the RGB unmixing against the known screen colour does.
    rng = np.random.default_rng(2)
    height, width = 120, 160
    yy, xx = np.mgrid[:height, :width]
    truth = np.clip((xx - 40) / 40, 0, 1).astype(np.float32)
    truth[:, 120:] = 0
    truth[20:100, 120:140] = 1
    light = 0.85 + 0.15 * (xx / width)
    screen = np.stack([0.15 * light, 0.7 * light, 0.25 * light], axis=-1)
    image = truth[..., None] * 0.1 + (1 - truth[..., None]) * screen
    image = image + rng.normal(0, 0.01, image.shape)
    image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    plain = chroma(image, matting_iterations=0)
    refined = chroma(image)
    assert np.abs(refined - truth).mean() < 0.8 * np.abs(plain - truth).mean()
    assert refined[60, 130] == 1 and refined[60, 10] == 0 and refined[5, 150] == 0


# --- automatic detection: the key colour must be the photo's background -------------------


def _framed(image: np.ndarray, width: int, colour) -> np.ndarray:
    framed = image.copy()
    framed[:width], framed[-width:] = colour, colour
    framed[:, :width], framed[:, -width:] = colour, colour
    return framed


@pytest.mark.parametrize("colour", [(20, 200, 40), (20, 60, 220)])
@pytest.mark.parametrize("width", [10, 25, 60, 150])
def test_a_coloured_frame_around_a_photo_is_no_screen(person, colour, width):
    # The defect: a 25 px green border around a photo of a person was keyed, and only the
    # frame was removed. 150 px is a frame wider than a quarter of the photo's side.
    assert estimate_key_color(_framed(person, width, colour)) is None


def test_screens_are_still_found_when_the_subject_touches_the_border(green_screen):
    image, _ = green_screen
    assert estimate_key_color(image) is not None
    # Cropped through the subject at the bottom, the way a half-length shot is framed.
    assert estimate_key_color(image[:85]) is not None
    # Uniform screen colour with no subject: an empty screen is a screen.
    assert estimate_key_color(np.tile(np.array([30, 180, 60], np.uint8), (48, 64, 1))) is not None


def test_a_screen_with_a_frame_painted_on_is_still_a_screen(green_screen):
    # The inside holds screen colour too, so it is a screen shot, not a framed picture.
    image, _ = green_screen
    assert estimate_key_color(_framed(image, 6, (30, 190, 50))) is not None


def test_key_detection_reads_float_photos_in_any_range(green_screen):
    image, _ = green_screen
    expected = estimate_key_color(image)
    for scaled in (image / 255.0, image.astype(np.float32), image.astype(np.float64) * 257):
        np.testing.assert_allclose(estimate_key_color(scaled), expected, atol=1e-3)
    # A dark 0..255 float border is dark, not a bright 0..1 green.
    dark = np.zeros((60, 80, 3), np.float32)
    dark[..., 1] = 0.8  # 0.8 of 255: black with a hint of green
    dark[20:40, 30:50] = 200.0
    assert estimate_key_color(dark) is None


def test_keying_a_picture_on_a_screen_colour_when_asked(person):
    # A photo pasted onto green is no screen shot for auto-detection, but asking for
    # chroma keying keys the border's colour as before.
    pasted = np.empty((600, 600, 3), np.uint8)
    pasted[:] = (20, 180, 60)
    pasted[88:, 44:556] = person
    assert estimate_key_color(pasted, min_coverage=0.5) is None
    alpha = chroma(pasted)
    assert alpha[20:80].max() == 0 and alpha[300, 300] == 1


@pytest.mark.parametrize(
    "colour", [(0, 255, 0), (30, 60, 200), (255, 255, 255), (0, 0, 0), (255, 0, 0)]
)
def test_uniform_photos_key_promptly(colour):
    image = np.empty((480, 640, 3), np.uint8)
    image[:] = colour
    start = time.perf_counter()
    # Asked to key, chroma takes any one backdrop colour, so an empty photo keys out
    # entirely; auto's detection takes green and blue screens only.
    assert chroma(image).max() == 0.0
    assert (estimate_key_color(image) is None) == (
        colour in [(255, 255, 255), (0, 0, 0), (255, 0, 0)]
    )
    # With another key given, nothing is screen.
    if colour != (0, 255, 0):
        assert chroma(image, key_color=(0, 255, 0)).min() == 1.0
    assert time.perf_counter() - start < 10.0


def _subject_on(backdrop: tuple[float, float, float], subject: tuple[float, float, float]):
    """A noisy plain backdrop (sensor noise of 2 levels) with an oval subject, and its mask."""
    rng = np.random.default_rng(0)
    image = np.empty((200, 260, 3), np.float32)
    image[:] = backdrop
    image += rng.normal(0, 2 / 255, image.shape)
    rows, cols = np.mgrid[:200, :260]
    mask = (rows - 100) ** 2 / 60**2 + (cols - 130) ** 2 / 70**2 < 1
    image[mask] = subject
    image[mask] += rng.normal(0, 0.02, (mask.sum(), 3))
    return np.clip(image, 0, 1), mask


@pytest.mark.parametrize(
    ("backdrop", "subject"),
    [
        ((0.0, 0.72, 0.78), (0.8, 0.4, 0.3)),  # a cyan studio wall
        ((0.5, 0.5, 0.5), (0.8, 0.3, 0.2)),  # grey
        ((0.95, 0.95, 0.95), (0.2, 0.3, 0.6)),  # white
        ((0.6, 0.6, 0.6), (0.15, 0.15, 0.15)),  # grey behind a dark grey subject
    ],
)
@pytest.mark.parametrize("given", [True, False])
def test_any_plain_backdrop_keys_out(backdrop, subject, given):
    # Issue 15: chroma took green and blue only, and a grey key's tolerance (in units of
    # its saturation, which grey lacks) left the noisy backdrop at alpha 0.77.
    image, mask = _subject_on(backdrop, subject)
    alpha = chroma(image, key_color=backdrop if given else None)
    solid = np.zeros_like(mask)
    solid[70:130, 90:170] = True
    assert alpha[solid].min() > 0.95
    far = np.ones_like(mask)
    far[30:170, 50:210] = False
    # A few pixels of the noisiest grey stay faintly above 0 (at most 0.07).
    assert alpha[far].mean() < 0.002 and np.mean(alpha[far] > 0.05) < 0.001
