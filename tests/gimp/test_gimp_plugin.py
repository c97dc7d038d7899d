"""The GIMP 3 plug-in, run non-interactively inside a real headless GIMP 3.

Each test sets up an image in GIMP, calls ``python-fu-alphacut-remove-background`` the way a
script would, exports the result to PNG and compares the exported alpha with
``alphacut.remove_background`` run directly on the pixels GIMP read (in GIMP's own Python
environment, so both use the same library versions).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from gimp_harness import (
    GIMP_TIMES,
    JobResult,
    copy_plugin,
    run_job,
    run_jobs,
    run_reference,
    write_gimprc,
)
from PIL import Image

from alphacut.methods.registry import METHODS

pytestmark = pytest.mark.gimp

PROC_NAME = "python-fu-alphacut-remove-background"
PLUGIN = "alphacut-remove-background"
# The plug-in's arguments after GIMP's own (run-mode, image, drawables), in order.
ARGUMENTS = [
    "method",
    "model",
    "refine",
    "feather",
    "foreground-layer",
    "key-source",
    "key-color",
    "tolerance",
    "softness",
    "despill",
]
# Exported 8-bit alpha against the core's float alpha: rounding only.
TOLERANCE = 1 / 255 + 1e-6


def run(gimp, profile, tmp_path, job, name, **kwargs) -> JobResult:
    """Run one GIMP job and record its time for the summary."""
    result = run_job(gimp, profile, tmp_path / "out", job, **kwargs)
    GIMP_TIMES.append((name, result.gimp_seconds))
    return result


def succeeded(job: JobResult) -> dict:
    result = job.result
    assert result["status"] == "success", f"{result['status']}: {result['error']}\n{job.log}"
    return result


def core_feather_default() -> float:
    """The core's default feather radius, as the plug-in must read it."""
    from alphacut.refine import refine

    return inspect.signature(refine).parameters["feather_sigma"].default


def exported_alpha(job: JobResult) -> np.ndarray:
    with Image.open(job.outdir / "export.png") as png:
        assert png.mode in ("RGBA", "LA"), f"exported without alpha: {png.mode}"
        return np.asarray(png)[..., -1].astype(np.float32) / 255


def assert_alpha_close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    error = np.abs(actual - expected)
    worst = np.unravel_index(np.argmax(error), error.shape)
    assert error.max() <= TOLERANCE, (
        f"max |GIMP - core| = {error.max() * 255:.2f}/255 at {worst}; "
        f"{np.count_nonzero(error > TOLERANCE)} pixels off"
    )
    # A comparison of two empty (or full) mattes would prove nothing.
    assert 0.05 < expected.mean() < 0.95, f"degenerate matte, mean alpha {expected.mean():.3f}"


def input_pixels(job: JobResult) -> np.ndarray:
    layer = job.result["layer_before"]
    return job.raw("input.raw", (layer["height"], layer["width"], 3))


def assert_read_the_photo(job: JobResult, photo) -> None:
    with Image.open(photo) as png:
        expected = np.asarray(png.convert("RGB"))
    np.testing.assert_array_equal(input_pixels(job), expected)


METHOD_CASES = [
    # (id, method, photo, extra arguments): between them every argument and every Refine
    # edges value is exercised. The reference passes only what a case sets.
    ("auto", "auto", "astronaut", {}),
    (
        "neural-on",
        "neural",
        "astronaut",
        {"refine": "on", "feather": 2.5, "foreground-layer": True},
    ),
    ("chroma-on", "chroma", "greenscreen", {"refine": "on"}),
    # Default with a feather other than the core's: a refinement option turns refinement
    # on for chroma too (the core's rule), so the plug-in must pass it through.
    ("chroma-feather", "chroma", "greenscreen", {"refine": "default", "feather": 3.0}),
    ("grabcut-off", "grabcut", "small", {"refine": "off"}),
]


