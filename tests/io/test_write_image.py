import warnings

import numpy as np
import pytest
from PIL import Image

from alphacut.io import ImageWriteError, write_image


@pytest.fixture()
def rgba() -> np.ndarray:
    array = np.zeros((10, 12, 4), np.uint8)
    array[..., 0] = 200
    array[..., 3] = np.linspace(0, 255, 12).astype(np.uint8)
    return array


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_transparency_is_kept(tmp_path, rgba, suffix):
    path = write_image(tmp_path / f"out{suffix}", rgba)
    back = np.asarray(Image.open(path))
    assert back.shape == rgba.shape
    np.testing.assert_array_equal(back[..., 3], rgba[..., 3])


def test_jpeg_flattens_onto_white_with_a_warning(tmp_path, rgba):
    with pytest.warns(UserWarning, match="JPEG cannot store transparency"):
        path = write_image(tmp_path / "out.jpg", rgba)
    back = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert back[:, 0].mean() > 240  # transparent pixels became white, not black
    assert abs(back[5, 11, 0] - 200) < 8 and back[5, 11, 1] < 15


def test_existing_file_is_not_replaced(tmp_path, rgba):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(ImageWriteError, match="already exists"):
        write_image(target, rgba)
    assert target.read_bytes() == b"precious"
    write_image(target, rgba, overwrite=True)
    assert target.read_bytes() != b"precious"


def test_input_is_protected_even_with_overwrite(tmp_path, rgba):
    source = tmp_path / "photo.png"
    Image.fromarray(rgba).save(source)
    before = source.read_bytes()
    with pytest.raises(ImageWriteError, match="overwrite the input"):
        write_image(tmp_path / "." / "photo.png", rgba, overwrite=True, protect=(source,))
    assert source.read_bytes() == before


def test_no_temporary_file_is_left_behind(tmp_path, rgba):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_image(tmp_path / "out.png", rgba)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_missing_folder(tmp_path, rgba):
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "nope" / "out.png", rgba)
