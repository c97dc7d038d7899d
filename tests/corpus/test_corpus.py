"""The real ``alphacut`` command, in subprocesses, on a corpus of bad and unusual inputs
and situations made at test time: every case has its exit status, its one line (or none),
its output present or absent, its input unchanged, and no traceback anywhere.

Many cases share one invocation (a batch over a folder of bad files checks each file's
own line), so that the corpus runs in about a minute on two busy cores.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.io.paths import display

from .makers import INPUT_CASES, InputCase, frame_photo, photo, save

# Beside the conftest's ALPHACUT_MODEL=selfie: the person model runs in milliseconds.
ENV = {**os.environ, "ALPHACUT_MODEL": "selfie", "PYTHONIOENCODING": "utf-8"}
COMMAND = [sys.executable, "-m", "alphacut"]


@dataclass
class Result:
    """What one run of the command left: status, output streams, stderr's lines."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Non-empty stderr lines, the progress bar's redraws dropped."""
        lines = []
        for line in self.stderr.splitlines():
            line = line.rsplit("\r", 1)[-1]
            if line.strip() and not re.match(r"alphacut:\s+\d+%\|", line):
                lines.append(line)
        return lines


def alphacut(*args, cwd: Path | None = None, stdin: bytes = b"", timeout: float = 120) -> Result:
    """Run ``python -m alphacut ARGS`` as a user would, and check what every case needs:
    no traceback, no Python warning printed raw, nothing on stdout but images."""
    done = subprocess.run(
        [*COMMAND, *(os.fspath(a) for a in args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=ENV,
        timeout=timeout,
        check=False,
    )
    result = Result(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))
    _assert_clean(result)
    return result


def _assert_clean(result: Result) -> None:
    text = result.stderr + result.stdout.decode("latin-1")
    assert "Traceback" not in text, result.stderr
    assert "warnings.warn(" not in text and "Warning:" not in text, result.stderr


def digest(path: Path) -> tuple[str, int, int]:
    """Content, size and modification time, to prove an input was not touched."""
    info = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_size, info.st_mtime_ns


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every regular file under ``folder``, by path, with :func:`digest`; links and pipes
    by what they are (a pipe must stay a pipe)."""
    state = {}
    for path in folder.rglob("*"):
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode):
            state[str(path)] = digest(path)
        else:
            state[str(path)] = (stat.S_IFMT(mode), os.readlink(path) if path.is_symlink() else "")
    return state


def temporary_files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob(".*.tmp")]


