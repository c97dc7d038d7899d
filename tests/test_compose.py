import numpy as np
import pytest

from alphacut.compose import composite, cutout, mask_image, parse_color


def test_parse_color():
    assert parse_color("white") == (255, 255, 255)
    assert parse_color("#0f0") == (0, 255, 0)
    assert parse_color(" 1, 2 ,3") == (1, 2, 3)
    with pytest.raises(ValueError):
        parse_color("1,2,300")


def test_composite_on_colour_and_image():
    fg = np.ones((4, 6, 3), np.float32)
    alpha = np.zeros((4, 6), np.float32)
    alpha[:, 3:] = 1
    on_red = composite(fg, alpha, (255, 0, 0))
    assert tuple(on_red[0, 0]) == (255, 0, 0) and tuple(on_red[0, 5]) == (255, 255, 255)
    backdrop = np.zeros((10, 30, 3), np.uint8)
    backdrop[..., 2] = 255
    on_image = composite(fg, alpha, backdrop)
    assert on_image.shape == (4, 6, 3) and tuple(on_image[0, 0]) == (0, 0, 255)


def test_cutout_and_mask():
    fg = np.full((2, 2, 3), 0.5, np.float32)
    alpha = np.array([[0, 0.5], [1, 1]], np.float32)
    rgba = cutout(fg, alpha)
    assert rgba.dtype == np.uint8 and rgba[..., 3].tolist() == [[0, 128], [255, 255]]
    assert mask_image(alpha).tolist() == [[0, 128], [255, 255]]
