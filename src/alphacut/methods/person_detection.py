"""Whether a photo shows a person, by MediaPipe's face and pose detectors.

The embedded segmentation model segments people only, yet it is just as sure of itself on
a plush toy as on a person (its mean probability over what it calls subject is 0.96–0.99
on several of the alphamatting toys). Two small detectors from the same MediaPipe wheel,
converted by :mod:`alphacut.models.tflite` and shipped with alphacut, answer the question
the segmenter cannot: the full-range face detector (faces up to about 5 m) and the pose
detector (a whole or partial body, which also fires on people seen from behind). Only their
score heads are read; no boxes are decoded.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from alphacut.convert import read_float_rgb
from alphacut.models import load_model

__all__ = ["DETECTORS", "PERSON_SCORE", "detector_scores", "shows_person"]

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"

# Detector name -> its ONNX file (NHWC float input in [-1, 1], outputs "boxes", "scores").
DETECTORS = {
    "face": WEIGHTS / "face_detection_full_range.onnx",
    "pose": WEIGHTS / "pose_detection.onnx",
}

# A person when either detector's best anchor scores at least this. Measured with
# benchmarks/person_detection.py: on the 124 shared people photos at least one detector
# reaches it on 94 %, while on the 12 alphamatting photos (toys with faces, plants, a
# troll) neither exceeds 0.64; MediaPipe's own default, 0.5, fires on three of the toys.
PERSON_SCORE = 0.7


def _letterbox(rgb: np.ndarray, side: int) -> np.ndarray:
    # The detectors were trained on square crops of undistorted photos: pad to a square
    # (black, as MediaPipe pads) instead of stretching, then shrink.
    # Shrinking before padding: padding first built a 190 MB canvas for a 12 MP photo.
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(rgb, size, interpolation=interpolation)
    canvas = np.zeros((side, side, 3), np.float32)
    top, left = (side - size[1]) // 2, (side - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = small
    return canvas


def detector_scores(image: np.ndarray, *, device: str = "cpu") -> dict[str, float]:
    """The best anchor's score (a probability) of each person detector.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB, uint8 or float in [0, 1].
    device : str
        ONNX Runtime device; the detectors take a few milliseconds on a CPU.

    Returns
    -------
    dict of str to float
        ``{"face": ..., "pose": ...}``, each in [0, 1].

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> scores = detector_scores(astronaut())
    >>> sorted(scores), scores["face"] > PERSON_SCORE
    (['face', 'pose'], True)
    """
    rgb = read_float_rgb(image)
    scores = {}
    for name, path in DETECTORS.items():
        session = load_model(path, device=device).session
        (tensor,) = session.get_inputs()
        batch = (_letterbox(rgb, tensor.shape[1]) * 2.0 - 1.0)[None].astype(np.float32)
        (raw,) = session.run(["scores"], {tensor.name: batch})
        best = float(np.clip(raw.max(), -100.0, 100.0))
        scores[name] = float(1.0 / (1.0 + np.exp(-best)))
    return scores


def shows_person(
    image: np.ndarray, *, threshold: float = PERSON_SCORE, device: str = "cpu"
) -> tuple[bool, float]:
    """Whether ``image`` shows a person, and the best detector score behind the verdict.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB, uint8 or float in [0, 1].
    threshold : float
        The score either detector must reach (:data:`PERSON_SCORE`).
    device : str
        ONNX Runtime device.

    Returns
    -------
    (bool, float)
        The verdict and the higher of the two detector scores.

    Examples
    --------
    >>> from skimage.data import astronaut, coffee
    >>> shows_person(astronaut())[0], shows_person(coffee())[0]
    (True, False)
    """
    best = max(detector_scores(image, device=device).values())
    return best >= threshold, best
