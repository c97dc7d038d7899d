"""``alphacut gimp install|uninstall``: put the GIMP 3 plug-in where GIMP finds it.

GIMP 3 loads a Python plug-in from ``<gimp-dir>/plug-ins/<name>/<name>.py`` and runs it with
the first ``python3`` on its PATH, which is often not the Python alphacut was installed into.
So next to the plug-in we record where this alphacut lives (``alphacut-location.json``); the
plug-in adds those folders to its ``sys.path`` when the Python versions match, and otherwise
tells the user the exact command that fixes it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = [
    "PLUGIN_NAME",
    "PROCEDURE_NAME",
    "MENU_PATH",
    "add_parser",
    "run",
    "default_gimp_dir",
    "find_plugin_source",
    "install",
    "uninstall",
]

PLUGIN_NAME = "alphacut-remove-background"
PROCEDURE_NAME = "python-fu-alphacut-remove-background"
MENU_PATH = "<Image>/Layer/Transparency"
LOCATION_FILE = "alphacut-location.json"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gimp`` sub-command (``install`` / ``uninstall``) to the main parser."""
    parser = subparsers.add_parser(
        "gimp",
        help="install or remove the GIMP 3 plug-in",
        description="Install the GIMP 3 plug-in 'Layer > Transparency > Remove Background…' "
        "into your GIMP 3 profile, or remove it. Restart GIMP afterwards.",
    )
    actions = parser.add_subparsers(dest="gimp_action", metavar="{install,uninstall}")
    actions.required = True
    for action, help_text in (
        ("install", "copy the plug-in into GIMP's plug-ins folder"),
        ("uninstall", "remove the plug-in from GIMP's plug-ins folder"),
    ):
        sub = actions.add_parser(action, help=help_text, description=help_text)
        sub.add_argument(
            "--gimp-dir",
            type=Path,
            metavar="DIR",
            help="GIMP 3 profile folder (default: $GIMP3_DIRECTORY, else the newest "
            f"existing one, e.g. {default_gimp_dir()})",
        )
        if action == "install":
            sub.add_argument(
                "--link",
                action="store_true",
                help="symlink the plug-in script instead of copying it (for plug-in development)",
            )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alphacut gimp ...``; returns the exit status."""
    gimp_dir = args.gimp_dir if args.gimp_dir is not None else default_gimp_dir()
    try:
        if args.gimp_action == "install":
            target = install(gimp_dir, link=getattr(args, "link", False))
            print(f"Installed the GIMP plug-in in {target}")
            menu = MENU_PATH.removeprefix("<Image>/").replace("/", " > ")
            print(f"Restart GIMP, then use {menu} > Remove Background... ({PROCEDURE_NAME}).")
        else:
            removed = uninstall(gimp_dir)
            if removed is None:
                print(f"The GIMP plug-in is not installed in {gimp_dir}; nothing to remove.")
            else:
                print(f"Removed the GIMP plug-in from {removed}")
    except (OSError, RuntimeError) as error:
        print(f"alphacut gimp {args.gimp_action}: {error}", file=sys.stderr)
        from alphacut.cli import print_traceback

        print_traceback(error, args)  # with --debug
        return 1
    return 0


def default_gimp_dir() -> Path:
    """GIMP 3's profile folder: ``$GIMP3_DIRECTORY``, else the newest ``GIMP/3.x`` there is."""
    override = os.environ.get("GIMP3_DIRECTORY")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "GIMP"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "GIMP"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "GIMP"
    # GIMP 3.2 reads ~/.config/GIMP/3.2, not 3.0: prefer the profile the newest GIMP uses.
    versions = []
    if base.is_dir():
        for child in base.iterdir():
            major, _, minor = child.name.partition(".")
            if child.is_dir() and major == "3" and minor.isdigit():
                versions.append((int(minor), child))
    return max(versions)[1] if versions else base / "3.0"


def find_plugin_source() -> Path:
    """The plug-in folder shipped with this alphacut (wheel data or source checkout)."""
    import alphacut

    package = Path(alphacut.__file__).resolve().parent
    candidates = [
        package / "_gimp_plugin" / PLUGIN_NAME,  # inside a wheel
        package.parent.parent / "gimp_plugin" / PLUGIN_NAME,  # src/ layout checkout
    ]
    source = _installed_from()
    if source is not None:
        candidates.append(source / "gimp_plugin" / PLUGIN_NAME)
    for folder in candidates:
        if (folder / f"{PLUGIN_NAME}.py").is_file():
            return folder
    searched = "\n  ".join(str(c) for c in candidates)
    raise RuntimeError(f"cannot find the plug-in {PLUGIN_NAME}.py; looked in:\n  {searched}")


def _installed_from() -> Path | None:
    """The local folder pip installed alphacut from (PEP 610), if any."""
    try:
        text = metadata.distribution("alphacut").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    url = urlparse(json.loads(text).get("url", ""))
    if url.scheme != "file":
        return None
    return Path(unquote(url.path))


def location_record() -> dict:
    """Where this alphacut and its dependencies live, for the plug-in's ``sys.path``."""
    import alphacut

    paths = [str(Path(alphacut.__file__).resolve().parent.parent)]
    for key in ("purelib", "platlib"):
        paths.append(sysconfig.get_paths()[key])
    paths.extend(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    unique = list(dict.fromkeys(os.path.abspath(p) for p in paths if p))
    return {
        "python": sys.executable,
        "python_version": "{}.{}".format(*sys.version_info[:2]),
        "alphacut_version": getattr(alphacut, "__version__", "unknown"),
        "paths": unique,
    }


def install(gimp_dir: Path, *, link: bool = False) -> Path:
    """Install the plug-in into ``gimp_dir/plug-ins``; returns the plug-in's folder."""
    source = find_plugin_source()
    target = Path(gimp_dir).expanduser() / "plug-ins" / PLUGIN_NAME
    _remove(target)
    target.mkdir(parents=True)
    script = target / f"{PLUGIN_NAME}.py"
    if link:
        # Only the script is linked: GIMP runs it by the link's path, so the record below
        # still sits next to it, and nothing is written into the linked source tree.
        script.symlink_to((source / script.name).resolve())
    else:
        shutil.copytree(
            source,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", LOCATION_FILE),
        )
        # GIMP only runs plug-ins that are executable; wheels do not always keep mode bits.
        script.chmod(script.stat().st_mode | 0o755)
    record = json.dumps(location_record(), indent=2) + "\n"
    (target / LOCATION_FILE).write_text(record, encoding="utf-8")
    return target


def uninstall(gimp_dir: Path) -> Path | None:
    """Remove the plug-in from ``gimp_dir/plug-ins``; returns what was removed, or None."""
    target = Path(gimp_dir).expanduser() / "plug-ins" / PLUGIN_NAME
    if not target.exists() and not target.is_symlink():
        return None
    _remove(target)
    return target


def _remove(target: Path) -> None:
    if target.is_symlink():
        target.unlink()  # an older --link install linked the whole folder
    elif target.is_dir():
        if not (target / f"{PLUGIN_NAME}.py").exists():
            raise RuntimeError(
                f"{target} exists but does not hold the alphacut plug-in; not touching it"
            )
        shutil.rmtree(target)
    elif target.exists():
        raise RuntimeError(f"{target} exists but is not a folder; not touching it")