def read_rgba(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGBA", f"{path.name}: {image.mode}"
        return np.asarray(image)


def one_line(result: Result, pattern: str) -> str:
    """The single stderr line, which must match ``pattern``."""
    assert len(result.lines) == 1, result.lines
    assert re.search(pattern, result.lines[0]), result.lines[0]
    return result.lines[0]


# --- A batch over one folder of bad and unusual files -------------------------------------


@pytest.fixture(scope="module")
def folder_batch(tmp_path_factory) -> tuple[Path, Path, Result, dict, dict]:
    root = tmp_path_factory.mktemp("corpus")
    folder = root / "inputs"
    folder.mkdir()
    for case in INPUT_CASES:
        case.make(folder / case.name)
    before = snapshot(folder)
    out = root / "out"
    result = alphacut(folder, "-o", out)
    return folder, out, result, before, snapshot(folder)


def _outputs(out: Path, case: InputCase) -> list[Path]:
    stem = Path(case.name).stem
    if case.frames == 1:
        return [out / f"{stem}.png"]
    return [out / f"{stem}-{k:03d}.png" for k in range(1, case.frames + 1)]


@pytest.mark.parametrize("case", INPUT_CASES, ids=[display(c.name) for c in INPUT_CASES])
def test_folder_batch_case(folder_batch, case: InputCase):
    folder, out, result, before, after = folder_batch
    name = display(folder / case.name)
    mentions = [line for line in result.lines if name in line]
    outputs = _outputs(out, case)
    if case.error is not None:
        # Reported once, at the end, as "  <file>: <problem>"; nothing written.
        assert len(mentions) == 1, mentions
        assert re.fullmatch(rf"  {re.escape(name)}: .*{case.error}.*", mentions[0]), mentions
        assert not any(p.exists() for p in outputs)
    else:
        # A good file may be named by a warning or among the edges to check first, never
        # as a failure.
        check_first = "alphacut: edges to check first"
        assert not [m for m in mentions if "warning" not in m and check_first not in m]
        for output in outputs:
            assert output.is_file(), f"{output.name} missing; stderr: {result.lines}"
            rgba = read_rgba(output)
            for check in case.checks:
                problem = check(rgba)
                assert problem is None, problem
    for path in (folder / case.name, *(folder / case.name).parent.glob(f".{case.name}.*")):
        if str(path) in before:
            assert after[str(path)] == before[str(path)], "the input was modified"


def test_folder_batch_summary(folder_batch):
    folder, out, result, before, after = folder_batch
    bad = [c for c in INPUT_CASES if c.error is not None]
    assert result.code == 1
    assert result.stdout == b""
    assert f"alphacut: {len(INPUT_CASES) - len(bad)} of {len(INPUT_CASES)} written" in result.lines
    assert f"alphacut: {len(bad)} failed:" in result.lines
    assert after == before, "inputs were modified, added or removed"
    assert not temporary_files(folder, out)
    # The damaged EXIF block: one line of ours, not PIL's two-line warnings (twice).
    exif = [line for line in result.lines if "EXIF" in line]
    assert len(exif) == 1 and "damaged-exif.jpg" in exif[0], exif
    assert exif[0].startswith("alphacut: warning: ")


# --- Explicit inputs of every kind, in one batch -------------------------------------------


@dataclass(frozen=True)
class Explicit:
    """An argument given on the command line, and its outcome in the batch."""

    argument: str
    error: str | None  # pattern of its line, or None when written
    outputs: tuple[str, ...] = ()


EXPLICIT = (
    Explicit("missing.jpg", r"no such file$"),
    Explicit("afile/photo.jpg", r"no such file \(afile is a file, not a folder\)"),
    Explicit("nofolder/photo.jpg", r"no such file$"),
    Explicit("loop-a.jpg", r"symbolic link loop"),
    Explicit("nomatch-*.png", r"no file matches this pattern"),
    Explicit("empty-folder", r"folder holds no images"),
    Explicit("text-folder", r"folder holds no images"),
    Explicit("folder.jpg", r"folder holds no images"),
    Explicit("<stdin>", r"standard input can only be used alone"),
    Explicit("-dash.jpg", None, ("-dash.png",)),
    Explicit("one/same.jpg", None, ("same.png",)),
    Explicit("two/same.jpg", r"same output name as one/same\.jpg \(out/same\.png\)"),
    Explicit("link-to-photo.jpg", None, ("link-to-photo.png",)),
    Explicit("globbed/*.jpg", None, ("g1.png", "g2.png")),
    Explicit("shoot", None, ("s1.png",)),
    Explicit("new\nline.png", r"not an image file"),
    Explicit("unreadable.png", r"permission denied"),
)


@pytest.fixture(scope="module")
def explicit_batch(tmp_path_factory) -> tuple[Path, Result, dict]:
    root = tmp_path_factory.mktemp("explicit")
    good = photo(64)
    (root / "afile").write_bytes(b"a file, not a folder")
    os.symlink("loop-b.jpg", root / "loop-a.jpg")
    os.symlink("loop-a.jpg", root / "loop-b.jpg")
    (root / "empty-folder").mkdir()
    (root / "text-folder").mkdir()
    (root / "text-folder" / "notes.txt").write_text("no photos here")
    (root / "folder.jpg").mkdir()
    save(root / "-dash.jpg", good)
    for sub in ("one", "two", "globbed", "shoot"):
        (root / sub).mkdir()
    save(root / "one" / "same.jpg", good)
    save(root / "two" / "same.jpg", good[::-1])
    save(root / "real.jpg", good)
    os.symlink("real.jpg", root / "link-to-photo.jpg")
    save(root / "globbed" / "g1.jpg", good)
    save(root / "globbed" / "g2.jpg", good[:, ::-1])
    save(root / "shoot" / "s1.jpg", good)
    (root / "new\nline.png").write_text("text")
    save(root / "unreadable.png", good)
    os.chmod(root / "unreadable.png", 0)
    before = snapshot(root)
    arguments = ["-" if case.argument == "<stdin>" else case.argument for case in EXPLICIT]
    result = alphacut("-o", "out", "--", *arguments, cwd=root)
    return root, result, before


@pytest.mark.parametrize("case", EXPLICIT, ids=[display(c.argument) for c in EXPLICIT])
def test_explicit_batch_case(explicit_batch, case: Explicit):
    root, result, before = explicit_batch
    if case.argument == "unreadable.png" and os.geteuid() == 0:
        pytest.skip("root reads any file: no permission problem to report")
    name = display(case.argument)
    if case.error is not None:
        mentions = [line for line in result.lines if line.startswith(f"  {name}: ")]
        assert len(mentions) == 1, result.lines
        assert re.search(case.error, mentions[0]), mentions[0]
    for output in case.outputs:
        assert read_rgba(root / "out" / output).shape[:2] == (64, 64)


def test_explicit_batch_summary(explicit_batch):
    root, result, before = explicit_batch
    assert result.code == 1
    failed = sum(
        1
        for c in EXPLICIT
        if c.error is not None and not (c.argument == "unreadable.png" and os.geteuid() == 0)
    )
    assert f"alphacut: {failed} failed:" in result.lines
    after = snapshot(root)
    out = root / "out"
    assert {k: v for k, v in after.items() if not Path(k).is_relative_to(out)} == before
    assert not temporary_files(root)


# --- What stands where an output goes ------------------------------------------------------

OUTPUT_SITUATIONS = {
    # output name -> pattern of the refusal, or None when it is (re)written
    "fifo.png": r"is a named pipe, not a regular file",
    "folder.png": r"is a folder; give a file name",
    "folder-link.png": r"is a symbolic link to a folder; give a file name",
    "device-link.png": r"is a symbolic link to a character device, not a regular file",
    "dangling.png": r"is a broken symbolic link",
    "loop.png": r"is a symbolic link loop",
    "regular.png": None,
    "read-only.png": None,
    "file-link.png": None,
}


@pytest.fixture(scope="module")
def output_batch(tmp_path_factory) -> tuple[Path, Result]:
    root = tmp_path_factory.mktemp("outputs")
    inputs, out, elsewhere = root / "in", root / "out", root / "elsewhere"
    for folder in (inputs, out, elsewhere):
        folder.mkdir()
    for k, name in enumerate(OUTPUT_SITUATIONS):
        save(inputs / f"{Path(name).stem}.jpg", np.roll(photo(64), 5 * k, axis=1))
    os.mkfifo(out / "fifo.png")
    (out / "folder.png").mkdir()
    os.symlink(elsewhere, out / "folder-link.png")
    os.symlink(os.devnull, out / "device-link.png")
    os.symlink("gone.png", out / "dangling.png")
    os.symlink("loop.png", out / "loop.png")
    (out / "regular.png").write_bytes(b"old")
    (out / "read-only.png").write_bytes(b"old")
    os.chmod(out / "read-only.png", 0o444)
    (elsewhere / "real.png").write_bytes(b"old")
    os.symlink(elsewhere / "real.png", out / "file-link.png")
    # One input inside the output folder: its output would be itself.
    save(out / "self.png", photo(64))
    result = alphacut(inputs, out / "self.png", "-o", out, "--overwrite")
    return root, result


@pytest.mark.parametrize("name", list(OUTPUT_SITUATIONS))
def test_output_situation(output_batch, name):
    root, result = output_batch
    out = root / "out"
    pattern = OUTPUT_SITUATIONS[name]
    mentions = [line for line in result.lines if str(out / name) in line]
    if pattern is None:
        assert not mentions, mentions
        assert read_rgba(out / name).shape == (64, 64, 4)
    else:
        assert len(mentions) == 1 and re.search(pattern, mentions[0]), mentions


def test_output_situations_leave_other_things_alone(output_batch):
    root, result = output_batch
    out = root / "out"
    assert result.code == 1
    assert stat.S_ISFIFO((out / "fifo.png").lstat().st_mode)
    assert (out / "folder.png").is_dir() and (out / "folder-link.png").is_symlink()
    assert os.readlink(out / "device-link.png") == os.devnull
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert os.readlink(out / "dangling.png") == "gone.png"
    # Written through the link: the link stays, the file it names is the cut-out.
    assert (out / "file-link.png").is_symlink()
    assert read_rgba(root / "elsewhere" / "real.png").shape == (64, 64, 4)
    assert stat.S_IMODE((out / "read-only.png").stat().st_mode) == 0o444
    self_line = [line for line in result.lines if "self.png" in line]
    assert len(self_line) == 1 and "overwrite the input" in self_line[0]
    assert not temporary_files(root)


# --- Rerunning a batch ---------------------------------------------------------------------


def test_rerun_skips_existing_outputs_before_any_work(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for k in range(3):
        save(shoot / f"p{k}.jpg", np.roll(photo(64), 9 * k, axis=0))
    first = alphacut(shoot, "-q")
    assert first.code == 0 and first.lines == []
    outputs = sorted((tmp_path / "shoot-cut").iterdir())
    written = {p: digest(p) for p in outputs}
    (tmp_path / "shoot-cut" / "p1.png").unlink()

    again = alphacut(shoot)
    assert again.code == 1
    assert "alphacut: 1 of 3 written" in again.lines
    assert "alphacut: 2 skipped, their outputs already exist" in " ".join(again.lines)
    for output in (outputs[0], outputs[2]):
        assert sum(display(output) in line for line in again.lines) == 1, again.lines
        assert digest(output) == written[output]

    # Nothing left to do: the model is not even loaded.
    third = alphacut(shoot)
    assert third.code == 1 and not any("model" in line for line in third.lines)
    assert sum("already exist" in line for line in third.lines) == 1
    assert len([line for line in third.lines if line.startswith("  ")]) == 3


# --- One invocation per situation ----------------------------------------------------------


@pytest.fixture()
def folder(tmp_path) -> Path:
    save(tmp_path / "photo.jpg", photo(64))
    return tmp_path


def test_file_name_starting_with_dash(folder):
    save(folder / "-x.jpg", photo(64))
    refused = alphacut("-x.jpg", cwd=folder)
    assert refused.code == 2
    one_line(refused, r"^alphacut: error: .*-x\.jpg was taken for an option: put -- before")
    done = alphacut("--", "-x.jpg", cwd=folder)
    assert done.code == 0 and (folder / "-x.cut.png").is_file()


def test_no_input_is_one_usage_line(folder):
    result = alphacut(cwd=folder)
    assert result.code == 2
    one_line(result, r"^alphacut: error: the following arguments are required: INPUT")


@pytest.mark.parametrize(
    ("output", "pattern"),
    [
        ("afile/out.png", r"afile is a file, not a folder"),
        ("missing/out.png", r"folder missing does not exist"),
        ("out.xyz", r"unknown output format 'xyz'"),
    ],
)
def test_output_path_problems_are_named(folder, output, pattern):
    (folder / "afile").write_text("a file")
    result = alphacut("photo.jpg", "-o", output, cwd=folder)
    assert result.code in (1, 2)
    one_line(result, pattern)
    assert not (folder / output).exists() if "afile" not in output else True


def test_single_output_fifo_is_refused_even_with_overwrite(folder):
    os.mkfifo(folder / "pipe.png")
    result = alphacut("photo.jpg", "-o", "pipe.png", "--overwrite", cwd=folder, timeout=60)
    assert result.code == 1
    one_line(result, r"pipe\.png: is a named pipe, not a regular file")
    assert stat.S_ISFIFO((folder / "pipe.png").lstat().st_mode)


def test_single_existing_output_one_line(folder):
    (folder / "out.png").write_bytes(b"precious")
    result = alphacut("photo.jpg", "-o", "out.png", cwd=folder)
    assert result.code == 1
    one_line(result, r"^alphacut: error: out\.png: already exists \(use --overwrite")
    assert (folder / "out.png").read_bytes() == b"precious"


def test_output_name_too_long(folder):
    name = "n" * 249 + ".jpg"  # 253 bytes fit; its output name "n...n.cut.png" does not
    save(folder / name, photo(64))
    result = alphacut(name, cwd=folder)
    assert result.code == 1
    one_line(result, r"(cannot write|name too long)")
    assert not temporary_files(folder)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", r"<stdin>: empty input \(0 bytes\)"),
        (b"GIF89a\x00\x00garbage", r"<stdin>: corrupt GIF image"),
        (b"plain text, not a picture\n", r"<stdin>: not an image file \(it is text\)"),
    ],
)
def test_standard_input_problems(data, pattern):
    result = alphacut("-", "-o", "-", stdin=data)
    assert result.code == 1 and result.stdout == b""
    one_line(result, pattern)


