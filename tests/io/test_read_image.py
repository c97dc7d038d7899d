import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.io import (
    ImageReadError,
    ImageReadWarning,
    probe_image,
    read_frames,
    read_image,
    read_image_bytes,
)


def huge_png_header(path: Path, width: int = 20000, height: int = 20000) -> None:
    """A valid PNG signature and IHDR claiming a huge size, with a tiny IDAT: the classic
    decompression bomb shape, without needing the memory to make a real one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def bad_files(folder: Path, good_photo: np.ndarray) -> dict[str, Path]:
    """Every kind of bad input the command line must survive, written into ``folder``."""
    files = {}
    files["empty"] = folder / "empty.jpg"
    files["empty"].write_bytes(b"")
    jpeg = folder / "whole.jpg"
    Image.fromarray(good_photo).save(jpeg, quality=90)
    files["truncated"] = folder / "truncated.jpg"
    files["truncated"].write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 3])
    jpeg.unlink()
    files["text"] = folder / "notes.png"
    files["text"].write_text("this is not an image\n")
    files["bomb"] = folder / "bomb.png"
    huge_png_header(files["bomb"])
    return files


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("empty", "empty file"),
        ("truncated", "truncated"),
        ("text", "not an image"),
        ("bomb", "decompression bomb"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, person, kind, words):
    path = bad_files(tmp_path, person)[kind]
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and words in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_exif_orientation_is_applied(tmp_path):
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :10] = 255  # a white band on the left of a landscape image
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    shown = read_image(tmp_path / "rotated.jpg")
    assert shown.shape == (40, 20, 3)
    assert shown[:10].mean() > 200  # the band is now on top


def test_sixteen_bit_grey_keeps_precision(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    image = read_image(tmp_path / "deep.png")
    assert image.dtype == np.float32 and image.shape == (64, 64, 3)
    np.testing.assert_allclose(image[..., 0], ramp / 65535, atol=1e-6)


@pytest.mark.parametrize("mode", ["P", "L", "CMYK", "RGBA", "LA", "1"])
def test_modes_become_rgb(tmp_path, person, mode):
    image = Image.fromarray(person).convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".png"
    image.save(tmp_path / f"photo{suffix}")
    array = read_image(tmp_path / f"photo{suffix}")
    assert array.shape == (512, 512, 3) and array.dtype == np.uint8
    expected = np.asarray(image.convert("RGB"), np.float32)
    assert np.abs(array.astype(np.float32) - expected).mean() < 3


def test_read_from_bytes(person):
    import io

    buffer = io.BytesIO()
    Image.fromarray(person).save(buffer, format="PNG")
    np.testing.assert_array_equal(read_image_bytes(buffer.getvalue()), person)
    with pytest.raises(ImageReadError, match="<stdin>: empty"):
        read_image_bytes(b"")


def _animation(path, count=3, **options):
    frames = [Image.fromarray(np.full((16, 24, 3), 40 * k, np.uint8)) for k in range(count)]
    frames[0].save(path, save_all=True, append_images=frames[1:], **options)
    return path


@pytest.mark.parametrize("name", ["anim.gif", "anim.webp", "anim.png", "pages.tif"])
def test_every_frame_is_read(tmp_path, name):
    path = _animation(tmp_path / name, duration=50)
    assert probe_image(path).frames == 3
    frames = list(read_frames(path))
    assert [int(f.mean()) for f in frames] == [0, 40, 80]
    assert int(read_image(path, frame=2).mean()) == 80
    with pytest.raises(ImageReadError, match="has no frame 3"):
        read_image(path, frame=3)


@pytest.mark.parametrize("scale", [1.0, 255.0, 65535.0])
def test_float_images_of_any_range_keep_their_tones(tmp_path, scale):
    ramp = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    Image.fromarray(ramp * scale, mode="F").save(tmp_path / "float.tif")
    image = read_image(tmp_path / "float.tif")
    np.testing.assert_allclose(image[..., 0], ramp, atol=1e-5)


def test_float_image_with_resampling_overshoot_is_not_read_as_0_to_255(tmp_path):
    # The defect: a 0..1 float TIFF peaking at 1.04 (bicubic ringing) was divided by 255,
    # a black photo. Files now follow alphacut.convert's table: 10 % slack, then clipped.
    ramp = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    ringing = ramp.copy()
    ringing[0, :2] = [-0.03, 1.04]
    Image.fromarray(ringing, mode="F").save(tmp_path / "ringing.tif")
    image = read_image(tmp_path / "ringing.tif")
    np.testing.assert_allclose(image[1:, :, 0], ramp[1:], atol=1e-6)
    assert image[0, :2, 0].tolist() == [0.0, 1.0]


def test_pixels_beyond_16_bits_in_a_file_are_scaled_by_their_peak(tmp_path):
    ramp = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    Image.fromarray(ramp * 1e6, mode="F").save(tmp_path / "hdr.tif")
    np.testing.assert_allclose(read_image(tmp_path / "hdr.tif")[..., 0], ramp, atol=1e-5)


def test_float_rgb_tiff_through_opencv(tmp_path):
    import cv2

    rgb = np.random.default_rng(0).uniform(0, 255, (20, 30, 3)).astype(np.float32)
    cv2.imwrite(str(tmp_path / "rgb.tif"), rgb[..., ::-1])
    image = read_image(tmp_path / "rgb.tif")
    np.testing.assert_allclose(image, rgb / 255, atol=1e-5)
    rgb[4, 4, 0] = np.nan
    cv2.imwrite(str(tmp_path / "nan.tif"), rgb[..., ::-1])
    with pytest.raises(ImageReadError, match=r"nan\.tif: image holds NaN"):
        read_image(tmp_path / "nan.tif")


def test_damaged_exif_is_one_warning_of_ours(tmp_path, person):
    entries = struct.pack("<HHLL", 0x010E, 2, 40, 0x400)  # description far past the end
    ifd = struct.pack("<H", 1) + entries + struct.pack("<L", 0)
    exif = b"Exif\0\0" + b"II*\0" + struct.pack("<L", 8) + ifd
    Image.fromarray(person[::8, ::8]).save(tmp_path / "shot.jpg", exif=exif)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_image(tmp_path / "shot.jpg")
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'shot.jpg'}: damaged EXIF metadata was ignored"
    ]
    assert all(w.category is ImageReadWarning for w in caught)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.7\n", "it is a PDF document"),
        (b"<!DOCTYPE html><html>", "it is an HTML page"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "corrupt PNG image"),
    ],
)
def test_what_a_non_image_is_is_said(tmp_path, data, words):
    (tmp_path / "file.png").write_bytes(data)
    with pytest.raises(ImageReadError, match=words):
        read_image(tmp_path / "file.png")
