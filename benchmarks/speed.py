"""Speed and memory: the CLI end to end, against a floor and the rembg-style anchor.

Every CLI figure comes from a fresh process (``python -m alphacut``), timed from launch to
exit, with the peak resident memory the kernel reports for that process (``wait4``); the
median of ``--repeat`` runs is printed. Rows:

* ``alphacut`` PNG / WebP: the default job (``auto``: neural + refinement) on a photo of a
  person, with only the embedded model installed (a fresh install);
* ``floor``: a process that decodes the same JPEG and encodes the same cut-out (our alpha)
  with the same encoder, nothing else: what no background remover can go below;
* ``anchor``: pymatting's closed-form matting + ``estimate_foreground_ml`` at full
  resolution on a trimap eroded from the same person mask, then the same encoder: rembg's
  alpha-matting path (numba's compiled code is warmed up once beforehand, as rembg's users
  have it cached after their first run).

Further sections: ``inprocess`` (1 MP ``remove_background`` as napari waits for it, warm),
``grabcut`` (the GrabCut method alone and with refinement, beside ``grabcut()`` from the
automatic box alone, at several sizes, on a grey photo and on a photo of a cup; and on
each alphamatting photo at 1 MP, their median and slowest) and
``batch`` (a folder of people photos with ``--jobs 1``, ``--jobs 2`` and, with
dask.distributed installed, ``--scheduler`` on a LocalCluster of 2 worker processes of one
thread each, started beforehand as an existing cluster would be: the row counts the
workers' set-up, not the cluster's start).

The test photos are the largest shared people photo (``../shared/data/people``), or the
package's sample photo without it, scaled to each size; real 12 MP photos hold more fine
detail, so treat the figures as the cost of the pipeline, not of one camera's photos.

    python benchmarks/speed.py [--sizes 1 12 48] [--repeat 3] [--sections cli,grabcut,...]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DATA_DIR  # noqa: E402

SECTIONS = ("cli", "inprocess", "grabcut", "batch")
ANCHOR_SIZES = (1, 4)  # megapixels: pymatting's full-resolution solve needs ~GBs beyond
ERODE = 10  # rembg's default alpha_matting_erode_size


def _source_photo() -> tuple[np.ndarray, str]:
    """uint8 RGB photo of a person to scale, and where it came from."""
    people = DATA_DIR / "people" / "image"
    if people.is_dir():
        best, best_size = None, 0
        for path in sorted(people.glob("*.jpg")):
            height, width = cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_2).shape
            if height * width > best_size:
                best, best_size = path, height * width
        bgr = cv2.imread(str(best))
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), f"shared people photo {best.name}"
    from alphacut.samples import person_photo

    return person_photo(), "the package's sample photo (shared data absent)"


def _scaled(photo: np.ndarray, megapixels: float) -> np.ndarray:
    """``photo`` cropped to 4:3 and resized to about ``megapixels``."""
    height, width = photo.shape[:2]
    if width * 3 > height * 4:
        crop = int(height * 4 / 3)
        photo = photo[:, (width - crop) // 2 : (width - crop) // 2 + crop]
    else:
        crop = int(width * 3 / 4)
        photo = photo[(height - crop) // 2 : (height - crop) // 2 + crop]
    out_h = int(round(np.sqrt(megapixels * 1e6 * 3 / 4)))
    out_w = int(round(out_h * 4 / 3))
    return cv2.resize(photo, (out_w, out_h), interpolation=cv2.INTER_CUBIC)


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def _run(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of one process; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.strip()}")
    return seconds, usage.ru_maxrss / 1024**2  # Linux reports KiB


def _median_run(cmd: list[str], repeat: int, env: dict | None = None) -> tuple[float, float]:
    runs = [_run(cmd, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _median_seconds(call: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``call`` in this process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _row(name: str, seconds: float | None, peak: float | None, note: str = "") -> None:
    shown = "n/a" if seconds is None else f"{seconds:7.2f}"
    rss = "n/a" if peak is None else f"{peak:7.2f}"
    print(f"{name:34s} {shown:>8s} {rss:>8s}  {note}", flush=True)


# Worker modes: each runs in its own process, started by the parent like the CLI.


def _floor_worker(photo: str, alpha: str, out: str) -> None:
    from alphacut.io import read_image, write_image

    rgb = read_image(photo)
    rgba = np.dstack([rgb, np.load(alpha)])
    # The format from the name, as the CLI picks it: the same encoder settings.
    write_image(out, rgba, overwrite=True)


def _anchor_worker(photo: str, mask: str, out: str) -> None:
    from pymatting import estimate_alpha_cf, estimate_foreground_ml

    from alphacut.io import read_image, write_image

    rgb = read_image(photo).astype(np.float64) / 255
    subject = np.load(mask) >= 128
    kernel = np.ones((ERODE, ERODE), np.uint8)
    # rembg: definite where the eroded mask (or eroded background) says so, unknown between.
    trimap = np.full(subject.shape, 0.5)
    trimap[cv2.erode(subject.view(np.uint8), kernel) > 0] = 1.0
    background = cv2.erode((~subject).view(np.uint8), kernel, borderValue=1) > 0
    trimap[background] = 0.0
    alpha = estimate_alpha_cf(rgb, trimap)
    foreground = estimate_foreground_ml(rgb, alpha)
    rgba = np.dstack([foreground, alpha]).clip(0, 1)
    write_image(out, (rgba * 255 + 0.5).astype(np.uint8), overwrite=True)


def _cluster_worker(workers: int) -> None:
    """Run a LocalCluster until standard input closes; its address on standard output."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()


