import numpy as np
import pytest

from alphacut.methods.chroma import chroma, despill, estimate_key_color, keyed_foreground


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
    with pytest.raises(ValueError, match="no green or blue screen"):
        chroma(person)


def test_despill_caps_the_key_channel_only_where_it_dominates():
    pixels = np.array([[[0.3, 0.8, 0.5], [0.9, 0.2, 0.1]]], np.float32)
    result = despill(pixels, (0.1, 0.9, 0.1))
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
    plain = chroma(image, refine=0)
    refined = chroma(image)
    assert np.abs(refined - truth).mean() < 0.8 * np.abs(plain - truth).mean()
    assert refined[60, 130] == 1 and refined[60, 10] == 0 and refined[5, 150] == 0
