"""The package's top level: public names and subpackages after a plain ``import alphacut``."""

import ast
import subprocess
import sys
from pathlib import Path

import alphacut


def test_subpackages_are_attributes_after_a_plain_import():
    # A fresh interpreter: in this one the test session has imported them already.
    code = (
        "import alphacut\n"
        "print(alphacut.refine.refine.__module__, alphacut.io.write_image.__module__,"
        " alphacut.api.remove_background is alphacut.remove_background,"
        " callable(alphacut.batch.remove_backgrounds))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["alphacut.refine.refinement", "alphacut.io.write", "True", "True"]


def test_unknown_attribute_is_an_attribute_error():
    import alphacut

    try:
        alphacut.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("alphacut.no_such_thing did not raise")


# --- Layering: the front ends sit above the core, which never imports one ------------------

SRC = Path(alphacut.__file__).parent

# Each front end's package; only its own modules may import it.
FRONT_ENDS = ("alphacut.cli", "alphacut.napari")

# `python -m alphacut`: the command's entry point, a front end itself like the console script.
ENTRY_POINTS = {"alphacut.__main__": ("alphacut.cli",)}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside functions, relative imports
    resolved; ``from a import b`` counts as both ``a`` and ``a.b``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_core_imports_no_front_end():
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 20 and any(p.parts[-2:] == ("batch", "photo.py") for p in modules)
    wrong = []
    for path in modules:
        name = _module_name(path)
        for front_end in FRONT_ENDS:
            if _within(name, front_end) or front_end in ENTRY_POINTS.get(name, ()):
                continue
            wrong.extend(
                f"{path.relative_to(SRC.parent)} imports {module}"
                for module in sorted(_imported(path))
                if _within(module, front_end)
            )
    assert not wrong, "the core imports a front end:\n" + "\n".join(wrong)


def test_the_layering_check_sees_every_kind_of_import(tmp_path, monkeypatch):
    # The check above passes as well when it sees nothing: show it what it must catch.
    package = tmp_path / "alphacut" / "batch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ..cli import cutout\n")
    (package / "late.py").write_text(
        "import importlib\n\n"
        "def f():\n"
        "    import alphacut.napari._remove\n"
        "    from alphacut import cli\n"
        "    return importlib.import_module('alphacut.cli.models')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "alphacut")
    assert "alphacut.cli.cutout" in _imported(package / "__init__.py")
    late = _imported(package / "late.py")
    assert {"alphacut.napari._remove", "alphacut.cli", "alphacut.cli.models"} <= late


def test_a_batch_worker_process_starts_without_numpy():
    # A worker of `--jobs` imports alphacut.batch.processes first and sizes its thread
    # pools (OMP_NUM_THREADS, ...) before NumPy, OpenCV and ONNX Runtime load.
    code = (
        "import sys, alphacut.batch.processes\n"
        "print(*sorted({'numpy', 'cv2', 'onnxruntime', 'PIL'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
