"""Naming path problems precisely, and printing names safely."""

import os

import pytest

from alphacut.io.paths import display, escape_text, input_problem, output_problem


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("photo.jpg", "photo.jpg"),
        ("with space ü.jpg", "with space ü.jpg"),
        ("new\nline.jpg", "'new\\nline.jpg'"),
        ("evil\u202egpj.png", "'evil\\u202egpj.png'"),
        ("\x1b[31mred.png", "'\\x1b[31mred.png'"),
        ("back\\slash\n.png", "'back\\\\slash\\n.png'"),
        (os.fsdecode(b"caf\xe9.png"), "'caf\\xe9.png'"),
    ],
)
def test_display_escapes_what_a_terminal_would_not_show(name, shown):
    assert display(name) == shown


def test_escape_text_leaves_printable_text_alone():
    assert escape_text("a: b (c)") == "a: b (c)"
    assert escape_text("a\rb") == "a\\rb"


def test_input_problems_are_named(tmp_path):
    (tmp_path / "afile").write_text("x")
    os.symlink("gone.jpg", tmp_path / "dangling.jpg")
    os.symlink("loop.jpg", tmp_path / "loop.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert input_problem(tmp_path / "missing.jpg") == "no such file"
    assert input_problem(tmp_path / "afile" / "x.jpg") == (
        f"no such file ({tmp_path / 'afile'} is a file, not a folder)"
    )
    assert input_problem(tmp_path / "dangling.jpg").startswith("broken symbolic link (to gone")
    assert input_problem(tmp_path / "loop.jpg").startswith("symbolic link loop")
    assert input_problem(tmp_path / "pipe.jpg").startswith("not a regular file (a named pipe)")
    assert input_problem(tmp_path / "empty.jpg") == "empty file (0 bytes)"
    assert input_problem(tmp_path) == "is a folder, not an image"
    assert input_problem(tmp_path / "afile") is None


def test_output_problems_are_named(tmp_path):
    (tmp_path / "exists.png").write_bytes(b"x")
    assert output_problem(tmp_path / "new.png") is None
    assert output_problem(tmp_path / "exists.png").startswith("already exists")
    assert output_problem(tmp_path / "exists.png", overwrite=True) is None
    assert output_problem(tmp_path, overwrite=True) == "is a folder; give a file name"
