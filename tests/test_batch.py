"""alphacut.batch: the same batch on this machine and on a Dask cluster, resumable reruns,
and a cluster whose workers die.

The cluster is a LocalCluster of 2 worker processes started here, shared by the module's
tests; the photos are small copies of scikit-image's astronaut, the model the embedded one.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.batch import remove_backgrounds
from alphacut.batch.resume import remove_partial, unfinished

PHOTOS = 40
BAD = {"notes.png": "text", "empty.jpg": "empty", "cut-short.png": "truncated"}


@pytest.fixture(scope="module")
def shoot(tmp_path_factory, person) -> list[Path]:
    """40 photos of a person, each shifted a little, and 3 bad files among them."""
    folder = tmp_path_factory.mktemp("shoot")
    small = person[::4, ::4]
    paths = []
    for k in range(PHOTOS):
        path = folder / f"p{k:02d}.png"
        Image.fromarray(np.roll(small, 3 * k, axis=1)).save(path)
        paths.append(path)
    (folder / "notes.png").write_text("not a photo")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "cut-short.png").write_bytes(paths[0].read_bytes()[:300])
    # The bad ones among the good, so that input order is tested too.
    for at, name in zip((3, 17, 31), BAD, strict=True):
        paths.insert(at, folder / name)
    return paths


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def summary(report) -> list[tuple]:
    return [
        (Path(f.source).name, f.status, [Path(o).name for o in f.written], f.problem, f.warnings)
        for f in report
    ]


def alphas(folder: Path) -> dict[str, bytes]:
    return {p.name: np.asarray(Image.open(p))[..., 3].tobytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def local_run(shoot, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    return remove_backgrounds(shoot, out), out


@pytest.fixture(scope="module")
def cluster_run(shoot, client, tmp_path_factory):
    out = tmp_path_factory.mktemp("cluster") / "out"
    start = time.perf_counter()
    report = remove_backgrounds(shoot, out, client=client)
    return report, out, time.perf_counter() - start


def test_cluster_batch_gives_the_local_outputs_and_report(local_run, cluster_run):
    local, local_out = local_run
    cluster, cluster_out, _ = cluster_run
    assert summary(cluster) == summary(local)
    assert local.counts() == {"written": PHOTOS, "failed": len(BAD)}
    failed = [(Path(f.source).name, f.problem) for f in local if f.status == "failed"]
    assert [name for name, _ in failed] == list(BAD)  # in input order
    assert alphas(cluster_out) == alphas(local_out)
    assert len(alphas(local_out)) == PHOTOS


def test_rerun_skips_finished_photos_quickly(shoot, client, cluster_run):
    _, out, first = cluster_run
    start = time.perf_counter()
    again = remove_backgrounds(shoot, out, client=client)
    seconds = time.perf_counter() - start
    assert again.counts() == {"skipped": PHOTOS, "failed": len(BAD)}
    assert all(why is None for f in again for _, why in f.skipped)  # all look finished
    assert seconds < 0.1 * first, (seconds, first)


def test_rerun_on_this_machine_resumes_and_overwrite_recomputes(shoot, local_run, tmp_path):
    _, done = local_run
    out = tmp_path / "out"
    out.mkdir()
    for name in ("p00.png", "p01.png"):  # as an interrupted batch left them
        (out / name).write_bytes((done / name).read_bytes())
    (out / "p02.png").write_bytes((done / "p02.png").read_bytes()[:-20])  # not ours: cut
    report = remove_backgrounds(shoot[:5], out, refine=False)
    assert [f.status for f in report] == ["skipped", "skipped", "skipped", "failed", "written"]
    assert report[str(shoot[2])].skipped == [(str(out / "p02.png"), "not a whole PNG file")]
    again = remove_backgrounds(shoot[:2], out, overwrite=True, refine=False)
    assert [f.status for f in again] == ["written", "written"]


def test_killing_a_worker_mid_batch_still_completes_it(shoot, client, local_run, tmp_path):
    _, local_out = local_run
    out = tmp_path / "out"
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one_when_started():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.is_dir() and len(list(out.glob("*.png"))) >= 3:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_when_started)
    killer.start()
    report = remove_backgrounds(shoot, out, client=client)
    killer.join()
    assert killed, "the batch ended before a worker could be killed"
    assert report.counts() == {"written": PHOTOS, "failed": len(BAD)}
    assert alphas(out) == alphas(local_out)
    assert not list(out.glob(".*.tmp"))
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the next tests


# Kills the worker process cutting out a photo whose first pixel is DEADLY, as the
# kernel's out-of-memory killer would; registered on every worker, restarted ones too.
DEADLY = [1, 2, 3]


class DeadlyPhoto:
    def setup(self, worker):
        import alphacut.batch.photo as photo

        real = photo.remove_background

        def remove_background(image, **options):
            if image[0, 0].tolist() == DEADLY:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(image, **options)

        photo.remove_background = remove_background


def test_a_photo_that_kills_its_workers_fails_alone(shoot, client, tmp_path):
    import cloudpickle
    from distributed.diagnostics.plugin import WorkerPlugin

    this = sys.modules[__name__]  # pickled by value: the workers cannot import it

    deadly = tmp_path / "deadly.png"
    pixels = np.asarray(Image.open(shoot[0])).copy()
    pixels[0, 0] = DEADLY
    Image.fromarray(pixels).save(deadly)
    plugin = type("Deadly", (DeadlyPhoto, WorkerPlugin), {})()
    scheduler = client.cluster.scheduler
    saved = scheduler.allowed_failures, scheduler.WORKER_SATURATION
    # Two deaths; each worker holds only the photo it runs, so only the deadly one is
    # blamed for them (with more queued on a worker, they would share the blame).
    scheduler.allowed_failures, scheduler.WORKER_SATURATION = 1, 1.0
    cloudpickle.register_pickle_by_value(this)
    try:
        client.register_plugin(plugin, name="deadly")
        photos = [shoot[0], deadly, shoot[1]]
        report = remove_backgrounds(photos, tmp_path / "out", client=client, refine=False)
    finally:
        client.unregister_worker_plugin("deadly")
        cloudpickle.unregister_pickle_by_value(this)
        scheduler.allowed_failures, scheduler.WORKER_SATURATION = saved
    assert [f.status for f in report] == ["written", "failed", "written"], [
        f.problem for f in report
    ]
    assert report[str(deadly)].problem.startswith("the workers cutting it out died, 2 times")
    client.wait_for_workers(2, timeout=60)


# --- Resuming: which existing outputs look finished --------------------------------------


def test_unfinished_outputs(tmp_path, shoot):
    source = shoot[0]
    whole = tmp_path / "whole.png"
    whole.write_bytes(source.read_bytes())
    assert unfinished(whole, source, "PNG") is None
    assert unfinished(whole, source, "JPEG") == "not a whole JPEG file"
    (tmp_path / "empty.png").write_bytes(b"")
    assert unfinished(tmp_path / "empty.png", source, "PNG") == "empty"
    old = source.stat().st_mtime_ns - 10**9
    os.utime(whole, ns=(old, old))
    assert unfinished(whole, source, "PNG") == "older than its input"
    assert unfinished(whole, "-", "PNG") is None  # standard input: no time to compare


def test_remove_partial_removes_only_temporary_files_of_the_outputs(tmp_path):
    kept = [".other.png.0123abcd.tmp", "a.png", ".a.png.0123abcd", ".a.png.xyz.tmp"]
    for name in [".a.png.0123abcd.tmp", *kept]:
        (tmp_path / name).write_bytes(b"")
    remove_partial([str(tmp_path / "a.png"), "-"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