def test_animation_from_standard_input(tmp_path):
    animation = tmp_path / "anim.gif"
    frames = [Image.fromarray(np.roll(photo(64), 8 * k, axis=1)) for k in range(3)]
    frames[0].save(animation, save_all=True, append_images=frames[1:], duration=80)
    refused = alphacut("-", stdin=animation.read_bytes())
    assert refused.code == 1 and refused.stdout == b""
    one_line(refused, r"<stdin>: has 3 frames and standard output takes one image")
    done = alphacut("-", "-o", tmp_path / "out.png", "-q", stdin=animation.read_bytes())
    assert done.code == 0
    assert sorted(p.name for p in tmp_path.glob("out-*.png")) == [
        "out-001.png",
        "out-002.png",
        "out-003.png",
    ]


def test_animation_beside_input_and_partial_rerun(tmp_path):
    animation = tmp_path / "anim.webp"
    frames = [Image.fromarray(np.roll(photo(64), 8 * k, axis=1)) for k in range(3)]
    frames[0].save(animation, save_all=True, append_images=frames[1:], duration=80)
    first = alphacut(animation)
    assert first.code == 0
    assert sum("[frame" in line for line in first.lines) == 3
    names = ["anim-001.cut.png", "anim-002.cut.png", "anim-003.cut.png"]
    assert sorted(p.name for p in tmp_path.glob("*.cut.png")) == names
    (tmp_path / names[1]).unlink()
    again = alphacut(animation)
    assert again.code == 1  # two outputs existed: said once each
    assert sum("already exists" in line for line in again.lines) == 2
    assert (tmp_path / names[1]).is_file()