@pytest.mark.parametrize(
    ("case", "method", "photo", "extra"), METHOD_CASES, ids=[case[0] for case in METHOD_CASES]
)
def test_each_method_matches_the_core(
    gimp, gimp_profile, photos, tmp_path, case, method, photo, extra
):
    args = {"method": method, **extra}
    job = run(gimp, gimp_profile, tmp_path, {"input": str(photos[photo]), "args": args}, case)
    result = succeeded(job)
    assert_read_the_photo(job, photos[photo])
    reference = run_reference(gimp, job.outdir)
    assert result["method_used"] == reference["method"]
    if method != "auto":
        assert result["method_used"] == method

    expected = np.load(job.outdir / "alpha.npy")
    assert_alpha_close(exported_alpha(job), expected)
    mask = job.raw("mask.raw", expected.shape).astype(np.float32) / 255
    assert_alpha_close(mask, expected)
    layer = result["layers"][-1]
    assert layer["has_alpha"] and layer["has_mask"]

    if extra.get("foreground-layer"):
        colours, source = result["layers"]
        assert colours["name"].endswith("(decontaminated)")
        assert colours["has_mask"] and colours["visible"] and not source["visible"]
        height, width = expected.shape
        rgba = job.raw("foreground.raw", (height, width, 4)).astype(np.float32) / 255
        foreground = np.load(job.outdir / "foreground.npy")
        assert np.abs(rgba[..., :3] - foreground).max() <= TOLERANCE
        assert np.all(rgba[..., 3] == 1)
        colours_mask = job.raw("foreground-mask.raw", (height, width)).astype(np.float32) / 255
        assert_alpha_close(colours_mask, expected)


def test_automatic_on_a_green_screen_matches_the_core_defaults(
    gimp, gimp_profile, photos, tmp_path
):
    """The plug-in with every argument at its default equals ``remove_background(rgb)``:
    the reference gets no arguments at all, so nothing of the plug-in's is copied."""
    job = run(gimp, gimp_profile, tmp_path, {"input": str(photos["greenscreen"])}, "defaults")
    result = succeeded(job)
    assert_read_the_photo(job, photos["greenscreen"])
    assert json.loads((job.outdir / "job.json").read_text()).get("args", {}) == {}
    reference = run_reference(gimp, job.outdir)
    assert result["method_used"] == reference["method"] == "chroma"
    expected = np.load(job.outdir / "alpha.npy")
    assert_alpha_close(job.raw("mask.raw", expected.shape) / np.float32(255), expected)
    assert_alpha_close(exported_alpha(job), expected)


def test_layer_with_offsets(gimp, gimp_profile, photos, tmp_path):
    # The layer hangs over the canvas' top edge and leaves canvas uncovered right and below.
    canvas, offset = (640, 600), (100, -50)
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {"input": str(photos["astronaut"]), "canvas": canvas, "offset": offset},
        "layer with offsets",
    )
    succeeded(job)
    layer = job.result["layers"][0]
    assert layer["offsets"] == list(offset) and (layer["width"], layer["height"]) == (512, 512)
    reference = run_reference(gimp, job.outdir)
    assert reference["method"] == job.result["method_used"]
    expected = np.load(job.outdir / "alpha.npy")
    # The mask covers the whole layer, off-canvas part included.
    assert_alpha_close(job.raw("mask.raw", expected.shape) / np.float32(255), expected)

    alpha = exported_alpha(job)
    assert alpha.shape == (canvas[1], canvas[0])
    x, y = offset
    on_canvas = alpha[0 : y + 512, x : x + 512]
    assert_alpha_close(on_canvas, expected[-y:, :])
    uncovered = np.ones_like(alpha, bool)
    uncovered[0 : y + 512, x : x + 512] = False
    assert np.all(alpha[uncovered] == 0)


def test_grey_image(gimp, gimp_profile, photos, tmp_path):
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {"input": str(photos["grey"]), "args": {"method": "auto"}},
        "grey image",
    )
    succeeded(job)
    assert job.result["base_type"] == "gray"
    assert_read_the_photo(job, photos["grey"])
    run_reference(gimp, job.outdir)
    with Image.open(job.outdir / "export.png") as png:
        assert png.mode == "LA"
    assert_alpha_close(exported_alpha(job), np.load(job.outdir / "alpha.npy"))


@pytest.mark.parametrize("drawable", ["layer", "mask"])
def test_layer_that_already_has_a_mask_is_refused(gimp, gimp_profile, photos, tmp_path, drawable):
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {"input": str(photos["small"]), "existing_mask": True, "drawable": drawable},
        f"existing mask ({drawable} active)",
    )
    result = job.result
    assert result["status"] == "calling-error"
    assert "already has a layer mask" in result["error"]
    assert "Layer > Mask" in result["error"]
    # Refused means untouched: the user's mask is still the white one.
    assert np.all(job.raw("mask.raw", (256, 256)) == 255)
    assert len(result["layers"]) == 1


