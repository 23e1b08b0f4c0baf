"""Shared helpers: the course under test, in-process pytest runs of the student plugin, grader runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import rubric
from grader.course import Course

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = rubric.exercise_names()


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


def visible_points(name: str) -> float:
    return rubric.load(name).max_points(hidden=False)


def run_student_pytest(tmp_path: Path, *args: str, root: Path = ROOT, target: str = "exercises") -> tuple[int, dict]:
    """Run the student plugin in this process, as `pytest TARGET ARGS`; returns (exit code, score JSON)."""
    score = tmp_path / f"score-{len(list(tmp_path.glob('score-*')))}.json"
    code = pytest.main([str(root / target), "--rootdir", str(root), "-q", "-p", "no:cacheprovider",
                        "--score-json", str(score), *args])
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


def sandbox_processes(*markers: str, wait: float = 5.0) -> list[str]:
    """Processes running as a sandbox uid, or a jail or zygote of the grader's, or whose command line holds one
    of ``markers``: none should outlive a run.

    Killed processes take a moment to go: look again for up to ``wait`` seconds before answering.
    """
    import time

    deadline = time.monotonic() + wait
    markers = ("grader.sandbox jail", "grader.sandbox zygote", *markers)
    while (found := _sandbox_processes(markers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _sandbox_processes(markers: tuple[str, ...]) -> list[str]:
    from grader.sandbox import BASE_UID

    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            uid = proc.stat().st_uid
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "\nState:\tZ" in (proc / "status").read_text():
                continue  # a zombie: already dead, waiting for its parent to reap it
        except OSError:
            continue
        if uid >= BASE_UID or (any(m in cmdline for m in markers) and str(os.getpid()) != proc.name):
            found.append(f"{proc.name} (uid {uid}): {cmdline[:200]}")
    return found