def _in_worker(argv: list[str], repeat: int) -> None:
    photo, origin = _source_photo()
    if argv[0] == "prepare":
        print(f"photos: {origin} ({photo.shape[1]}x{photo.shape[0]}), scaled", flush=True)
        _prepare(photo, [float(s) for s in argv[2:]], Path(argv[1]))
    elif argv[0] == "inprocess":
        section_inprocess(photo, repeat)
    elif argv[0] == "grabcut":
        section_grabcut(photo, repeat)


def _prepare(photo: np.ndarray, sizes: list[float], folder: Path) -> dict[float, Path]:
    """JPEGs at each size, plus our alpha (for the floor) and person mask (for the anchor)."""
    import alphacut

    paths = {}
    for size in sizes:
        path = folder / f"{size:g}mp.jpg"
        rgb = _scaled(photo, size)
        _write_jpeg(path, rgb)
        matte = alphacut.remove_background(rgb, method="neural", model="selfie", refine=False)
        np.save(folder / f"{size:g}mp-mask.npy", matte.mask.astype(np.uint8) * 255)
        refined = alphacut.remove_background(rgb)
        np.save(folder / f"{size:g}mp-alpha.npy", (refined.alpha * 255 + 0.5).astype(np.uint8))
        paths[size] = path
    return paths


def _fresh_install(folder: Path) -> dict[str, str]:
    """Environment of a fresh install: an empty model cache, no model preference."""
    empty_home = folder / "home"
    empty_home.mkdir(exist_ok=True)
    env = {**os.environ, "ALPHACUT_HOME": str(empty_home)}
    env.pop("ALPHACUT_MODEL", None)
    env["ALPHACUT_CONFIG"] = str(folder / "no-config.toml")
    return env


def section_cli(photos: dict[float, Path], folder: Path, repeat: int) -> None:
    env = _fresh_install(folder)
    me = [sys.executable, __file__]
    print(f"\nCLI end to end, median of {repeat} (embedded model only, as a fresh install)")
    print(f"{'row':34s} {'wall s':>8s} {'peak GB':>8s}")
    print("-" * 60)
    for size, photo in photos.items():
        stem = folder / f"{size:g}mp"
        for fmt in ("png", "webp"):
            out = folder / f"out-{size:g}.{fmt}"
            cli = [
                sys.executable,
                "-m",
                "alphacut",
                "-q",
                "--overwrite",
                str(photo),
                "-o",
                str(out),
            ]
            _row(f"alphacut {size:g} MP {fmt.upper()}", *_median_run(cli, repeat, env))
            floor = [*me, "--floor", str(photo), f"{stem}-alpha.npy", str(out)]
            _row(f"floor {size:g} MP {fmt.upper()}", *_median_run(floor, repeat, env))
        if size in ANCHOR_SIZES:
            anchor = [*me, "--anchor", str(photo), f"{stem}-mask.npy", str(folder / "anchor.png")]
            _row(f"anchor (pymatting) {size:g} MP PNG", *_median_run(anchor, repeat, env))