def test_selection_guides_grabcut(gimp, gimp_profile, photos, tmp_path):
    # On an offset layer, so image and layer coordinates differ.
    offset = (15, 10)
    selection = (65, 20, 170, 235)  # x, y, w, h in image coordinates: around the astronaut
    hints_file = tmp_path / "hints.npy"
    x, y = selection[0] - offset[0], selection[1] - offset[1]
    rect = (x, y, selection[2], selection[3])
    hints = np.zeros((256, 256), np.uint8)  # definite background outside the selection
    hints[y : y + rect[3], x : x + rect[2]] = 3  # probable foreground inside
    np.save(hints_file, hints)
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {
            "input": str(photos["small"]),
            "canvas": (280, 270),
            "offset": offset,
            "selection": selection,
            "args": {"method": "grabcut"},
            "reference": {"rect": rect, "hints": str(hints_file)},
        },
        "selection as GrabCut rectangle",
    )
    succeeded(job)
    run_reference(gimp, job.outdir)
    expected = np.load(job.outdir / "alpha.npy")
    mask = job.raw("mask.raw", expected.shape) / np.float32(255)
    assert_alpha_close(mask, expected)
    assert np.all(mask[hints == 0] == 0), "the subject leaks out of the selection"


def test_core_errors_come_back_as_pdb_errors(gimp, gimp_profile, photos, tmp_path):
    # No plain backdrop in this photo: the core refuses, GIMP must get its message.
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {"input": str(photos["small"]), "args": {"method": "chroma"}},
        "core error",
    )
    assert job.result["status"] == "execution-error"
    assert "alphacut failed (chroma)" in job.result["error"]
    assert "no uniform backdrop colour" in job.result["error"]
    # The core's advice ("pass key_color") in GIMP's words.
    assert "under Key colour" in job.result["error"]
    assert not job.result["layers"][0]["has_mask"]


@pytest.mark.parametrize("record", ["none", "other-python"])
def test_missing_alphacut_says_how_to_fix_it(gimp, gimp_profile, photos, tmp_path, record):
    if gimp.mode != "chroot":
        pytest.skip("needs a Python without alphacut: only the provisioned root has one")
    # Debian's own python3 (not the venv) cannot import alphacut. The location record is
    # read only when the import fails, so the shared plug-in copy can carry one briefly.
    record_file = gimp_profile.parent / "plug-ins-under-test" / PLUGIN / "alphacut-location.json"
    if record == "other-python":
        record_file.write_text(
            json.dumps(
                {
                    "python": "/opt/py311/bin/python3",
                    "python_version": "3.11",
                    "paths": ["/opt/py311/lib/python3.11/site-packages"],
                }
            )
        )
    try:
        job = run(
            gimp,
            gimp_profile,
            tmp_path,
            {"input": str(photos["small"])},
            f"alphacut missing (record: {record})",
            env={"PATH": "/usr/bin:/bin"},
        )
    finally:
        record_file.unlink(missing_ok=True)
    error = job.result["error"]
    assert job.result["status"] == "execution-error"
    assert "Cannot import alphacut" in error
    assert "-m venv --system-site-packages" in error and "alphacut gimp install" in error
    if record == "other-python":
        assert "installed for Python 3.11" in error
        assert "but GIMP runs plug-ins with Python 3." in error


def test_registers_without_alphacut_offering_automatic_only(gimp, photos, tmp_path):
    if gimp.mode != "chroot":
        pytest.skip("needs a Python without alphacut: only the provisioned root has one")
    # A fresh profile, so that GIMP queries the plug-in with Debian's python3, which
    # cannot import alphacut (the shared profile's registration was made with it).
    plugins = tmp_path / "plug-ins"
    plugins.mkdir()
    copy_plugin(plugins)
    profile = tmp_path / "profile"
    write_gimprc(profile, plugins)
    job = run(
        gimp,
        profile,
        tmp_path,
        {"input": str(photos["small"]), "describe": True},
        "registered without alphacut",
        env={"PATH": "/usr/bin:/bin"},
    )
    described = job.result["procedure"]
    assert described["arguments"][-len(ARGUMENTS) :] == ARGUMENTS
    # Without alphacut's table, Automatic only, saying that alphacut is missing.
    [(nick, label, _)] = described["choices"]["method"]
    assert nick == "auto" and "alphacut not found" in label
    assert [nick for nick, _, _ in described["choices"]["refine"]] == ["default", "on", "off"]
    assert [nick for nick, _, _ in described["choices"]["model"]] == ["default"]
    # Running it gives the import error with the fix.
    assert job.result["status"] == "execution-error"
    assert "Cannot import alphacut" in job.result["error"]
    assert "alphacut gimp install" in job.result["error"]


