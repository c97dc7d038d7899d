"""The face and pose detectors that tell ``auto`` whether a photo shows a person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut, chelsea, coffee

from alphacut.methods.person_detection import PERSON_SCORE, detector_scores, shows_person

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_scores_are_probabilities_from_both_detectors():
    scores = detector_scores(astronaut())
    assert set(scores) == {"face", "pose"}
    assert all(0.0 <= s <= 1.0 for s in scores.values())


@pytest.mark.parametrize(
    ("photo", "expected"), [(astronaut, True), (coffee, False), (chelsea, False)]
)
def test_person_or_not_on_bundled_photos(photo, expected):
    person, score = shows_person(photo())
    assert person is expected
    assert (score >= PERSON_SCORE) is expected


def test_degenerate_images_finish_and_find_nobody():
    for image in (np.zeros((8, 500, 3)), np.ones((300, 9, 3)), np.full((64, 64, 3), 0.5)):
        assert shows_person(image)[0] is False


def _photos(folder, pattern, limit):
    if not folder.is_dir():
        pytest.skip(f"shared photos not found at {folder}")
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob(pattern))][:limit]


def test_finds_people_in_the_shared_people_photos():
    photos = _photos(SHARED_DATA / "people" / "image", "*.jpg", 30)
    found = sum(shows_person(photo)[0] for photo in photos)
    # 94 % over all 124 (benchmarks/person_detection.py); a sample of 30 keeps this quick.
    assert found >= 0.85 * len(photos)


def test_no_person_in_the_alphamatting_photos():
    # Plush toys with faces, a troll doll, plants: none is a person.
    photos = _photos(SHARED_DATA / "matting" / "image", "*.png", None)
    assert photos
    assert [shows_person(photo)[1] < PERSON_SCORE for photo in photos] == [True] * len(photos)
