import numpy as np
import pytest

from alphacut.methods.grabcut import (
    auto_rect,
    grabcut,
    hints_from_alpha,
    hints_from_partial_subject,
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