def test_broken_pipe_on_standard_output(folder):
    process = subprocess.Popen(
        [*COMMAND, "photo.jpg", "-o", "-", "-q"],
        cwd=folder,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader is gone before the image comes
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr


def test_several_inputs_with_a_file_as_output(folder):
    (folder / "existing.png").write_bytes(b"x")
    result = alphacut("photo.jpg", "photo.jpg", "-o", "existing.png", cwd=folder)
    assert result.code == 2
    one_line(result, r"several inputs need a folder")
    result = alphacut("photo.jpg", folder, "-o", "existing.png/sub", cwd=folder)
    assert result.code == 2
    one_line(result, r"existing\.png is a file, not a folder")


def test_control_characters_in_single_name(tmp_path):
    name = "\x1b[31mred\u202etxt.jpg"
    (tmp_path / name).write_text("no image")
    result = alphacut(name, cwd=tmp_path)
    assert result.code == 1
    line = one_line(result, r"not an image file")
    assert "\x1b" not in line and "\u202e" not in line
    assert "\\x1b[31mred\\u202etxt.jpg" in line


def test_damaged_exif_single_photo_one_warning(tmp_path):
    source = next(c for c in INPUT_CASES if c.name == "damaged-exif.jpg")
    path = source.make(tmp_path / "shot.jpg")
    result = alphacut(path, "-o", tmp_path / "out.png")
    assert result.code == 0
    warned = [line for line in result.lines if "warning" in line]
    assert warned == [f"alphacut: warning: {path}: damaged EXIF metadata was ignored"]
    assert result.lines[0].startswith(f"{path} -> ")


# --- Signals -------------------------------------------------------------------------------

# The console script, `from alphacut.cli import main; sys.exit(main())`, with a hook that
# sends the signal at a chosen moment: deterministic, unlike a timer.
SIGNAL_AT = textwrap.dedent(
    """
    import os, signal, sys

    when, signum = sys.argv[1], getattr(signal, sys.argv[2])
    # As from a terminal: a test run started in the background inherits SIGINT ignored,
    # which alphacut rightly keeps ignoring (as under nohup).
    signal.signal(
        signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
    )
    sys.argv = ["alphacut", *sys.argv[3:]]
    if when.startswith("import:"):
        import importlib.abc

        class Trip(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == when[7:]:
                    sys.meta_path.remove(self)
                    os.kill(os.getpid(), signum)
                return None

        sys.meta_path.insert(0, Trip())
    from alphacut.cli import main

    if when == "stuck":
        import ctypes
        import alphacut.batch.photo as photo

        def remove_background(*args, **kwargs):
            # Stuck in C with the GIL released, as in a long OpenCV call: Python cannot
            # run the handler until it returns, 30 s later.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
            os.kill(os.getpid(), signum)  # delivered to another thread
            ctypes.CDLL(None).sleep(30)

        photo.remove_background = remove_background

    if when == "write":
        import alphacut.io.write as write

        real = write.os.fsync

        def fsync(fd):
            os.kill(os.getpid(), signum)  # the temporary file exists, the output not yet
            return real(fd)

        write.os.fsync = fsync
    sys.exit(main())
    """
)


def _signalled(when: str, name: str, *args, cwd: Path) -> Result:
    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_AT, when, name, *map(os.fspath, args)],
        capture_output=True,
        cwd=cwd,
        env=ENV,
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


