"""The command line as a user runs it: files, folders, bad input, exit codes."""

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from test_read_image import bad_files  # noqa: E402


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def photo(tmp_path, person) -> Path:
    path = tmp_path / "astronaut.jpg"
    Image.fromarray(person).save(path, quality=92)
    return path


def run(capsys, *args) -> tuple[int, list[str]]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def test_person_photo_gives_rgba_with_soft_edge(tmp_path, photo):
    # Through the installed entry point, as a user would.
    out = tmp_path / "out.png"
    result = subprocess.run(
        [sys.executable, "-m", "alphacut", str(photo), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "neural" in result.stderr and "CPUExecutionProvider" in result.stderr
    assert re.search(r"outline \d+% unsure", result.stderr)
    cut = np.asarray(Image.open(out))
    assert cut.shape == (512, 512, 4)
    alpha = cut[..., 3]
    assert (alpha == 0).mean() > 0.2 and (alpha == 255).mean() > 0.2
    edge = (alpha > 0) & (alpha < 255)
    assert edge.sum() > 500, "alpha must be soft along the subject's edge"


def test_default_output_name_and_no_overwrite(capsys, photo):
    code, _ = run(capsys, photo, "--no-refine")
    target = photo.with_name("astronaut.cut.png")
    assert code == 0 and target.exists()
    before = digest(target)
    code, lines = run(capsys, photo, "--no-refine")
    assert code == 1 and len(lines) == 1 and "already exists" in lines[0]
    assert digest(target) == before
    assert run(capsys, photo, "--no-refine", "--overwrite")[0] == 0


@pytest.mark.parametrize("kind", ["empty", "truncated", "text", "bomb"])
def test_bad_input_one_line_error_inputs_untouched(capsys, tmp_path, person, kind):
    path = bad_files(tmp_path, person)[kind]
    before = digest(path)
    code, lines = run(capsys, path, "-o", tmp_path / "out.png")
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("alphacut: error: ") and str(path) in lines[0]
    assert digest(path) == before
    assert not (tmp_path / "out.png").exists()


def test_output_equal_to_input_is_refused(capsys, photo):
    before = digest(photo)
    code, lines = run(capsys, photo, "-o", photo, "--overwrite", "--format", "png")
    assert code == 1 and len(lines) == 1 and "overwrite the input" in lines[0]
    assert digest(photo) == before


def test_unwritable_output_folder(capsys, tmp_path, photo):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    immutable = False
    if os.geteuid() == 0:
        # root ignores permission bits; the immutable attribute stops root too.
        immutable = subprocess.run(["chattr", "+i", str(locked)], check=False).returncode == 0
        if not immutable:
            locked = Path("/sys")  # sysfs refuses new files, even to root
    before = digest(photo)
    try:
        code, lines = run(capsys, photo, "-o", locked / "out.png", "--no-refine")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=False)
    assert code == 1 and len(lines) == 1 and "cannot write" in lines[0]
    assert str(locked / "out.png") in lines[0]
    assert digest(photo) == before


def test_batch_carries_on_past_bad_files(capsys, tmp_path, person):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(person[::2, ::2]).save(folder / name)
    bad = bad_files(folder, person)
    before = {p: digest(p) for p in folder.iterdir()}
    out = tmp_path / "out"
    code, lines = run(capsys, folder, "-o", out, "--no-refine", "-q")
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    summary = lines[lines.index(next(line for line in lines if "failed:" in line)) :]
    assert summary[0] == f"alphacut: {len(bad)} failed:"
    assert {Path(line.split(":")[0].strip()).name for line in summary[1:]} == {
        p.name for p in bad.values()
    }
    assert {p: digest(p) for p in folder.iterdir()} == before


def test_folder_default_output_and_glob(capsys, tmp_path, person):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("one.jpg", "two.jpg"):
        Image.fromarray(person[::2, ::2]).save(folder / name)
    assert run(capsys, folder, "--no-refine", "-q")[0] == 0
    assert sorted(p.name for p in (tmp_path / "shoot-cut").iterdir()) == ["one.png", "two.png"]
    # Without -q the summary names the photos whose edges to check first, worst first.
    code, lines = run(capsys, folder, "--no-refine", "--overwrite")
    assert code == 0
    (check,) = [line for line in lines if "edges to check first" in line]
    shares = [int(share) for share in re.findall(r"\((\d+)%\)", check)]
    assert len(shares) == 2 and shares == sorted(shares, reverse=True)
    assert run(capsys, folder / "*.jpg", "--no-refine", "-q", "--format", "webp")[0] == 0
    assert (folder / "one.cut.webp").exists() and (folder / "two.cut.webp").exists()


def test_mask_only_background_colour_and_image(capsys, tmp_path, photo, person):
    assert run(capsys, photo, "-o", tmp_path / "mask.png", "--mask-only", "--no-refine")[0] == 0
    mask = np.asarray(Image.open(tmp_path / "mask.png"))
    assert mask.ndim == 2 and mask.max() == 255 and mask.min() == 0

    red = tmp_path / "red.png"
    assert run(capsys, photo, "-o", red, "--bg-color", "#ff0000", "--no-refine")[0] == 0
    composed = np.asarray(Image.open(red))
    assert composed.shape == (512, 512, 3)
    assert tuple(composed[20, 480]) == (255, 0, 0)

    backdrop = tmp_path / "backdrop.png"
    Image.fromarray(np.full((100, 300, 3), (0, 0, 255), np.uint8)).save(backdrop)
    out = tmp_path / "on-blue.png"
    assert run(capsys, photo, "-o", out, "--bg-image", backdrop, "--no-refine")[0] == 0
    assert tuple(np.asarray(Image.open(out))[20, 480]) == (0, 0, 255)


def test_jpeg_output_is_flattened_on_white_with_a_warning(capsys, tmp_path, photo):
    code, lines = run(capsys, photo, "-o", tmp_path / "cut.jpg", "--no-refine")
    assert code == 0
    assert any("warning" in line and "transparency" in line for line in lines)
    flat = np.asarray(Image.open(tmp_path / "cut.jpg"))
    assert flat[20, 480].min() > 235  # background became white, never black


def test_stdin_to_stdout(tmp_path, photo):
    result = subprocess.run(
        [sys.executable, "-m", "alphacut", "-", "--no-refine", "-q"],
        input=photo.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (tmp_path / "piped.png").write_bytes(result.stdout)
    assert np.asarray(Image.open(tmp_path / "piped.png")).shape == (512, 512, 4)


@pytest.mark.parametrize(
    "args",
    [
        ["--rect", "1,2,3"],
        ["--method", "magic"],
        ["--no-refine", "--band", "10"],
        ["--bg-color", "notacolour"],
        ["--mask-only", "--bg-color", "red"],
    ],
)
def test_usage_errors_exit_2(capsys, photo, args):
    with pytest.raises(SystemExit) as caught:
        main([str(photo), *args])
    assert caught.value.code == 2


def test_chroma_and_grabcut_methods(capsys, tmp_path, green_screen, photo):
    image, _ = green_screen
    screen = tmp_path / "screen.png"
    Image.fromarray(image).save(screen)
    code, lines = run(capsys, screen, "-o", tmp_path / "keyed.png")
    assert code == 0 and "chroma" in lines[-1]
    code, lines = run(
        capsys, photo, "-o", tmp_path / "gc.png", "-m", "grabcut", "--rect", "40,20,440,490"
    )
    assert code == 0 and "grabcut" in lines[-1]


def test_demo_says_where_it_wrote(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    written = [Path(line.split("wrote ", 1)[1]) for line in out.splitlines() if "wrote " in line]
    assert any(p.name == "astronaut.cut.png" for p in written)
    assert all(p.exists() for p in written)
    alpha = np.asarray(Image.open(tmp_path / "demo" / "astronaut.cut.png"))[..., 3]
    assert ((alpha > 0) & (alpha < 255)).sum() > 500


def test_refinement_switches(capsys, tmp_path, photo):
    outputs = {}
    variants = {
        "default": [],
        "no-refine": ["--no-refine"],
        "no-matting": ["--no-matting"],
        "no-feather": ["--feather", "0"],
        "wide-band": ["--band", "0.08"],
        "no-decontaminate": ["--no-decontaminate"],
    }
    for name, extra in variants.items():
        out = tmp_path / f"{name}.png"
        code, lines = run(capsys, photo, "-o", out, "-m", "neural", *extra)
        assert code == 0, lines
        outputs[name] = np.asarray(Image.open(out)).astype(int)
    alpha = {name: image[..., 3] for name, image in outputs.items()}
    colour = {name: image[..., :3] for name, image in outputs.items()}
    for name in ("no-refine", "no-matting", "no-feather", "wide-band"):
        assert np.abs(alpha[name] - alpha["default"]).sum() > 1000, name
    # Decontamination changes colours on the edge only, never the alpha.
    np.testing.assert_array_equal(alpha["no-decontaminate"], alpha["default"])
    edge = (alpha["default"] > 10) & (alpha["default"] < 245)
    assert np.abs(colour["no-decontaminate"] - colour["default"])[edge].mean() > 1
    solid = alpha["default"] == 255
    assert np.abs(colour["no-decontaminate"] - colour["default"])[solid].mean() < 1


def test_main_restores_the_signal_handlers(capsys, photo):
    import signal

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    run(capsys, photo, "-o", photo.with_name("restored.png"), "--no-refine")
    assert {s: signal.getsignal(s) for s in before} == before
    assert signal.set_wakeup_fd(-1) == -1  # no wake-up pipe left behind


def test_batch_reports_each_problem_once_at_the_end(capsys, tmp_path, person):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(person[::4, ::4]).save(folder / "good.png")
    (folder / "bad.png").write_text("not an image")
    code, lines = run(capsys, folder, "-o", tmp_path / "out", "--no-refine")
    assert code == 1
    assert sum("bad.png" in line for line in lines) == 1
    assert lines[-2:] == [
        "alphacut: 1 failed:",
        f"  {folder / 'bad.png'}: not an image file (it is text)",
    ]


def test_edges_to_check_name_the_frame_of_an_animation(capsys, tmp_path, person):
    folder = tmp_path / "shoot"
    folder.mkdir()
    small = Image.fromarray(person[::2, ::2])
    small.save(folder / "still.png")
    small.save(folder / "clip.tif", save_all=True, append_images=[small.transpose(0)])
    code, lines = run(capsys, folder, "--no-refine", "-o", tmp_path / "out")
    assert code == 0
    (check,) = [line for line in lines if "edges to check first" in line]
    for frame in (1, 2):
        assert f"clip.tif [frame {frame} of 2] (" in check
    assert "still.png (" in check


# --- --jobs: a batch in worker processes ---------------------------------------------------


def _report_lines(lines: list[str]) -> list[str]:
    """Stderr's lines less the progress bar's (timings) and the model's (thread counts)."""
    return [
        line
        for line in lines
        if not re.match(r"alphacut:\s+\d+%\|", line) and not line.startswith("alphacut: model ")
    ]


def test_jobs_2_writes_and_reports_as_jobs_1(capsys, tmp_path, person):
    folder = tmp_path / "shoot"
    folder.mkdir()
    small = Image.fromarray(person[::4, ::4])
    for k in range(4):
        Image.fromarray(np.roll(person[::4, ::4], 9 * k, axis=1)).save(folder / f"p{k}.png")
    small.save(folder / "clip.tif", save_all=True, append_images=[small.transpose(0)])
    (folder / "bad.png").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        # JPEG: every photo warns that transparency is flattened, so the warning's names
        # ("clip.tif (and 4 more)") show that warnings are replayed in input order.
        code, lines = run(capsys, folder, "-o", out, "--no-refine", "--format", "jpg", "-j", jobs)
        runs[jobs] = code, _report_lines(lines), {p.name: digest(p) for p in out.iterdir()}
    assert runs[2] == runs[1]
    code, lines, written = runs[1]
    assert code == 1 and len(written) == 6, lines
    assert lines[-3:] == [
        "alphacut: 2 failed:",
        f"  {folder / 'bad.png'}: not an image file (it is text)",
        f"  {folder / 'empty.jpg'}: empty file (0 bytes)",
    ]
    assert any(
        line.startswith(f"alphacut: warning: {folder / 'clip.tif'} (and 4 more): JPEG")
        for line in lines
    ), lines


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_jobs_must_be_a_positive_number(capsys, photo, value):
    with pytest.raises(SystemExit) as caught:
        main([str(photo), f"--jobs={value}"])
    assert caught.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("alphacut: error: argument -j/--jobs: ")


# Runs `alphacut ARGS` from a script whose top level also runs in each worker process (a
# spawned worker imports the parent's main script as __mp_main__): the hook given to
# jobs_script() then acts inside the workers only.
JOBS_SCRIPT = """\
import os, signal, sys, time

import alphacut.batch.photo as photo
import alphacut.io.write as write

IN_WORKER = __name__ == "__mp_main__"
{hook}
if __name__ == "__main__":
    # As from a terminal, even when this test run was started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from alphacut.cli import main

    sys.exit(main())
"""


def jobs_script(tmp_path: Path, hook: str, *args) -> tuple[subprocess.CompletedProcess, float]:
    script = tmp_path / "alphacut_with_hook.py"
    script.write_text(JOBS_SCRIPT.format(hook=hook))
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, time.monotonic() - start


def small_batch(tmp_path: Path, person: np.ndarray, count: int = 4) -> Path:
    folder = tmp_path / "shoot"
    folder.mkdir()
    for k in range(count):
        Image.fromarray(np.roll(person[::4, ::4], 9 * k, axis=1)).save(folder / f"p{k}.png")
    return folder


def temporary_files(folder: Path) -> list[Path]:
    return list(folder.rglob(".*.tmp"))


# In a worker's first write, once its temporary file exists: Ctrl-C to the parent, as a
# terminal sends it (the workers ignore theirs), and wait for the parent to stop us.
CTRL_C_MID_WRITE = """\
real_fsync = os.fsync

def fsync(fd):
    if IN_WORKER:
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(60)
    return real_fsync(fd)

write.os.fsync = fsync
"""

# The same, but the worker cannot act on SIGTERM: stuck in C with it blocked, as in a long
# fsync on a slow disk. The parent kills it and removes its temporary file itself.
CTRL_C_WHILE_WORKER_STUCK = """\
import ctypes

real_fsync = os.fsync

def fsync(fd):
    if IN_WORKER:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        os.kill(os.getppid(), signal.SIGINT)
        ctypes.CDLL(None).sleep(60)
    return real_fsync(fd)

write.os.fsync = fsync
"""


@pytest.mark.parametrize("hook", [CTRL_C_MID_WRITE, CTRL_C_WHILE_WORKER_STUCK])
def test_ctrl_c_in_a_parallel_batch_leaves_no_temporary_file(tmp_path, person, hook):
    folder = small_batch(tmp_path, person)
    out = tmp_path / "out"
    result, seconds = jobs_script(tmp_path, hook, folder, "-o", out, "--no-refine", "-j", 2)
    assert result.returncode == 130, result.stderr
    assert result.stderr.splitlines()[-1] == "alphacut: interrupted", result.stderr
    assert "Traceback" not in result.stderr and "failed" not in result.stderr
    assert not temporary_files(tmp_path)
    assert not out.exists() or not list(out.iterdir())  # each worker stopped in its first
    assert seconds < 40, "the parent waited for the stopped workers' sleep to end"


def test_ctrl_c_in_a_parallel_batch_stops_it_with_one_line(tmp_path, person):
    # As tests/corpus does for the default run, with two workers asked for explicitly.
    folder = small_batch(tmp_path, person, count=40)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "alphacut", folder, "-o", out, "-j", "2"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while not list(out.glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert process.returncode == 130, stderr
    assert lines[-1] == "alphacut: interrupted"
    assert not any("failed" in line or "written" in line or "Traceback" in line for line in lines)
    assert not temporary_files(tmp_path)
    for output in out.iterdir():
        assert np.asarray(Image.open(output)).shape[-1] == 4  # whole, or not there at all


def test_a_worker_that_dies_fails_its_photo_only(tmp_path, person):
    # p1.png kills the worker cutting it out, as the kernel's out-of-memory killer would.
    hook = """\
real = photo.remove_background

def remove_background(image, **options):
    if IN_WORKER and image[0, 0].tolist() == DEADLY:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(image, **options)

photo.remove_background = remove_background
"""
    folder = small_batch(tmp_path, person)
    deadly = np.asarray(Image.open(folder / "p1.png"))[0, 0].tolist()
    out = tmp_path / "out"
    hook = f"DEADLY = {deadly}\n{hook}"
    result, _ = jobs_script(tmp_path, hook, folder, "-o", out, "--no-refine", "-j", 2)
    assert result.returncode == 1, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p2.png", "p3.png"]
    assert result.stderr.splitlines()[-2:] == [
        "alphacut: 1 failed:",
        f"  {folder / 'p1.png'}: the process cutting it out was killed (SIGKILL: out of memory?)",
    ]


@pytest.mark.parametrize("debug", [False, True])
def test_workers_that_cannot_start_leave_the_batch_to_this_process(tmp_path, person, debug):
    hook = """\
import alphacut.batch.processes as processes

def no_luck(shared, threads):
    raise RuntimeError("no luck")

if IN_WORKER:
    processes._prepare = no_luck
"""
    folder = small_batch(tmp_path, person)
    out = tmp_path / "out"
    args = [folder, "-o", out, "--no-refine", "-j", 2] + ["--debug"] * debug
    result, _ = jobs_script(tmp_path, hook, *args)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"p{k}.png" for k in range(4)]
    warning = (
        "alphacut: warning: worker processes could not start (RuntimeError: no luck); "
        "cutting out one photo at a time"
    )
    lines = result.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.endswith(warning))  # after the bar
    if debug:  # the worker's traceback, sent as text, after the warning, in one piece
        start = lines.index("Traceback (most recent call last):", at)
        end = lines.index("RuntimeError: no luck", start)
        assert any("in _worker" in line for line in lines[start:end])
        assert not any(line.startswith("alphacut") for line in lines[start:end])  # no bar
    else:
        assert "Traceback" not in result.stderr


def test_debug_brings_each_failed_photos_traceback_back_from_its_worker(tmp_path, person):
    # Every photo fails inside the core, in the worker processes only: what the parent
    # prints of it, the workers sent.
    hook = """\
def remove_background(image, **options):
    raise RuntimeError("the core broke in pid " + str(os.getpid()))

if IN_WORKER:
    photo.remove_background = remove_background
"""
    folder = small_batch(tmp_path, person, count=3)
    args = [folder, "-o", tmp_path / "out", "--no-refine", "-q", "-j", 2]
    plain, _ = jobs_script(tmp_path, hook, *args)
    debug, _ = jobs_script(tmp_path, hook, *args, "--debug")
    for result in (plain, debug):
        assert result.returncode == 1, result.stderr
    assert "Traceback" not in plain.stderr
    lines = debug.stderr.splitlines()
    failures = lines[lines.index("alphacut: 3 failed:") + 1 :]

    def named(lines):  # the failures' own lines, pids aside
        return [re.sub(r"pid \d+", "pid N", line) for line in lines if line.startswith("  /")]

    assert named(failures) == named(plain.stderr.splitlines())
    for k in range(3):
        at = next(i for i, line in enumerate(failures) if line.startswith(f"  {folder}/p{k}.png:"))
        assert failures[at + 1] == "Traceback (most recent call last):"
        end = next(i for i in range(at + 1, len(failures)) if failures[i].startswith("Runtime"))
        assert failures[end].startswith("RuntimeError: the core broke in pid ")
        assert any(line.endswith(" in cut_out") for line in failures[at:end])
