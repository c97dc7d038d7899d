import os
import stat
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


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_visible_colours_are_lossless_and_transparent_ones_cleared(tmp_path, rgba, suffix):
    rgba[..., 1] = np.arange(12, dtype=np.uint8) * 20
    path = write_image(tmp_path / f"out{suffix}", rgba)
    back = np.asarray(Image.open(path))
    visible = rgba[..., 3] > 0
    np.testing.assert_array_equal(back[visible], rgba[visible])
    assert not back[~visible].any()
    assert rgba[0, 0, 0] == 200  # the caller's array is left as it was


@pytest.mark.parametrize("shape", [(31, 17), (31, 17, 3), (31, 17, 4)], ids=["grey", "rgb", "rgba"])
def test_png_is_lossless_in_every_layout(tmp_path, shape):
    # Random pixels: no row repeats the one above, the worst case for the row filter.
    array = np.random.default_rng(0).integers(1, 256, shape, dtype=np.uint8)
    path = write_image(tmp_path / "out.png", array)
    back = np.asarray(Image.open(path))
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


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


@pytest.mark.parametrize("where", ["fsync", "chmod", "replace"])
def test_interruption_mid_write_leaves_nothing(tmp_path, rgba, monkeypatch, where):
    import alphacut.io.write as write

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    target = tmp_path / "out.png"
    if where == "chmod":
        target.write_bytes(b"old")  # only a replaced file's mode is set by hand
    monkeypatch.setattr(write.os, where, interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_image(target, rgba, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == (["out.png"] if where == "chmod" else [])
    assert where != "chmod" or target.read_bytes() == b"old"
    assert not write._TEMPORARY


def test_second_signal_clean_up_removes_pending_temporary_files(tmp_path, rgba, monkeypatch):
    import alphacut.io.write as write

    def stop(fd):
        # What a second Ctrl-C does while the first one unwinds: clean up, then leave.
        assert len(list(tmp_path.glob(".out.png.*.tmp"))) == 1
        write.remove_temporary_files()
        raise SystemExit(130)

    monkeypatch.setattr(write.os, "fsync", stop)
    with pytest.raises(SystemExit):
        write_image(tmp_path / "out.png", rgba)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "folder", "folder-link", "device-link", "dangling"])
def test_only_regular_files_are_replaced(tmp_path, rgba, kind):
    target = tmp_path / "out.png"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "folder-link":
        os.symlink(tmp_path, target)
    elif kind == "device-link":
        os.symlink(os.devnull, target)
    else:
        os.symlink("gone.png", target)
    before = target.lstat()
    with pytest.raises(ImageWriteError) as caught:
        write_image(target, rgba, overwrite=True)
    assert str(caught.value).startswith(f"{target}: is a")
    assert "\n" not in str(caught.value)
    after = target.lstat()
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_link_to_a_file_is_written_through(tmp_path, rgba):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.png"
    os.symlink(real, link)
    write_image(link, rgba, overwrite=True)
    assert link.is_symlink() and np.asarray(Image.open(real)).shape == rgba.shape
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # a replaced file keeps its mode


def test_folder_that_is_a_file(tmp_path, rgba):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ImageWriteError, match=r"afile is a file, not a folder"):
        write_image(tmp_path / "afile" / "out.png", rgba)


@pytest.fixture()
def umask_027():
    """The process's umask set to 0o027 for the test (set here, before any write)."""
    umask = os.umask  # the real one, should a test replace it
    old = umask(0o027)
    yield 0o027
    umask(old)


def test_new_outputs_get_the_umask_and_the_umask_is_never_touched(
    tmp_path, rgba, monkeypatch, umask_027
):
    import alphacut.io.write as write

    def no_umask(*args):
        raise AssertionError("os.umask changes the umask of every thread; not while writing")

    monkeypatch.setattr(write.os, "umask", no_umask)
    monkeypatch.setattr(os, "umask", no_umask)
    path = write_image(tmp_path / "out.png", rgba)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask_027 == 0o640
    # A replaced file keeps its own mode, whatever the umask.
    os.chmod(path, 0o604)
    write_image(path, rgba, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_the_mode_of_new_outputs_follows_the_umask_of_the_moment(tmp_path, rgba, umask_027):
    os.umask(0o002)
    path = write_image(tmp_path / "group.png", rgba)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