def test_cli_install_registers_the_procedure(gimp, photos, tmp_path):
    """`alphacut gimp install --gimp-dir DIR`, then a GIMP using DIR lists and runs it."""
    profile = tmp_path / "profile"
    done = gimp.run(["alphacut", "gimp", "install", "--gimp-dir", str(profile)])
    assert done.returncode == 0, done.stdout + done.stderr
    installed = profile / "plug-ins" / "alphacut-remove-background"
    assert (installed / "alphacut-remove-background.py").stat().st_mode & 0o111
    record = json.loads((installed / "alphacut-location.json").read_text())
    assert record["paths"]

    # In the provisioned root, GIMP then runs plug-ins with Debian's python3, which finds
    # alphacut only through the recorded location.
    env = {"PATH": "/usr/bin:/bin"} if gimp.mode == "chroot" else None
    job = run(
        gimp,
        profile,
        tmp_path,
        {"input": str(photos["astronaut"]), "describe": True, "args": {"method": "neural"}},
        "installed plug-in (fresh profile)",
        env=env,
    )
    described = job.result["procedure"]
    assert described["name"] == PROC_NAME
    assert [path.rstrip("/") for path in described["menu_paths"]] == ["<Image>/Layer/Transparency"]
    assert described["menu_label"] == "Remove Background…"
    assert described["image_types"] == "RGB*, GRAY*"
    assert described["arguments"][-len(ARGUMENTS) :] == ARGUMENTS
    choices, defaults = described["choices"], described["defaults"]
    # The methods are alphacut's table, in its order, with its labels and help.
    assert [nick for nick, _, _ in choices["method"]] == list(METHODS)
    for nick, label, help_text in choices["method"]:
        assert label == METHODS[nick].label
        assert help_text.lower() == METHODS[nick].help.lower()
    assert defaults["method"] == next(iter(METHODS))
    # The Method tooltip tells every method's use, not just "how to find the subject".
    for spec in METHODS.values():
        assert f"{spec.label}: " in described["blurbs"]["method"]
    # The chroma controls start at the core's defaults: its own key estimate, automatic
    # tolerance, its softness, despill on.
    assert [nick for nick, _, _ in choices["key-source"]] == ["border", "foreground", "picked"]
    assert defaults["key-source"] == "border"
    assert (defaults["tolerance"], defaults["softness"], defaults["despill"]) == (0.0, 0.6, True)
    # GIMP's Help button asks for "domain?id": the plug-in's own help domain, whose pages
    # (help/en/gimp-help.xml, see test_help_pages.py) were installed with the plug-in, not
    # GIMP's manual.
    assert described["help_id"] == f"alphacut?{PROC_NAME}"
    help_folder = (installed / "help").as_uri()
    # pluginrc holds icons as raw bytes: read it as text where it is text.
    registered = (profile / "pluginrc").read_text(errors="replace")
    assert f'(help-def "alphacut" "{help_folder}")' in registered
    # Refine edges: the method's own default, or forced on or off; the dialog starts at
    # the method's own, whose label says what that is (from the table too).
    assert [nick for nick, _, _ in choices["refine"]] == ["default", "on", "off"]
    assert defaults["refine"] == "default"
    default_label = choices["refine"][0][1]
    for spec in METHODS.values():
        assert (spec.label in default_label) == (not spec.refine), default_label
    assert defaults["feather"] == core_feather_default()
    # The model drop-down: the core's default first, then every model with its size,
    # licence and whether it is installed (GIMP's own cache is empty here).
    model_choices = [(nick, label) for nick, label, _ in choices["model"]]
    models = dict(model_choices)
    assert model_choices[0][0] == "default"
    assert models["u2net"] == "u2net · 176 MB · Apache-2.0 · download"
    assert models["selfie"].endswith(" · Apache-2.0 · built in")
    assert models["isnet-imgly"].startswith("isnet-imgly · 88 MB · AGPL-3.0 · ")
    states = [label.rsplit(" · ", 1)[-1] for _, label in model_choices[1:]]
    assert states == sorted(states, key=lambda state: state == "download")
    succeeded(job)

    done = gimp.run(["alphacut", "gimp", "uninstall", "--gimp-dir", str(profile)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert not installed.exists()


# Interactive mode: GIMP on a virtual display, dialogs answered with the keyboard.
DIALOG = "Remove Background"
QUESTION = "Replace Layer Mask?"


def test_interactive_dialog_with_defaults(gimp, gimp_ui_profile, photos, tmp_path):
    job = run(
        gimp,
        gimp_ui_profile,
        tmp_path,
        {"input": str(photos["astronaut"]), "run_mode": "interactive"},
        "interactive: dialog, OK",
        ui=[(DIALOG, "Return")],
    )
    succeeded(job)
    run_reference(gimp, job.outdir)  # the dialog's defaults are the core's defaults
    assert_alpha_close(exported_alpha(job), np.load(job.outdir / "alpha.npy"))


@pytest.mark.parametrize(
    ("answer", "keys"), [("replace", "alt+r"), ("keep", "Return")], ids=["replace", "keep"]
)
def test_interactive_asks_before_replacing_a_mask(
    gimp, gimp_ui_profile, photos, tmp_path, answer, keys
):
    job = run(
        gimp,
        gimp_ui_profile,
        tmp_path,
        {"input": str(photos["astronaut"]), "run_mode": "interactive", "existing_mask": True},
        f"interactive: existing mask, {answer}",
        ui=[(DIALOG, "Return"), (QUESTION, keys)],
    )
    mask = job.raw("mask.raw", (512, 512)).astype(np.float32) / 255
    if answer == "keep":
        # The question's default button is Cancel: Return must not destroy painted work.
        assert job.result["status"] == "cancel"
        assert np.all(mask == 1)
        return
    succeeded(job)
    run_reference(gimp, job.outdir)
    assert_alpha_close(mask, np.load(job.outdir / "alpha.npy"))


# Model choice.


def test_installed_general_model_matches_the_core(
    gimp, gimp_profile, photos, tmp_path, general_model_home
):
    args = {"method": "neural", "model": "isnet-imgly", "refine": "off"}
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {"input": str(photos["cat"]), "args": args},
        "general model (isnet-imgly)",
        env=general_model_home,
    )
    result = succeeded(job)
    assert result["method_used"] == "neural"
    assert "with model isnet-imgly" in result["notes"]
    assert "downloaded" not in result["notes"]
    run_reference(gimp, job.outdir, env=general_model_home)
    expected = np.load(job.outdir / "alpha.npy")
    assert_alpha_close(job.raw("mask.raw", expected.shape) / np.float32(255), expected)
    assert_alpha_close(exported_alpha(job), expected)
    # A cat, not a person: the general model keeps it and drops the wall on the right.
    assert expected[:210, 45:315].mean() > 0.9 and expected[:, 430:].max() < 0.05


def test_missing_model_offline_is_a_clean_pdb_error(
    gimp, gimp_profile, photos, tmp_path, offline_env
):
    job = run(
        gimp,
        gimp_profile,
        tmp_path,
        {"input": str(photos["small"]), "args": {"method": "neural", "model": "u2netp"}},
        "missing model, offline",
        env=offline_env,
    )
    result = job.result
    assert result["status"] == "execution-error"
    error = result["error"]
    assert "\n" not in error and "Traceback" not in error and "Error:" not in error
    assert "cannot download model 'u2netp'" in error
    assert "alphacut models download u2netp" in error
    assert not result["layers"][0]["has_mask"] and len(result["layers"]) == 1


# Degenerate layers: whatever the plug-in makes of them, the user gets a result or one clean
# line, never a traceback, and soon. All in one GIMP (run_jobs), so they cost one start-up.

# The core promises every method within 10 s on a uniform 640x480 image; the plug-in's own
# start (a Python process importing alphacut) adds well under a second here, so the user
# gets the same promise.
DEGENERATE_CALL_BOUND_S = 10
# (layer, method): the ones that may be refused last, so a call that hangs costs only those
# after it (they are then reported as not reached).
DEGENERATE_CASES = {
    "1x300": ("1x300", "auto"),
    "300x1": ("300x1", "auto"),
    "transparent": ("transparent", "auto"),
    "grey": ("grey", "auto"),
    "white-auto": ("white", "auto"),
    "red-auto": ("red", "auto"),
    "white-grabcut": ("white", "grabcut"),
    "red-grabcut": ("red", "grabcut"),
}


def degenerate_layers(folder) -> dict[str, Path]:
    """PNGs of degenerate layers: uniform colours, a line, nothing visible, grey."""
    folder.mkdir(parents=True, exist_ok=True)
    images = {
        "white": Image.new("RGB", (640, 480), (255, 255, 255)),
        "red": Image.new("RGB", (640, 480), (255, 0, 0)),
        "1x300": Image.fromarray(np.linspace(0, 255, 300, dtype=np.uint8).reshape(300, 1)),
        "300x1": Image.fromarray(np.linspace(0, 255, 300, dtype=np.uint8).reshape(1, 300)),
        # An alpha channel and every pixel fully transparent.
        "transparent": Image.new("RGBA", (640, 480), (0, 0, 0, 0)),
        # A GRAY image in GIMP (not RGB): uniform mid grey.
        "grey": Image.new("L", (640, 480), 128),
    }
    paths = {}
    for name, image in images.items():
        paths[name] = folder / f"{name}.png"
        image.save(paths[name])
    return paths


@pytest.fixture(scope="module")
def degenerate_runs(gimp, gimp_profile, tmp_path_factory) -> dict[str, JobResult | None]:
    folder = tmp_path_factory.mktemp("degenerate")
    layers = degenerate_layers(folder / "layers")
    jobs = {
        name: {"input": str(layers[layer]), "args": {"method": method}}
        for name, (layer, method) in DEGENERATE_CASES.items()
    }
    # GIMP's start, then every call within its bound: past that, the hung call is reported.
    timeout = 60 + DEGENERATE_CALL_BOUND_S * len(jobs)
    results, seconds = run_jobs(gimp, gimp_profile, folder / "out", jobs, timeout=timeout)
    GIMP_TIMES.append((f"degenerate layers ({len(jobs)} calls in one GIMP)", seconds))
    return results


def assert_clean_message(text: str, what: str, log: str) -> None:
    assert "Traceback" not in text, f"a traceback in {what}:\n{text}\n{log}"
    assert "\n" not in text.strip(), f"{what} is not one line: {text!r}"
    # "SomeError:" is what the catch-all writes for an exception the plug-in did not expect.
    assert "Error:" not in text, f"{what} shows an unexpected exception: {text!r}"


@pytest.mark.parametrize("case", list(DEGENERATE_CASES))
def test_degenerate_layer_gives_a_result_or_one_clean_line(degenerate_runs, case):
    job = degenerate_runs[case]
    assert job is not None, f"{case}: not reached (an earlier call hung past its bound?)"
    result = job.result
    assert "exception" not in result, f"failed at {result['stage']}:\n{result.get('exception')}"
    assert "status" in result, (
        f"{case}: the plug-in call never returned (GIMP stopped at the batch's time limit)\n"
        f"{job.log}"
    )
    assert "Traceback" not in job.log, f"{case}: a traceback in GIMP's output\n{job.log}"
    assert result["seconds"] <= DEGENERATE_CALL_BOUND_S, (
        f"{case}: the plug-in call took {result['seconds']:.1f} s"
    )
    layer = result["layer_before"]
    if case in ("1x300", "300x1"):
        # The core refuses images under 8 px: the user must be told that, in one line.
        assert result["status"] == "execution-error"
        assert "too small" in result["error"]
        assert f"{layer['width']}x{layer['height']}" in result["error"]
    if case == "grey":
        assert result["base_type"] == "gray"
    if case == "transparent":
        assert result["layer_before"]["has_alpha"]
    if result["status"] == "success":
        assert result["method_used"] in ("neural", "chroma", "grabcut")
        if DEGENERATE_CASES[case][1] != "auto":
            assert result["method_used"] == DEGENERATE_CASES[case][1]
        assert "Traceback" not in result["notes"]
        mask = job.raw("mask.raw", (layer["height"], layer["width"]))
        assert mask.shape == (layer["height"], layer["width"])
    else:
        assert result["status"] == "execution-error", f"{result['status']}: {result['error']}"
        assert_clean_message(result["error"], "the PDB error", job.log)
        # Refused means untouched.
        assert not result["layers"][0]["has_mask"] and len(result["layers"]) == 1


# Chroma key on backdrops that are neither green nor blue, steered from GIMP. All in one
# GIMP (run_jobs). The key colours are sRGB, as GIMP's colour dialogs show them.
CYAN, GREY = (0.0, 0.72, 0.78), (0.55, 0.55, 0.55)
CHROMA_CASES = {
    # The core's own estimate from the border: what Chroma key does by default.
    "cyan-estimated": ("cyan", {}, None),
    # GIMP's foreground colour, as the Color Picker leaves it.
    "cyan-foreground": ("cyan", {"key-source": "foreground"}, CYAN),
    # The colour chosen in the dialog, with every chroma control away from its default.
    "cyan-picked-tuned": (
        "cyan",
        {
            "key-source": "picked",
            "key-color": list(CYAN),
            "tolerance": 0.3,
            "softness": 0.4,
            "despill": False,
        },
        None,
    ),
    # A grey backdrop: no hue, so only a chosen key can name it.
    "grey-picked": ("grey", {"key-source": "picked", "key-color": list(GREY)}, None),
}


def backdrop_photo(colour: tuple[float, float, float], path: Path) -> np.ndarray:
    """A subject (an ellipse) on a uniform, slightly noisy backdrop of ``colour``; returns
    where the subject is. On cyan the astronaut's head and shoulders; on grey, whose key
    has no hue to tell it from white, black or grey, a subject of saturated warm colours
    (the astronaut's shading in orange to red), as a grey backdrop is used for."""
    from skimage.data import astronaut

    rgb = astronaut()[::2, ::2].astype(np.float32)
    if max(colour) - min(colour) < 0.1:
        shade = rgb.mean(axis=2, keepdims=True) / 255
        rgb = np.concatenate([0.6 + 0.4 * shade, 0.15 + 0.45 * shade, 0.1 * shade], axis=2) * 255
    height, width = rgb.shape[:2]
    rows, cols = np.mgrid[:height, :width]
    subject = ((rows - 150) / 105) ** 2 + ((cols - 128) / 80) ** 2 < 1
    noise = np.random.default_rng(15).normal(0, 2.0, rgb.shape)
    backdrop = np.asarray(colour, np.float32) * 255 + noise
    photo = np.where(subject[..., None], rgb, backdrop)
    Image.fromarray(np.clip(photo, 0, 255).round().astype(np.uint8)).save(path)
    return subject


@pytest.fixture(scope="module")
def chroma_runs(gimp, gimp_profile, tmp_path_factory) -> dict[str, tuple[JobResult, np.ndarray]]:
    folder = tmp_path_factory.mktemp("chroma")
    subjects = {}
    for name, colour in (("cyan", CYAN), ("grey", GREY)):
        subjects[name] = backdrop_photo(colour, folder / f"{name}.png")
    jobs = {}
    for case, (photo, args, foreground) in CHROMA_CASES.items():
        jobs[case] = {"input": str(folder / f"{photo}.png"), "args": {"method": "chroma", **args}}
        if foreground is not None:
            jobs[case]["foreground"] = list(foreground)
    results, seconds = run_jobs(gimp, gimp_profile, folder / "out", jobs)
    GIMP_TIMES.append((f"chroma key colours ({len(jobs)} calls in one GIMP)", seconds))
    runs = {}
    for case, job in results.items():
        assert job is not None and "status" in job.result, f"{case}: no result"
        # reference.py reads the job as run_job writes it, next to the job's output.
        (job.outdir / "job.json").write_text(json.dumps({**jobs[case], "outdir": str(job.outdir)}))
        runs[case] = (job, subjects[CHROMA_CASES[case][0]])
    return runs


def keyed_shares(gimp, job: JobResult, subject: np.ndarray) -> tuple[float, float]:
    """Check that the plug-in's mask is the core's; returns the mean alpha well inside the
    subject and well outside it (the backdrop)."""
    succeeded(job)
    assert job.result["method_used"] == "chroma"
    run_reference(gimp, job.outdir)
    expected = np.load(job.outdir / "alpha.npy")
    assert_alpha_close(job.raw("mask.raw", expected.shape) / np.float32(255), expected)
    from scipy import ndimage

    inside = ndimage.binary_erosion(subject, iterations=4)
    outside = ~ndimage.binary_dilation(subject, iterations=4)
    return float(expected[inside].mean()), float(expected[outside].mean())


def assert_keyed(gimp, job: JobResult, subject: np.ndarray) -> None:
    """The plug-in's mask is the core's, and it keeps the subject and drops the backdrop."""
    kept, backdrop = keyed_shares(gimp, job, subject)
    assert kept > 0.95, f"subject lost: {kept:.3f}"
    assert backdrop < 0.02, f"backdrop kept: {backdrop:.3f}"


def test_chroma_on_a_cyan_backdrop_with_the_estimated_key(gimp, chroma_runs):
    job, subject = chroma_runs["cyan-estimated"]
    result = job.result
    assert_keyed(gimp, job, subject)
    assert "Key colour: estimated from the border" in result["notes"]


def test_chroma_with_gimps_foreground_colour_as_key(gimp, chroma_runs):
    job, subject = chroma_runs["cyan-foreground"]
    assert_keyed(gimp, job, subject)
    assert "Key colour: GIMP's foreground colour" in job.result["notes"]


def test_chroma_with_a_chosen_colour_and_tuned_controls(gimp, chroma_runs):
    job, subject = chroma_runs["cyan-picked-tuned"]
    assert_keyed(gimp, job, subject)
    assert "Key colour: the colour chosen in the dialog" in job.result["notes"]


def test_chroma_with_a_chosen_colour_on_a_grey_backdrop(gimp, chroma_runs):
    job, subject = chroma_runs["grey-picked"]
    # The plug-in hands the core the grey key (the reference gets the same): equal masks.
    assert_keyed(gimp, job, subject)
    assert "Key colour: the colour chosen in the dialog" in job.result["notes"]


# After an interactive run GIMP says what ran and why; with ALPHACUT_DEBUG=1 the plug-in
# also prints each progress update to stderr, which GIMP passes on.
PROGRESS_LINE = re.compile(r"^alphacut-gimp: progress (\d\.\d+) (.*)$", re.MULTILINE)


def test_automatic_on_an_object_says_what_ran_and_fills_the_progress(
    gimp, gimp_ui_profile, photos, tmp_path
):
    job = run(
        gimp,
        gimp_ui_profile,
        tmp_path,
        {"input": str(photos["cat"]), "run_mode": "interactive"},
        "interactive: Automatic on a cat, message and progress",
        ui=[(DIALOG, "Return")],
        env={"ALPHACUT_DEBUG": "1"},
    )
    result = succeeded(job)
    # GIMP's own model cache is empty: the person model finds no person in a cat, so
    # GrabCut ran; the message names both and says how to do better.
    assert result["method_used"] == "grabcut"
    message = result["notes"]
    assert message.startswith("Remove Background: GrabCut, after the neural model selfie.")
    assert "auto: no person found" in message
    assert "choose isnet-imgly under Model" in message
    assert "select around the subject" in message
    # Shown by GIMP (gimp-console prints messages on its terminal), not only returned.
    assert "Remove Background: GrabCut, after the neural model selfie." in job.log

    fractions = [float(value) for value, _ in PROGRESS_LINE.findall(job.log)]
    steps = [text for _, text in PROGRESS_LINE.findall(job.log)]
    assert fractions == sorted(fractions), f"the bar went backwards: {fractions}"
    assert fractions[-1] == 1.0
    assert len({f for f in fractions if 0 < f < 1}) >= 3, f"the bar did not fill: {fractions}"
    for step in ("detect", "neural", "grabcut", "refine"):
        assert any(f": {step}…" in text for text in steps), f"no {step} step in {steps}"


def saved_values(profile: Path) -> str:
    """What GIMP saved of the last interactive run's dialog (GimpConfig text)."""
    [saved] = (profile / "plug-in-settings").glob(f"*{PROC_NAME}.last")
    return saved.read_text()


@pytest.mark.parametrize("refine", ["default", "off"])
def test_feather_is_insensitive_when_refine_is_off(gimp, gimp_ui_profile, photos, tmp_path, refine):
    # Refine edges to Off (two down from Default), then try to type a feather of 7: Alt+F
    # reaches an insensitive control not at all, so the 7 goes nowhere. Alt+O is OK.
    keys = "alt+e Down Down " if refine == "off" else ""
    keys += "alt+f ctrl+a 7 Tab alt+o"
    job = run(
        gimp,
        gimp_ui_profile,
        tmp_path,
        {"input": str(photos["small"]), "run_mode": "interactive"},
        f"interactive: feather with refine {refine}",
        ui=[(DIALOG, keys)],
    )
    succeeded(job)
    saved = saved_values(gimp_ui_profile)
    feather = float(re.search(r"\(feather ([-0-9.e+]+)\)", saved).group(1))
    if refine == "off":
        assert '(refine "off")' in saved, saved
        assert feather == core_feather_default(), f"an insensitive feather took {feather}"
    else:
        assert feather == 7.0, f"the keys did not reach the feather:\n{saved}"


def test_dialog_screenshots(gimp, gimp_ui_profile, photos, tmp_path):
    """The dialog as a user first sees it (Automatic), then with Chroma key chosen (two
    down the method list): the chroma frame appears. Kept under $ALPHACUT_GIMP_SHOTS."""
    shots = tmp_path / "shots"
    shots.mkdir()
    automatic, chroma = shots / "dialog-automatic.png", shots / "dialog-chroma.png"
    job = run(
        gimp,
        gimp_ui_profile,
        tmp_path,
        {"input": str(photos["small"]), "run_mode": "interactive"},
        "interactive: dialog screenshots",
        ui=[(DIALOG, f"shot:{automatic} alt+m Down Down shot:{chroma} Escape")],
    )
    assert job.result["status"] == "cancel", job.log
    with Image.open(automatic) as first, Image.open(chroma) as second:
        sizes = first.size, second.size
    # The chroma frame is hidden for Automatic: the window grows when it shows.
    assert sizes[1][1] > sizes[0][1] + 50, sizes
    keep = os.environ.get("ALPHACUT_GIMP_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in (automatic, chroma):
            shutil.copy2(shot, Path(keep) / shot.name)
