"""Fixtures for the tests that run a real GIMP 3 (marker ``gimp``).

Without a GIMP 3 they skip with the reason, unless ALPHACUT_REQUIRE_GIMP=1: then a missing
GIMP is an error (and, as root, an unprovisioned root is provisioned first).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

# The harness sits next to this file; make it importable whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gimp_harness import (  # noqa: E402
    GIMP_TIMES,
    GimpUnavailable,
    Runner,
    copy_plugin,
    find_runner,
    install_checkout,
    write_gimprc,
)


@pytest.fixture(scope="session")
def gimp(tmp_path_factory) -> Runner:
    required = os.environ.get("ALPHACUT_REQUIRE_GIMP") == "1"
    base = tmp_path_factory.getbasetemp()
    start = time.perf_counter()
    try:
        runner = find_runner([base])
        runner.stage_scripts(base / "gimp-scripts")
        install_checkout(runner)
    except GimpUnavailable as error:
        if required:
            pytest.fail(f"ALPHACUT_REQUIRE_GIMP=1 but: {error}", pytrace=False)
        pytest.skip(str(error))
    GIMP_TIMES.append(("setup: find GIMP, install the checkout", time.perf_counter() - start))
    return runner


@pytest.fixture(scope="session")
def gimp_profile(gimp, tmp_path_factory) -> Path:
    """A GIMP profile whose plug-in path holds the checkout's plug-in; shared by the tests
    because only the first start pays for querying every plug-in."""
    root = tmp_path_factory.mktemp("gimp-profile")
    plugins = root / "plug-ins-under-test"
    plugins.mkdir()
    copy_plugin(plugins)
    config = root / "config"
    write_gimprc(config, plugins)
    return config


@pytest.fixture()
def gimp_ui_profile(gimp, gimp_profile) -> Path:
    """gimp_profile for interactive runs, whose dialog then shows the defaults."""
    if not gimp.has_ui():
        pytest.skip("interactive tests need Xvfb and xdotool next to GIMP")
    # An interactive run saves its values here and the next dialog starts from them;
    # non-interactive runs save nothing.
    for saved in (gimp_profile / "plug-in-settings").glob("*alphacut-remove-background*"):
        saved.unlink()
    return gimp_profile


@pytest.fixture(scope="session")
def general_model_home(gimp, general_model, tmp_path_factory) -> dict[str, str]:
    """Environment for GIMP (and the reference) whose model cache holds the general model.

    GIMP runs with its own HOME (in the provisioned root, /root inside it), so the model
    is linked (or copied) from this machine's cache into an ALPHACUT_HOME under the shared
    temporary folder, which GIMP sees at the same path. Skips when the model is not
    installed here and cannot be (``general_model``, tests/conftest.py); with
    ALPHACUT_REQUIRE_MODELS=1 that is a failure.
    """
    from alphacut.models import download, get_spec

    source = download.cached_path(get_spec(general_model))
    home = tmp_path_factory.getbasetemp() / "alphacut-home"
    target = home / "models" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)
    return {"ALPHACUT_HOME": str(home)}


@pytest.fixture()
def offline_env(tmp_path) -> dict[str, str]:
    """Environment with an empty model cache and no way to download: a missing mirror
    folder, and every URL sent through a proxy port where nothing listens."""
    proxy = "http://127.0.0.1:9"
    return {
        "ALPHACUT_HOME": str(tmp_path / "empty-home"),
        "ALPHACUT_MODEL_MIRROR": str(tmp_path / "no-mirror"),
        "http_proxy": proxy,
        "https_proxy": proxy,
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
    }


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Test photos as PNG (lossless, so GIMP and the reference read identical pixels)."""
    from skimage.data import astronaut

    folder = tmp_path_factory.mktemp("photos")
    rgb = astronaut()
    paths = {"astronaut": folder / "astronaut.png", "grey": folder / "astronaut-grey.png"}
    Image.fromarray(rgb).save(paths["astronaut"])
    Image.fromarray(rgb).convert("L").save(paths["grey"])
    # Half size for the GrabCut runs: GrabCut is the slowest method, and it runs twice per
    # test (in GIMP and for the reference).
    paths["small"] = folder / "astronaut-small.png"
    Image.fromarray(rgb).resize((256, 256), Image.Resampling.LANCZOS).save(paths["small"])
    # alphacut's green-screen sample (napari's too): the person over an unevenly lit
    # screen, which Automatic keys.
    from alphacut.samples import green_screen_photo

    paths["greenscreen"] = folder / "greenscreen.png"
    Image.fromarray(green_screen_photo()).save(paths["greenscreen"])
    # Not a person: for the general model.
    from skimage.data import chelsea

    paths["cat"] = folder / "cat.png"
    Image.fromarray(chelsea()).save(paths["cat"])
    return paths


def pytest_terminal_summary(terminalreporter):
    if not GIMP_TIMES:
        return
    terminalreporter.section("GIMP run times")
    for name, seconds in GIMP_TIMES:
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
    total = sum(seconds for _, seconds in GIMP_TIMES)
    terminalreporter.write_line(f"{total:7.1f} s  total")
