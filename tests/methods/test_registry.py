"""The method table: remove_background and the command line dispatch through it."""

import contextlib

import numpy as np
import pytest
from PIL import Image

import alphacut
from alphacut.cli import main
from alphacut.methods.registry import METHODS, MethodRun, MethodSpec, get_method


def _left_half(run: MethodRun) -> np.ndarray:
    run.method = "toy"
    run.notes.append("toy: the left half is the subject")
    alpha = np.zeros(run.rgb.shape[:2], np.float32)
    alpha[:, : alpha.shape[1] // 2] = 1.0
    return run.step("toy", lambda: alpha)


@pytest.fixture()
def toy_method(monkeypatch) -> MethodSpec:
    spec = MethodSpec("toy", "Toy", "the left half of the photo", _left_half, refine=False)
    monkeypatch.setitem(METHODS, "toy", spec)
    return spec


def test_a_registered_method_runs_through_remove_background(toy_method, person):
    seen = []
    matte = alphacut.remove_background(person, "toy", progress=seen.append)
    assert matte.method == "toy" and seen == ["toy"]
    assert matte.notes == ["toy: the left half is the subject"]
    assert matte.alpha[:, :256].min() == 1.0 and matte.alpha[:, 256:].max() == 0.0
    # Its table entry says "not refined by default"; asking for refinement still refines.
    refined = alphacut.remove_background(person, "toy", refine=True)
    assert "matting" in refined.timings and "matting" not in matte.timings


def test_a_registered_method_is_a_command_line_choice(toy_method, person, tmp_path, capsys):
    source = tmp_path / "photo.png"
    Image.fromarray(person).save(source)
    assert main(["--method", "toy", "-q", str(source), "-o", str(tmp_path / "out.png")]) == 0
    alpha = np.asarray(Image.open(tmp_path / "out.png"))[..., 3]
    assert alpha[:, :256].min() == 255 and alpha[:, 256:].max() == 0
    capsys.readouterr()
    with contextlib.suppress(SystemExit):
        main(["--help"])
    assert "toy" in capsys.readouterr().out


def test_refinement_defaults_come_from_the_table(person):
    assert get_method("chroma").refine is False
    assert all(get_method(name).refine for name in ("auto", "neural", "grabcut"))
    matte = alphacut.remove_background(person, "grabcut")
    assert "matting" in matte.timings


def test_an_unknown_method_names_the_known_ones(person):
    with pytest.raises(ValueError, match="unknown method 'nope'; choose one of auto, neural"):
        alphacut.remove_background(person, "nope")
