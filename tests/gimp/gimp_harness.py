"""Running a real GIMP 3 for the plug-in tests: one found on PATH, or the Debian trixie root
that ``gimp_plugin/tests/gimp3-env.sh`` provisions (run chrooted, paths shared by bind
mounts so a file has the same path inside and outside)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENV_SCRIPT = REPO / "gimp_plugin" / "tests" / "gimp3-env.sh"
PLUGIN_NAME = "alphacut-remove-background"
PLUGIN_SOURCE = REPO / "gimp_plugin" / PLUGIN_NAME
BATCH_SCRIPT = Path(__file__).resolve().parent / "gimp_batch.py"
REFERENCE_SCRIPT = Path(__file__).resolve().parent / "reference.py"
UI_SCRIPT = Path(__file__).resolve().parent / "with-ui.sh"
GIMP_CONSOLES = ("gimp-console-3.0", "gimp-console-3", "gimp-console")
# A cold GIMP start queries every plug-in (~10 s here); a run with the neural model and
# edge refinement adds a few seconds more. Generous, so a slow CI box does not flake.
TIMEOUT_S = 300
# (what, seconds) of every GIMP run, printed at the end of the test session.
GIMP_TIMES: list[tuple[str, float]] = []


class GimpUnavailable(Exception):
    """No GIMP 3 to test with; the message says why and how to get one."""


@dataclass
class Runner:
    """Runs commands where GIMP 3 lives: ``mode`` is ``"host"`` or ``"chroot"``."""

    mode: str
    gimp: str
    binds: list[Path] = field(default_factory=list)
    # Where gimp_batch.py and reference.py are reachable from inside (the chroot does not
    # see the clone, only the bind-mounted folders).
    scripts: Path = BATCH_SCRIPT.parent

    def stage_scripts(self, folder: Path) -> None:
        if self.mode == "chroot":
            folder.mkdir(parents=True, exist_ok=True)
            for script in (BATCH_SCRIPT, REFERENCE_SCRIPT, UI_SCRIPT):
                shutil.copy2(script, folder / script.name)
            self.scripts = folder

    def run(
        self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = TIMEOUT_S
    ) -> subprocess.CompletedProcess:
        env = dict(env or {})
        if self.mode == "chroot":
            binds = [arg for path in self.binds for arg in ("--bind", str(path))]
            command = [str(ENV_SCRIPT), "run", *binds, "--", "env"]
            command += [f"{key}={value}" for key, value in env.items()] + argv
            return _run(command, None, timeout)
        return _run(argv, {**os.environ, **env}, timeout)

    def has_ui(self) -> bool:
        """Whether dialogs can be shown and answered (Xvfb and xdotool)."""
        if self.mode == "chroot":
            return True  # provisioned with them
        return all(shutil.which(tool) for tool in ("Xvfb", "xdotool"))

    def batch(
        self,
        config_dir: Path,
        code: str,
        *,
        env: dict[str, str] | None = None,
        ui: list[tuple[str, str]] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> subprocess.CompletedProcess:
        """Run Python ``code`` in a headless GIMP whose profile folder is ``config_dir``.

        With ``ui``, on a virtual display where each (window title, keys) is typed in turn.
        """
        argv = [
            self.gimp,
            "-idf",
            "--batch-interpreter",
            "python-fu-eval",
            "-b",
            code,
            "--quit",
        ]
        if ui is not None:
            answers = [item for step in ui for item in step]
            argv = ["sh", str(self.scripts / UI_SCRIPT.name), *answers, "--", *argv]
        env = {"GIMP3_DIRECTORY": str(config_dir), **(env or {})}
        return self.run(argv, env=env, timeout=timeout)


def _run(argv: list[str], env: dict | None, timeout: float) -> subprocess.CompletedProcess:
    # Its own session, so a timeout stops GIMP and its plug-ins too, not just the wrapper.
    with subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n[killed after {timeout} s]"
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def find_runner(binds: list[Path]) -> Runner:
    """A GIMP on PATH, else the provisioned root; GimpUnavailable when neither works."""
    for name in GIMP_CONSOLES:
        path = shutil.which(name)
        if path and _is_gimp3(path):
            return Runner("host", path, binds)
    if not ENV_SCRIPT.is_file():
        raise GimpUnavailable(f"{ENV_SCRIPT} is missing")
    if os.geteuid() != 0:
        raise GimpUnavailable(
            "no GIMP 3 on PATH, and the provisioned GIMP 3 root needs root (chroot)"
        )
    found = subprocess.run([str(ENV_SCRIPT), "path"], capture_output=True, text=True)
    if found.returncode != 0:
        if os.environ.get("ALPHACUT_REQUIRE_GIMP") != "1":
            raise GimpUnavailable(
                f"no GIMP 3 on PATH and none provisioned; run `{ENV_SCRIPT} provision` "
                "(as root; 4-6 min and 1.7 GB, once) or set ALPHACUT_REQUIRE_GIMP=1 to do it now"
            )
        # GIMP is required: get one rather than fail for want of a cache.
        provisioned = subprocess.run(
            [str(ENV_SCRIPT), "provision"], capture_output=True, text=True, check=False
        )
        if provisioned.returncode != 0:
            raise GimpUnavailable(f"provisioning GIMP 3 failed:\n{provisioned.stderr[-4000:]}")
    return Runner("chroot", "gimp-console-3.0", binds)


def _is_gimp3(path: str) -> bool:
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "version 3." in version


def install_checkout(runner: Runner) -> None:
    """Make the checkout's alphacut the one GIMP's Python imports."""
    if runner.mode == "chroot":
        done = subprocess.run(
            [str(ENV_SCRIPT), "install-alphacut"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"installing the checkout into the GIMP root failed:\n{done.stderr}")
        return
    # A GIMP on PATH runs plug-ins with the first python3 on PATH: it must see alphacut.
    probe = runner.run(["python3", "-c", "import alphacut; print(alphacut.__file__)"])
    if probe.returncode != 0:
        raise GimpUnavailable(
            "GIMP 3 is on PATH but its python3 cannot import alphacut: "
            f"{probe.stderr.strip()[-500:]}"
        )


def write_gimprc(config_dir: Path, plugin_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "gimprc").write_text(
        f'(plug-in-path "{plugin_dir}:${{gimp_plug_in_dir}}/plug-ins")\n'
    )


def copy_plugin(plugin_dir: Path) -> Path:
    """The checkout's plug-in, as GIMP wants it: its own folder, executable."""
    target = plugin_dir / PLUGIN_NAME
    shutil.copytree(PLUGIN_SOURCE, target, ignore=shutil.ignore_patterns("__pycache__"))
    script = target / f"{PLUGIN_NAME}.py"
    script.chmod(0o755)
    return target


