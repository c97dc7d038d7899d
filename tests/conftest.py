"""Shared fixtures: photos that are always available, and the shared evaluation photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
