"""Doctests of the core package (``src/alphacut``), collected by plain ``pytest``.

``testpaths`` names ``src/alphacut`` next to ``tests``; every module there is collected for
its docstring examples only. The examples run against the ``alphacut`` that Python
imports, not against the files by path: CI installs the package from a wheel, and pytest's
own ``--doctest-modules`` would then import ``src/alphacut/x.py`` a second time next to the
installed copy and stop at "import file mismatch". ``pytest --doctest-modules`` still
works: for the core's files this collector takes the place of pytest's.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem, DoctestModule

SRC = Path(__file__).resolve().parent / "src"
CORE = SRC / "alphacut"


class InstalledDoctestModule(DoctestModule):
    """The docstring examples of one module of the imported ``alphacut`` package."""

    def _getobj(self):
        relative = self.path.relative_to(SRC).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        name = ".".join(parts)
        if name.startswith("alphacut.napari"):
            # Optional extra: without napari installed its widgets cannot be imported (the
            # widget tests skip the same way). With it, importing needs no display.
            pytest.importorskip("napari")
        return importlib.import_module(name)


def _is_core_module(file_path: Path) -> bool:
    # __main__ runs the command line when imported; pytest's doctest collector skips it too.
    return (
        file_path.suffix == ".py"
        and file_path.name != "__main__.py"
        and CORE in file_path.resolve().parents
    )


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    collected = yield
    if not _is_core_module(file_path):
        return collected
    # Drop pytest's own collector for the file (given --doctest-modules), which imports by path.
    kept = [node for node in collected if not isinstance(node, DoctestModule)]
    return [*kept, InstalledDoctestModule.from_parent(parent, path=file_path)]


@pytest.fixture(autouse=True)
def _doctest_environment(request: pytest.FixtureRequest) -> None:
    """Examples see the embedded person model only, whatever the machine has installed.

    The automatic model choice would otherwise pick an installed general model (a 1024²
    network, tens of seconds per example on two cores) or the user's settings file.
    """
    if not isinstance(request.node, DoctestItem):
        return
    monkeypatch = request.getfixturevalue("monkeypatch")
    home = request.getfixturevalue("tmp_path_factory").mktemp("alphacut-home")
    monkeypatch.setenv("ALPHACUT_MODEL", "selfie")
    monkeypatch.setenv("ALPHACUT_CONFIG", str(Path(__file__).with_name("no-such-config.toml")))
    monkeypatch.setenv("ALPHACUT_HOME", str(home))