def batch_code(runner: Runner, job_file: Path) -> str:
    script = json.dumps(str(runner.scripts / BATCH_SCRIPT.name))
    return f"JOB = {json.dumps(str(job_file))}; exec(open({script}).read())"


@dataclass
class JobResult:
    outdir: Path
    result: dict
    gimp_seconds: float
    log: str

    def raw(self, name: str, shape: tuple[int, ...]):
        import numpy as np

        return np.fromfile(self.outdir / name, np.uint8).reshape(shape)


def run_job(
    runner: Runner,
    config_dir: Path,
    outdir: Path,
    job: dict,
    *,
    env: dict | None = None,
    ui: list[tuple[str, str]] | None = None,
) -> JobResult:
    """Set up an image in GIMP per ``job`` (see gimp_batch.py), run the plug-in, dump."""
    outdir.mkdir(parents=True, exist_ok=True)
    job = {**job, "outdir": str(outdir)}
    job_file = outdir / "job.json"
    job_file.write_text(json.dumps(job, indent=2))
    start = time.perf_counter()
    done = runner.batch(config_dir, batch_code(runner, job_file), env=env, ui=ui)
    seconds = time.perf_counter() - start
    log = f"$ gimp (exit {done.returncode}, {seconds:.1f} s)\n{done.stdout}\n{done.stderr}"
    result_file = outdir / "result.json"
    if not result_file.is_file():
        raise AssertionError(f"GIMP wrote no result.json\n{log[-6000:]}")
    result = json.loads(result_file.read_text())
    if "exception" in result:
        raise AssertionError(f"the GIMP batch failed at {result['stage']}:\n{result['exception']}")
    if result["stage"] == "procedure" and "status" not in result:
        raise AssertionError(f"the plug-in call did not return\n{log[-6000:]}")
    return JobResult(outdir, result, seconds, log)


# gimp_batch.py's line before each job of a multi-job batch.
JOB_MARKER = "=== alphacut batch job: "


def run_jobs(
    runner: Runner,
    config_dir: Path,
    outdir: Path,
    jobs: dict[str, dict],
    *,
    timeout: float = TIMEOUT_S,
) -> tuple[dict[str, JobResult | None], float]:
    """Run several ``jobs`` ({name: job}) one after the other in a single GIMP, which
    starts once for all of them; returns ({name: result}, GIMP's seconds).

    Unlike ``run_job`` nothing is asserted here: a job whose plug-in call did not return
    (GIMP killed after ``timeout``) has a result without ``status``, one never reached
    has None. Each result's ``log`` is the part of GIMP's output printed while it ran.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    spec = {"outdir": str(outdir), "jobs": []}
    for name, job in jobs.items():
        (outdir / name).mkdir()
        spec["jobs"].append({**job, "outdir": str(outdir / name)})
    job_file = outdir / "jobs.json"
    job_file.write_text(json.dumps(spec, indent=2))
    start = time.perf_counter()
    done = runner.batch(config_dir, batch_code(runner, job_file), timeout=timeout)
    seconds = time.perf_counter() - start
    # The plug-ins GIMP runs share its stdout and stderr; the markers go to stderr.
    # What came before the first job (GIMP's start, the plug-ins' registration) goes with
    # every job.
    logs = {name: "" for name in jobs}
    start_up, current = "", None
    for line in done.stderr.splitlines(keepends=True):
        if line.startswith(JOB_MARKER):
            current = line[len(JOB_MARKER) :].strip()
        elif current in logs:
            logs[current] += line
        elif current is None:
            start_up += line
    header = f"$ gimp (exit {done.returncode}, {seconds:.1f} s for {len(jobs)} jobs)\n"
    results: dict[str, JobResult | None] = {}
    for name in jobs:
        result_file = outdir / name / "result.json"
        if not result_file.is_file():
            results[name] = None
            continue
        log = (
            f"{header}[stderr at start-up]\n{start_up}\n[stderr while this job ran]\n"
            f"{logs[name]}\n[stdout]\n{done.stdout}"
        )
        results[name] = JobResult(outdir / name, json.loads(result_file.read_text()), seconds, log)
    return results, seconds


def run_reference(runner: Runner, outdir: Path, *, env: dict | None = None) -> dict:
    """The core's result on the pixels GIMP read, in GIMP's Python environment (``env``:
    the same variables as the GIMP run, e.g. the model cache's ALPHACUT_HOME)."""
    script = runner.scripts / REFERENCE_SCRIPT.name
    done = runner.run(["python3", str(script), str(outdir / "job.json")], env=env)
    if done.returncode != 0:
        raise AssertionError(f"the reference run failed:\n{done.stdout}\n{done.stderr[-6000:]}")
    return json.loads((outdir / "reference.json").read_text())