def section_inprocess(photo: np.ndarray, repeat: int) -> None:
    import alphacut

    rgb = _scaled(photo, 1)
    print(f"\nIn process, 1 MP, warm, median of {max(repeat, 5)} (what napari waits for)")
    print(f"{'row':34s} {'s':>8s}")
    print("-" * 60)
    for name, options in (
        ("auto (default, embedded model)", dict(model="selfie")),
        ("neural, no refinement", dict(method="neural", model="selfie", refine=False)),
    ):
        alphacut.remove_background(rgb, **options)
        seconds = _median_seconds(
            lambda options=options: alphacut.remove_background(rgb, **options), max(repeat, 5)
        )
        _row(name, seconds, None)


def section_grabcut(photo: np.ndarray, repeat: int) -> None:
    from skimage.data import coffee

    import alphacut
    from alphacut.methods.grabcut import grabcut

    print(f"\nGrabCut in process, median of {repeat}")
    print(
        "rows: the grabcut method as users get it (seeded by the person model, see"
        "\nalphacut.api.model_seeds), refined and not; baseline: grabcut() from the"
        "\nautomatic box alone"
    )
    print(f"{'row':34s} {'s':>8s}")
    print("-" * 60)
    cases = [(f"{size:g} MP", _scaled(photo, size)) for size in (0.1, 1, 12)]
    grey = cv2.cvtColor(cv2.cvtColor(cases[1][1], cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    cases.append(("1 MP grey", grey))
    cases.append(("1 MP cup, no person", _scaled(coffee(), 1)))
    cases.append(("12 MP cup, no person", _scaled(coffee(), 12)))
    alphacut.remove_background(cases[0][1], "grabcut")  # models loaded outside the timing
    for label, rgb in cases:
        for name, run in (
            ("baseline: box", lambda rgb=rgb: grabcut(rgb)),
            ("grabcut", lambda rgb=rgb: alphacut.remove_background(rgb, "grabcut", refine=False)),
            ("+ refine", lambda rgb=rgb: alphacut.remove_background(rgb, "grabcut")),
        ):
            _row(f"{name} {label}", _median_seconds(run, repeat), None)
    if (DATA_DIR / "matting").is_dir():
        _grabcut_on_objects(repeat)


def _grabcut_on_objects(repeat: int) -> None:
    """The grabcut method, unrefined, on each alphamatting photo scaled to 1 MP: plants,
    toys and nets, whose busy edges make the max-flow slower than a portrait's."""
    from _data import load_matting

    import alphacut

    seconds = {}
    for case in load_matting():
        rgb = _scaled(case.image, 1)
        seconds[case.name] = _median_seconds(
            lambda rgb=rgb: alphacut.remove_background(rgb, "grabcut", refine=False), repeat
        )
    slowest = max(seconds, key=seconds.__getitem__)
    photos = f"{len(seconds)} object photos"
    _row(f"grabcut 1 MP, {photos}", statistics.median(seconds.values()), None, "median")
    _row(f"grabcut 1 MP, {photos}", seconds[slowest], None, f"slowest: {slowest}")


def section_batch(folder: Path, count: int, jobs: list[int], cluster_workers: int) -> None:
    people = DATA_DIR / "people" / "image"
    batch = folder / "batch"
    batch.mkdir(exist_ok=True)
    if people.is_dir():
        for path in sorted(people.glob("*.jpg"))[:count]:
            shutil.copy(path, batch / path.name)
        what = f"{count} shared people photos"
    else:
        from alphacut.samples import person_photo

        for index in range(count):
            _write_jpeg(batch / f"{index}.jpg", person_photo())
        what = f"{count} copies of the sample photo"
    env = _fresh_install(folder)
    print(f"\nFolder batch, {what}, embedded model, one run each")
    print(f"{'row':34s} {'wall s':>8s} {'peak GB':>8s}  photos/s")
    print("-" * 60)
    base = None
    runs = [(f"--jobs {n}", ["--jobs", str(n)]) for n in jobs]
    if cluster_workers and importlib.util.find_spec("distributed") is not None:
        runs.append((f"LocalCluster, {cluster_workers} workers", None))
    for k, (name, options) in enumerate(runs):
        out = folder / f"batch-out-{k}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "alphacut", "-q", str(batch), "-o", str(out)]
        try:
            if options is None:
                seconds, peak = _run_on_cluster(cmd, cluster_workers, env)
            else:
                seconds, peak = _run([*cmd, *options], env)
        except RuntimeError as error:
            _row(name, None, None, str(error).splitlines()[-1][:60])
            continue
        base = base or seconds
        note = f"{count / seconds:.2f}  ({base / seconds:.2f}x)"
        _row(name, seconds, peak, note + ("  peak: the client's" if options is None else ""))


def _run_on_cluster(cmd: list[str], workers: int, env: dict) -> tuple[float, float]:
    """``cmd`` with ``--scheduler``, on a LocalCluster started (in a process of its own,
    with the same fresh install) before the clock starts."""
    me = [sys.executable, __file__, "--cluster-worker", str(workers)]
    with subprocess.Popen(
        me,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as cluster:
        address = cluster.stdout.readline().strip()
        try:
            return _run([*cmd, "--scheduler", address], env)
        finally:
            cluster.stdin.close()
            cluster.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 12, 48])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--batch-photos", type=int, default=50)
    parser.add_argument("--jobs", default="1,2", help="--jobs values for the batch section")
    parser.add_argument(
        "--cluster-workers",
        type=int,
        default=2,
        help="workers of the batch section's LocalCluster (0: no cluster row)",
    )
    parser.add_argument("--cluster-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--anchor", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        return _floor_worker(*args.floor)
    if args.anchor:
        return _anchor_worker(*args.anchor)
    if args.worker:
        return _in_worker(args.worker, args.repeat)
    if args.cluster_worker:
        return _cluster_worker(args.cluster_worker)

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    # This process stays small: the kernel reports a child's peak memory as at least this
    # process's own peak (the child starts as its copy), so everything heavy, even
    # preparing the photos, runs in worker processes.
    print(f"{os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="alphacut-speed-") as temp:
        folder = Path(temp)
        me = [sys.executable, __file__, "--repeat", str(args.repeat), "--worker"]
        if "cli" in sections:
            sizes = sorted(set(args.sizes) | set(ANCHOR_SIZES) | {0.05})
            # The floor's alpha is the one the CLI rows compute: fresh-install models.
            subprocess.run(
                [*me, "prepare", str(folder), *map(str, sizes)],
                check=True,
                env=_fresh_install(folder),
            )
            # numba compiles pymatting's kernels on first use and caches them: warm it up.
            anchor = [sys.executable, __file__, "--anchor", str(folder / "0.05mp.jpg")]
            _run([*anchor, str(folder / "0.05mp-mask.npy"), str(folder / "warm.png")])
            photos = {s: folder / f"{s:g}mp.jpg" for s in sizes if s != 0.05}
            section_cli(photos, folder, args.repeat)
        for name in ("inprocess", "grabcut"):
            if name in sections:
                subprocess.run([*me, name], check=True, env=_fresh_install(folder))
        if "batch" in sections:
            jobs = [int(j) for j in args.jobs.split(",")]
            section_batch(folder, args.batch_photos, jobs, args.cluster_workers)


if __name__ == "__main__":
    main()
