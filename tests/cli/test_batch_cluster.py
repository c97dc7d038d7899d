"""``alphacut DIR -o OUT --scheduler ADDRESS``: a batch on a Dask cluster, as the user
sees it: the same lines and exit status as on this machine; and the errors of a cluster
that is not there."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import alphacut.batch.cluster as cluster_module
from alphacut.cli import main


def run(capsys, *args) -> tuple[int, list[str]]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def report_lines(lines: list[str]) -> list[str]:
    """Stderr's lines less the progress bar's (timings) and the model's (where it runs)."""
    return [
        line
        for line in lines
        if not re.search(r"alphacut:\s+\d+%\|", line) and not line.startswith("alphacut: model ")
    ]


@pytest.fixture()
def shoot(tmp_path, person) -> Path:
    folder = tmp_path / "shoot"
    folder.mkdir()
    for k in range(5):
        Image.fromarray(np.roll(person[::4, ::4], 9 * k, axis=1)).save(folder / f"p{k}.png")
    (folder / "bad.png").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_cluster_batch_says_what_a_local_one_says(capsys, monkeypatch, tmp_path, shoot, scheduler):
    local = run(capsys, shoot, "-o", tmp_path / "local", "-j", "1", "--format", "jpg")
    remote = run(
        capsys, shoot, "-o", tmp_path / "remote", "--scheduler", scheduler, "--format", "jpg"
    )
    assert local[0] == remote[0] == 1
    assert report_lines(remote[1]) == report_lines(local[1])
    assert any(line.startswith("alphacut: model ") and "Dask workers" in line for line in remote[1])
    assert report_lines(local[1])[-3:] == [
        "alphacut: 2 failed:",
        f"  {shoot / 'bad.png'}: not an image file (it is text)",
        f"  {shoot / 'empty.jpg'}: empty file (0 bytes)",
    ]
    written = sorted(p.name for p in (tmp_path / "remote").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "local").iterdir())
    # From the environment, with names relative to this folder (the workers' is another).
    monkeypatch.setenv("ALPHACUT_SCHEDULER", scheduler)
    monkeypatch.chdir(tmp_path)
    code, lines = run(capsys, "shoot", "-o", "again", "-q")
    assert code == 1 and lines[-3:] == [
        "alphacut: 2 failed:",
        f"  {Path('shoot', 'bad.png')}: not an image file (it is text)",
        f"  {Path('shoot', 'empty.jpg')}: empty file (0 bytes)",
    ]
    assert len(list((tmp_path / "again").iterdir())) == 5


def test_jobs_wins_over_the_environment(capsys, monkeypatch, tmp_path, shoot):
    monkeypatch.setenv("ALPHACUT_SCHEDULER", "tcp://127.0.0.1:1")  # never contacted
    code, _ = run(capsys, shoot / "p0.png", shoot / "p1.png", "-o", tmp_path / "out", "-j", "1")
    assert code == 0 and len(list((tmp_path / "out").iterdir())) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-j", "2"], "--jobs is for a batch on this machine"),
        (["-o", "-"], "-o -: the cluster's workers write the outputs"),
    ],
)
def test_usage_errors_with_a_scheduler(capsys, shoot, args, message):
    with pytest.raises(SystemExit) as caught:
        main([str(shoot / "p0.png"), "--scheduler", "tcp://127.0.0.1:1", *args])
    lines = capsys.readouterr().err.splitlines()
    assert caught.value.code == 2 and len(lines) == 1 and message in lines[0]


def test_without_dask_one_line_says_what_to_install(capsys, monkeypatch, tmp_path, shoot):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(SystemExit) as caught:
        main([str(shoot), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    lines = capsys.readouterr().err.splitlines()
    assert caught.value.code == 2 and len(lines) == 1
    assert "pip install 'alphacut[cluster]'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_one_line(capsys, monkeypatch, tmp_path, shoot):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1)
    code, lines = run(capsys, shoot, "-o", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("alphacut: error: cannot reach the Dask scheduler at tcp://")


def test_a_long_rerun_lists_only_the_first_skipped_outputs(capsys, tmp_path, person):
    folder, out = tmp_path / "shoot", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    for k in range(23):
        Image.fromarray(person[::16, ::16]).save(folder / f"p{k:02d}.png")
        (out / f"p{k:02d}.png").write_bytes((folder / f"p{k:02d}.png").read_bytes())
    (out / "p01.png").write_bytes(b"")  # not a finished output: named with why
    code, lines = run(capsys, folder, "-o", out)
    assert code == 1
    at = lines.index(
        "alphacut: 23 skipped, their outputs already exist (use --overwrite to replace them):"
    )
    assert lines[at + 1 : at + 3] == [f"  {out / 'p00.png'}", f"  {out / 'p01.png'} (empty)"]
    assert lines[at + 21 :] == ["  ... and 3 more"]


def test_a_model_the_workers_cannot_load_is_one_line(capsys, tmp_path, shoot, scheduler):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    out = tmp_path / "out"
    code, lines = run(capsys, shoot, "-o", out, "--model", broken, "--scheduler", scheduler)
    assert code == 1
    assert lines[0].startswith(f"alphacut: error: cannot load model file {broken}")
    assert lines[0].endswith("(on the cluster's workers)")
    assert not out.exists() or not list(out.iterdir())
