"""``--debug`` and ``ALPHACUT_DEBUG=1``: an error's one line, then its full traceback, with
the same exit status; without them the one line alone."""

import argparse

import pytest
from PIL import Image

import alphacut.batch.photo as photo
import alphacut.cli.models as models_cli
from alphacut.cli import debugging, main

TRACEBACK = "Traceback (most recent call last):"


@pytest.fixture(autouse=True)
def no_debug_variable(monkeypatch):
    monkeypatch.delenv("ALPHACUT_DEBUG", raising=False)


@pytest.fixture()
def broken_core(monkeypatch):
    """The core fails on every photo, as a bug deep inside it would."""

    def remove_background(image, **options):
        raise RuntimeError("the core broke\nand said more")

    monkeypatch.setattr(photo, "remove_background", remove_background)


def photos(tmp_path, person, count):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for k in range(count):
        Image.fromarray(person[::8, ::8]).save(folder / f"p{k}.png")
    return folder


def run(capsys, *args) -> tuple[int, list[str]]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("how", ["option", "variable", "none"])
def test_a_photo_that_fails_in_the_core(capsys, monkeypatch, tmp_path, person, broken_core, how):
    photo = photos(tmp_path, person, 1) / "p0.png"
    args = [photo, "-o", tmp_path / "out.png", "-m", "chroma", "-j", "1"]
    if how == "option":
        args.append("--debug")
    elif how == "variable":
        monkeypatch.setenv("ALPHACUT_DEBUG", "1")
    code, lines = run(capsys, *args)
    assert code == 1
    assert lines[0] == f"alphacut: error: {photo}: the core broke"
    if how == "none":
        assert len(lines) == 1
    else:
        assert lines[1] == TRACEBACK
        assert lines[-2:] == ["RuntimeError: the core broke", "and said more"]
        assert any(line.endswith(" in cut_out") for line in lines)  # where it was caught
        assert any("in remove_background" in line for line in lines)  # where it was raised
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("debug", [True, False])
def test_a_batch_lists_each_failure_with_its_traceback(
    capsys, tmp_path, person, broken_core, debug
):
    folder = photos(tmp_path, person, 2)
    args = [folder, "-o", tmp_path / "out", "-m", "chroma", "-j", "1", "-q"]
    code, lines = run(capsys, *args, *(["--debug"] if debug else []))
    assert code == 1
    start = lines.index("alphacut: 2 failed:")
    failures = lines[start + 1 :]
    if not debug:
        assert failures == [f"  {folder / f'p{k}.png'}: the core broke" for k in range(2)]
        assert not any(TRACEBACK in line for line in lines)
        return
    # Each photo's line, then its traceback: nothing is printed before the summary.
    assert TRACEBACK not in lines[:start]
    first, second = (failures.index(f"  {folder / f'p{k}.png'}: the core broke") for k in (0, 1))
    assert failures[first + 1] == failures[second + 1] == TRACEBACK
    assert failures[second - 2 : second] == ["RuntimeError: the core broke", "and said more"]
    assert failures[-2:] == ["RuntimeError: the core broke", "and said more"]


def test_an_unreadable_photo_gets_its_traceback_too(capsys, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    code, lines = run(capsys, bad, "-o", tmp_path / "out.png", "--debug")
    assert code == 1
    assert lines[0] == f"alphacut: error: {bad}: not an image file (it is text)"
    assert lines[1] == TRACEBACK and "ImageReadError" in lines[-1]


def test_usage_errors_keep_status_2_and_add_the_traceback(capsys, tmp_path, person):
    photo = photos(tmp_path, person, 1) / "p0.png"
    with pytest.raises(SystemExit) as caught:
        main([str(photo), "--model", "no-such-model", "--model-size", "256", "--debug"])
    assert caught.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("alphacut: error: unknown model 'no-such-model'")
    assert lines[1] == TRACEBACK and lines[-1].startswith("alphacut.models.specs.Unknown")


@pytest.mark.parametrize("debug", [True, False])
def test_a_model_that_cannot_load_is_one_line_then_its_traceback(capsys, tmp_path, person, debug):
    photo = photos(tmp_path, person, 1) / "p0.png"
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    argv = [photo, "-o", tmp_path / "out.png", "--model", broken] + ["--debug"] * debug
    code, lines = run(capsys, *argv)
    assert code == 1
    assert lines[0].startswith(f"alphacut: error: cannot load model file {broken}")
    if debug:
        assert lines[1] == TRACEBACK and lines[-1].startswith("RuntimeError: cannot load")
    else:
        assert len(lines) == 1


def test_the_option_and_the_variable():
    assert debugging(argparse.Namespace(debug=True))
    assert not debugging(argparse.Namespace(debug=False))
    assert not debugging(argparse.Namespace())


@pytest.mark.parametrize("value", ["1", "yes", "TRUE"])
def test_the_variable_turns_it_on(monkeypatch, value):
    monkeypatch.setenv("ALPHACUT_DEBUG", value)
    assert debugging(argparse.Namespace())


@pytest.mark.parametrize("value", ["", "0", "no", "off"])
def test_the_variable_can_say_no(monkeypatch, value):
    monkeypatch.setenv("ALPHACUT_DEBUG", value)
    assert not debugging(None)


# --- the sub-commands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["models", "path", "no-such-model"],
        ["models", "path", "no-such-model", "--debug"],
        ["models", "--debug", "path", "no-such-model"],
        ["--debug", "models", "path", "no-such-model"],
    ],
)
def test_an_unknown_model_name_is_a_usage_error(capsys, argv):
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("alphacut models path: unknown model 'no-such-model'; known")
    if "--debug" in argv:
        assert lines[1] == TRACEBACK and "UnknownModelError" in lines[-1]
    else:
        assert len(lines) == 1


def test_any_other_key_error_in_models_is_a_crash_with_its_traceback(monkeypatch, capsys):
    def cache_dir():
        return {}["a bug"]

    monkeypatch.setattr(models_cli.download, "cache_dir", cache_dir)
    with pytest.raises(KeyError, match="a bug"):
        main(["models", "path"])
    assert capsys.readouterr().err == ""  # not turned into a one-line message, nor exit 2


def test_models_download_failure_gets_its_traceback(capsys, monkeypatch, tmp_path):
    from alphacut.models import download

    def fail(spec, **kwargs):
        raise download.ModelDownloadError("cannot download model 'u2netp': offline")

    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path))
    monkeypatch.setattr(download, "fetch", fail)
    assert main(["models", "download", "-q", "u2netp", "--debug"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "alphacut models download: cannot download model 'u2netp': offline"
    assert lines[1] == TRACEBACK and "ModelDownloadError" in lines[-1]


@pytest.mark.parametrize("debug", [True, False])
def test_gimp_errors_get_their_traceback(capsys, tmp_path, debug):
    # Something else where the plug-in's folder would be: refused, not removed.
    (tmp_path / "plug-ins" / "alphacut-remove-background").mkdir(parents=True)
    argv = ["gimp", "uninstall", "--gimp-dir", str(tmp_path)] + ["--debug"] * debug
    assert main(argv) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("alphacut gimp uninstall: ") and "not touching it" in lines[0]
    if debug:
        assert lines[1] == TRACEBACK and lines[-1].startswith("RuntimeError: ")
    else:
        assert len(lines) == 1


def test_every_sub_command_takes_the_option(capsys):
    for argv in (["demo"], ["models"], ["models", "list"], ["gimp", "install"]):
        with pytest.raises(SystemExit) as caught:
            main([*argv, "--help"])
        assert caught.value.code == 0
        assert "--debug" in capsys.readouterr().out, argv
