"""Shared helpers: the course under test, in-process pytest runs of the student plugin, grader runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import rubric
from grader.course import STORE_ENV, Course, byte_compile

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = rubric.exercise_names()


# the slowest files first: with one file per worker at a time (``--dist loadfile``), the workers then end
# together instead of one finishing a long file alone (measured with ``--durations=0``)
SLOWEST_FIRST = ("test_bench.py", "test_mistakes.py", "test_grade.py", "test_alternatives.py", "test_preflight.py",
                 "test_deadlines.py", "test_classroom.py")


def pytest_sessionstart(session):
    """Byte-compile the grader and the reference once (``byte_compile``): every grader process the tests start (a
    hundred or so, run with ``PYTHONDONTWRITEBYTECODE``, so none writes it) then reads compiled code instead of
    compiling it all again. Once per run: pytest-xdist's workers find it done."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        byte_compile(Course(ROOT))


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def reference_store(tmp_path_factory):
    """This test run's own store of the reference's results (grader/preflight.py): every grader run it starts
    after the first reuses them, in every worker of the run (records are renamed into place whole, so workers
    share a store safely). A test that needs another store sets ``$GRADER_STORE`` itself."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.mktemp("reference-store")
    else:  # pytest-xdist: the workers' temporary folders share this run's parent folder
        root = tmp_path_factory.getbasetemp().parent / "reference-store"
        root.mkdir(mode=0o700, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STORE_ENV, str(root))
        yield root


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


def visible_points(name: str) -> float:
    return rubric.load(name).max_points(hidden=False)


def run_student_pytest(tmp_path: Path, *args: str, root: Path = ROOT, target: str = "exercises") -> tuple[int, dict]:
    """Run the student plugin in this process, as `pytest TARGET ARGS`; returns (exit code, score JSON).

    Without pytest's unraisable-exception plugin: at the end of every session it runs the garbage collector
    several times over, which in a process holding torch and the tests' own objects cost more than a second a
    run (the run itself often takes a tenth of that)."""
    score = tmp_path / f"score-{len(list(tmp_path.glob('score-*')))}.json"
    code = pytest.main([str(root / target), "--rootdir", str(root), "-q", "-p", "no:cacheprovider",
                        "-p", "no:unraisableexception", "--score-json", str(score), *args])
    return int(code), (json.loads(score.read_text()) if score.exists() else {})


def grader_command() -> list[str]:
    script = Path(sys.executable).with_name("grader")
    return [str(script)] if script.exists() else [sys.executable, "-m", "grader.cli"]


def run_grader(*args: str, timeout: float = 900, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*grader_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def make_class(root: Path, students: dict[str, dict[str, str]]) -> Path:
    """A submissions folder: one folder per student holding the given files."""
    for student, files in students.items():
        folder = root / student
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    return root


def reference_files(names=EXERCISES) -> dict[str, str]:
    return {f"{n}.py": (ROOT / "reference" / f"{n}.py").read_text() for n in names}


def stub_files(names=EXERCISES) -> dict[str, str]:
    return {f"{n}.py": (ROOT / "exercises" / f"{n}.py").read_text() for n in names}


def gradescope(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def results_by_check(out: Path, student: str) -> dict[str, dict]:
    return {t["name"]: t for t in gradescope(out, student)["tests"]}


@dataclass(frozen=True)
class GraderRun:
    """One grader process as its log names it (``sandbox: run PID: children run as uids A-B; ...``)."""

    pid: int
    uids: range = range(0)  # empty where the children run as the grader's own uid (not root)

    @classmethod
    def from_log(cls, stderr: str) -> "GraderRun":
        match = re.search(r"^sandbox: run (\d+): children run as (?:uids (\d+)-(\d+))?", stderr, re.M)
        assert match, f"the grader's log names no run:\n{stderr[-2000:]}"
        pid, first, last = match.groups()
        return cls(int(pid), range(int(first), int(last) + 1) if first else range(0))

    def scratch(self) -> list[Path]:
        """This run's temporary folders (``grader-<pid>-...``) still there."""
        return sorted(Path(tempfile.gettempdir()).glob(f"grader-{self.pid}-*"))


def sandbox_processes(run: GraderRun, *markers: str, wait: float = 5.0) -> list[str]:
    """Processes of ``run``: running as one of its children's uids, below its pid (the run itself excluded), or
    naming its scratch folders or one of ``markers`` in their command line or environment. None should outlive it.

    Killed processes take a moment to go: look again for up to ``wait`` seconds before answering.
    """
    deadline = time.monotonic() + wait
    while (found := _run_processes(run, (f"grader-{run.pid}-", *markers))) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _run_processes(run: GraderRun, markers: tuple[str, ...]) -> list[str]:
    processes = {}  # pid: (parent's pid, uid, command line and environment)
    for proc in Path("/proc").iterdir():
        try:
            status = (proc / "status").read_text() if proc.name.isdigit() else "\nState:\tZ"
            if "\nState:\tZ" in status:
                continue  # a zombie (already dead, waiting for its parent to reap it), or no process
            text = (proc / "cmdline").read_bytes()
            try:
                text += b" " + (proc / "environ").read_bytes()
            except OSError:
                pass
            parent = int(re.search(r"\nPPid:\t(\d+)", status).group(1))
            processes[int(proc.name)] = (parent, proc.stat().st_uid, text.replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue

    def below_run(pid: int) -> bool:
        seen = set()
        while pid in processes and pid not in seen:
            seen.add(pid)
            pid = processes[pid][0]
            if pid == run.pid:
                return True
        return False

    return [f"{pid} (uid {uid}): {text[:200]}" for pid, (_, uid, text) in processes.items()
            if pid not in (os.getpid(), run.pid)
            and (uid in run.uids or below_run(pid) or any(m in text for m in markers))]
