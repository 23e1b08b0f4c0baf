"""The hostile corpus (tests/hostile/): submissions that cheat or harm, graded in one class run beside an honest one.

Every hostile submission implements nothing correctly, so each point it earned would be an attack
that worked. The run must finish in bounded time, the honest student keeps full marks, nothing the
attacks start or write outlives the run, and nothing connects out.
"""

import csv
import hashlib
import importlib.util
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import GraderRun, ROOT, make_class, reference_files, results_by_check, run_grader, sandbox_processes

from grader import rubric, sandbox

CORPUS = Path(__file__).parent / "hostile"
_spec = importlib.util.spec_from_file_location("hostile_manifest", CORPUS / "manifest.py")
manifest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(manifest)
ATTACKS = manifest.ATTACKS
EX01, EX02 = manifest.EX01, manifest.EX02
TIME_LIMIT = 20
BOUND_SECONDS = 600  # the whole class, timeouts included, on two cores

pytestmark = pytest.mark.skipif(not sandbox.detect().namespaces,
                                reason="this machine gives the grader no namespaces: the sandbox is process-only")


class Listener:
    """A TCP server on 127.0.0.1: every connection it accepts is a leak out of the sandbox."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.accepted: list[tuple] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, address = self.socket.accept()
            except OSError:
                continue
            self.accepted.append(address)
            connection.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.socket.close()


def files_named(sentinel: str, roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root, onerror=lambda e: None):
            found += [os.path.join(folder, n) for n in [*dirs, *files] if sentinel in n]
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out = root / "submissions", root / "out"
    sentinel = f"hostile-{uuid.uuid4().hex[:12]}"
    listener = Listener()
    tokens = {"__REFERENCE__": str(ROOT / "reference"), "__SUBMISSIONS__": str(submissions), "__OUT__": str(out),
              "__PORT__": str(listener.port), "__SENTINEL__": sentinel}
    students = {"honest": reference_files([EX01, EX02])}
    for attack, (exercise, _) in ATTACKS.items():
        text = (CORPUS / attack / f"{exercise}.py").read_text()
        for token, value in tokens.items():
            text = text.replace(token, value)
        students[attack] = {f"{exercise}.py": text}
    make_class(submissions, students)
    honest_files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (submissions / "honest").iterdir()}
    start = time.monotonic()
    run = run_grader("grade", str(submissions), "--out", str(out), "--only", f"{EX01},{EX02}", "--jobs", "2",
                     "--time-limit", str(TIME_LIMIT), "--memory-limit", "2", timeout=BOUND_SECONDS)
    seconds = time.monotonic() - start
    gradebook_after_run = (out / "grades.csv").read_bytes() if (out / "grades.csv").exists() else b""
    time.sleep(8)  # a detached process that escaped would rewrite the gradebook by now
    grader_run = GraderRun.from_log(run.stderr)
    leftovers = sandbox_processes(grader_run, sentinel)
    listener.close()
    yield {"run": run, "grader_run": grader_run, "out": out, "submissions": submissions, "seconds": seconds,
           "sentinel": sentinel, "honest_files": honest_files, "gradebook": gradebook_after_run, "leftovers": leftovers,
           "connections": listener.accepted}
    shutil.rmtree(root, ignore_errors=True)


def gradebook(out: Path) -> dict[str, dict]:
    with (out / "grades.csv").open() as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_the_corpus_is_large_and_every_attack_has_its_file():
    assert len(ATTACKS) >= 20
    for attack, (exercise, description) in ATTACKS.items():
        assert (CORPUS / attack / f"{exercise}.py").is_file(), attack
        assert description


def test_the_run_finishes_in_bounded_time_and_grades_everyone(hostile):
    run = hostile["run"]
    assert run.returncode == 0, run.stderr[-4000:]
    assert hostile["seconds"] < BOUND_SECONDS
    assert sorted(gradebook(hostile["out"])) == sorted(["honest", *ATTACKS])


def test_the_honest_student_keeps_full_marks(hostile):
    book = gradebook(hostile["out"])
    full = sum(rubric.load(n).max_points(hidden=True) for n in (EX01, EX02))
    assert float(book["honest"]["total"]) == full, (hostile["out"] / "honest" / "feedback.md").read_text()[:3000]
    submitted = hostile["submissions"] / "honest"
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in submitted.iterdir()} == hostile["honest_files"]


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_attack_scores_zero_on_what_it_attacked(hostile, attack):
    exercise = ATTACKS[attack][0]
    row = gradebook(hostile["out"])[attack]
    passed = [name for name, t in results_by_check(hostile["out"], attack).items() if t["score"] > 0]
    assert float(row[exercise]) == 0, f"{attack} earned points on {passed}"


@pytest.mark.parametrize("attack, status, words", [
    ("syntax_error", "import_error", "SyntaxError"),
    ("import_crash", "import_error", "does not import"),
    ("sys_exit_zero", "import_error", "called exit(0)"),
    ("infinite_loop", "timeout", f"time limit of {TIME_LIMIT} s"),
    ("ignores_sigterm", "timeout", f"time limit of {TIME_LIMIT} s"),
    ("memory_bomb", "memory", "more than the memory limit of 2 GiB"),
    ("payload_bomb", "tamper", "over the cap"),
    ("segfault", "crashed", "SIGSEGV"),
    ("os_exit_zero", "crashed", "exit code 0"),
])
def test_each_failure_gets_its_reason(hostile, attack, status, words):
    feedback = (hostile["out"] / attack / "feedback.md").read_text()
    assert f"({status})" in hostile["run"].stdout.split(f"\n{attack} ")[1].splitlines()[0]
    assert words in feedback


def test_output_is_kept_truncated_and_never_believed(hostile):
    feedback = (hostile["out"] / "stdout_flood" / "feedback.md").read_text()
    assert "bytes of output cut" in feedback
    assert len(feedback) < 100_000
    assert "100/100" not in hostile["run"].stdout and "\x00" not in feedback


def test_the_summary_counts_failures_by_reason(hostile):
    summary = hostile["run"].stderr.strip().splitlines()[-1]
    for reason in ("import error", "timeout", "memory", "crashed", "tamper"):
        assert reason in summary, summary


def test_nothing_outlives_the_run(hostile):
    assert hostile["leftovers"] == []
    assert (hostile["out"] / "grades.csv").read_bytes() == hostile["gradebook"]


def test_nothing_is_written_outside_the_sandbox(hostile):
    sentinel = hostile["sentinel"]
    roots = [Path("/tmp"), Path("/dev/shm"), Path.home(), ROOT, hostile["submissions"], hostile["out"]]
    assert files_named(sentinel, roots) == []
    for attack in ATTACKS:
        assert sorted(p.name for p in (hostile["submissions"] / attack).iterdir()) == [f"{ATTACKS[attack][0]}.py"]
        assert {p.name for p in (hostile["out"] / attack).iterdir()} <= {"feedback.md", "feedback.html", "record.json",
                                                                         "results.json"}
    assert sorted(p.name for p in hostile["out"].iterdir() if p.is_file()) == ["grades.csv", "report.html", "run.json"]
    assert not Path("/autograder").exists()
    assert hostile["grader_run"].scratch() == []  # every sandbox folder of the run was removed


def test_nothing_connects_out(hostile):
    assert hostile["connections"] == []
