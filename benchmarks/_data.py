"""Loading the shared evaluation photos (never part of the repository).

The data lives beside the repository root, in ``../shared/data`` (see its README).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class MattingCase(NamedTuple):
    name: str
    image: np.ndarray  # uint8 HxWx3 RGB
    alpha: np.ndarray  # float64 HxW in [0, 1], the true matte
    trimaps: dict[str, np.ndarray]  # "trimap1"/"trimap2" -> float64 HxW, 0 / 0.5 / 1


def require(subdir: str) -> Path:
    """Return ``DATA_DIR / subdir`` or exit with a clear message when it is absent."""
    path = DATA_DIR / subdir
    if not path.is_dir():
        sys.exit(f"benchmark data not found: {path} (expected ../shared/data beside the repo)")
    return path


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_gray(path: Path) -> np.ndarray:
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise OSError(f"cannot read {path}")
    return gray.astype(np.float64) / 255.0


def load_matting() -> list[MattingCase]:
    """Load the alphamatting.com photos with their true alpha and both trimaps."""
    root = require("matting")
    cases = []
    for image_path in sorted((root / "image").glob("*.png")):
        name = image_path.name
        trimaps = {}
        for key in ("trimap1", "trimap2"):
            # The files store 0 / 128 / 255; snap so "unknown" is exactly 0.5.
            raw = _read_gray(root / key / name)
            trimaps[key] = np.where(raw < 0.25, 0.0, np.where(raw > 0.75, 1.0, 0.5))
        alpha = _read_gray(root / "alpha" / name)
        cases.append(MattingCase(image_path.stem, _read_rgb(image_path), alpha, trimaps))
    return cases


def sad_mse(alpha: np.ndarray, truth: np.ndarray, trimap: np.ndarray) -> tuple[float, float]:
    """SAD (sum of absolute differences / 1000) and MSE over the trimap's unknown region."""
    unknown = (trimap > 0) & (trimap < 1)
    diff = np.clip(alpha, 0.0, 1.0)[unknown] - truth[unknown]
    return float(np.abs(diff).sum() / 1000.0), float(np.mean(diff**2))