@pytest.mark.parametrize(
    ("name", "code", "word"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")]
)
def test_signal_during_write_leaves_nothing(folder, name, code, word):
    result = _signalled("write", name, "photo.jpg", "-o", "out.png", cwd=folder)
    assert result.code == code, result.stderr
    assert result.lines == [f"alphacut: {word}"], result.stderr
    assert not (folder / "out.png").exists()
    assert not temporary_files(folder)


def test_signal_while_stuck_in_c_code(folder):
    start = time.monotonic()
    result = _signalled("stuck", "SIGTERM", "photo.jpg", "-o", "out.png", cwd=folder)
    assert result.code == 143, result.stderr
    assert result.lines == ["alphacut: terminated"], result.stderr
    assert time.monotonic() - start < 25, "the process waited for the C call to end"


@pytest.mark.parametrize("module", ["numpy", "cv2", "onnxruntime"])
def test_ctrl_c_while_heavy_modules_load(folder, module):
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, alphacut.cli; print(*sorted(sys.modules))"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    ).stdout.split()
    eager = [name for name in ("numpy", "cv2", "onnxruntime") if name in loaded]
    assert not eager, (
        f"`import alphacut.cli` (the console script's first line) imports {eager}: through "
        "src/alphacut/__init__.py, which imports them eagerly, before main() can install "
        "the signal handling; a Ctrl-C then prints a traceback"
    )
    result = _signalled(f"import:{module}", "SIGINT", "photo.jpg", cwd=folder)
    assert result.code == 130, result.stderr
    assert result.lines == ["alphacut: interrupted"], result.stderr


def test_ctrl_c_in_a_batch_stops_it_with_one_line(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for k in range(40):
        save(shoot / f"p{k:02d}.jpg", np.roll(photo(64), 3 * k, axis=1))
    process = subprocess.Popen(
        [*COMMAND, shoot, "-o", tmp_path / "out"],
        env=ENV,
        # As from a terminal, even when this test run was started in the background.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while not list((tmp_path / "out").glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    result = Result(process.returncode, stdout, stderr.decode())
    _assert_clean(result)
    assert result.code == 130
    assert result.lines[-1] == "alphacut: interrupted"
    assert not any("failed" in line or "written" in line for line in result.lines)
    assert not temporary_files(tmp_path)
    for output in (tmp_path / "out").iterdir():
        assert read_rgba(output).shape == (64, 64, 4)  # whole, or not there at all


# --- Cases the core is being fixed for -----------------------------------------------------


def test_uniform_images_finish(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for name, colour in (("white", 255), ("red", (255, 0, 0)), ("black", 0)):
        save(flat / f"{name}.png", np.full((480, 640, 3), colour, np.uint8))
    start = time.monotonic()
    result = alphacut(flat, "-o", tmp_path / "out", "-q", timeout=90)
    assert result.code == 0, result.lines
    assert time.monotonic() - start < 60
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "black.png",
        "red.png",
        "white.png",
    ]


def test_green_frame_is_not_a_green_screen(tmp_path):
    path = save(tmp_path / "framed.png", frame_photo(25))
    result = alphacut(path, "-o", tmp_path / "out.png")
    assert result.code == 0, result.lines
    assert "chroma" not in result.stderr, result.lines


def test_float_tiff_0_to_255_is_not_white(tmp_path):
    grey = np.asarray(Image.fromarray(photo(96)).convert("L"), np.float32)
    path = save(tmp_path / "float.tif", Image.fromarray(grey, mode="F"))
    result = alphacut(path, "-o", tmp_path / "out.png")
    assert result.code == 0, result.lines
    rgba = read_rgba(tmp_path / "out.png")
    assert (rgba[..., 3] == 0).mean() < 0.99
    assert rgba[..., :3][rgba[..., 3] > 128].mean() < 240


def test_float_tiff_with_nan_is_one_line(tmp_path):
    grey = np.asarray(Image.fromarray(photo(96)).convert("L"), np.float32) / 255
    grey[3, 3] = np.nan
    path = save(tmp_path / "nan.tif", Image.fromarray(grey, mode="F"))
    result = alphacut(path, "-o", tmp_path / "out.png")
    assert result.code == 1
    one_line(result, rf"^alphacut: error: {re.escape(str(path))}: .*NaN")
    assert not (tmp_path / "out.png").exists()
