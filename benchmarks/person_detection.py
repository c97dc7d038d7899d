"""Does the photo show a person? Each rule against the shared people and alphamatting photos.

Every people photo shows a person and no alphamatting photo does (toys, plants, a troll, a
net), so a rule's hit rate on the first and its false alarms on the second say all. The
baseline row is the rule ``auto`` used before the detectors: the embedded person model's
mean probability over what it calls subject, at least 0.88.

    python benchmarks/person_detection.py [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _data import load_matting
from people import load_pairs

from alphacut.methods.neural import predict_probability
from alphacut.methods.person_detection import PERSON_SCORE, detector_scores
from alphacut.models import load_model

BASELINE_CONFIDENCE = 0.88


def _selfie_confidence(rgb: np.ndarray, selfie) -> float:
    probability = predict_probability(rgb, selfie, flip=True)
    subject = probability > 0.5
    return float(probability[subject].mean()) if subject.any() else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N people photos")
    args = parser.parse_args(argv)

    selfie = load_model("selfie", device="cpu")
    photos = {
        "people": [photo for _, photo, _ in load_pairs(args.limit)],
        "objects": [case.image for case in load_matting()],
    }
    features: dict[str, list[dict[str, float]]] = {}
    seconds = []
    for group, images in photos.items():
        features[group] = []
        for rgb in images:
            start = time.perf_counter()
            scores = detector_scores(rgb)
            seconds.append(time.perf_counter() - start)
            scores["selfie confidence"] = _selfie_confidence(rgb / 255.0, selfie)
            features[group].append(scores)

    rules = {
        f"baseline: selfie confidence >= {BASELINE_CONFIDENCE}": lambda s: (
            s["selfie confidence"] >= BASELINE_CONFIDENCE
        ),
        f"face >= {PERSON_SCORE}": lambda s: s["face"] >= PERSON_SCORE,
        f"pose >= {PERSON_SCORE}": lambda s: s["pose"] >= PERSON_SCORE,
        "face or pose >= 0.5 (MediaPipe's default)": lambda s: max(s["face"], s["pose"]) >= 0.5,
        f"face or pose >= {PERSON_SCORE} (auto)": lambda s: (
            max(s["face"], s["pose"]) >= PERSON_SCORE
        ),
    }
    people, objects = len(features["people"]), len(features["objects"])
    print(f"{people} people photos, {objects} alphamatting photos (no person in any)")
    print(f"{'rule':45s}  people found  false alarms")
    print("-" * 73)
    for name, rule in rules.items():
        found = sum(rule(s) for s in features["people"])
        alarms = sum(rule(s) for s in features["objects"])
        print(f"{name:45s}  {found / people:12.1%}  {alarms:6d} of {objects}")
    highest = {k: max(s[k] for s in features["objects"]) for k in ("face", "pose")}
    print(f"\nhighest detector scores on the alphamatting photos: {highest}")
    print(f"median detector time per photo: {np.median(seconds) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
