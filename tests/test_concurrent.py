"""Two grading runs on one machine at once: each has uids and folders of its own and neither disturbs the other."""

import csv
import re
import subprocess
import time

import pytest
from conftest import GraderRun, grader_command, make_class, reference_files, run_grader, sandbox_processes, stub_files

from grader import rubric, sandbox

EX01 = "ex01_tensors_autograd"
LOOP_LIMIT = 40  # seconds the first run's student loops before its limit stops it: the second run fits in them

pytestmark = pytest.mark.skipif(not sandbox.detect().own_uid,
                                reason="the grader is not root here: its children have no uids of their own")

# at import: signal every process it can (kill(-1) reaches every one of its uid it can see), list /proc, then fail
KILLER = '''
import os, signal
seen = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
killed = []
for pid in [-1, *seen, *range(2, 1 << 15)]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
print("killer saw", seen, "and signalled", killed[:20])
'''


def gradebook(out) -> dict[str, dict]:
    with (out / "grades.csv").open() as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def uids_of(processes: list[str]) -> set[int]:
    return {int(re.search(r"\(uid (\d+)\)", p).group(1)) for p in processes}


def wait_for_child(run: GraderRun, grading: subprocess.Popen, seconds: float = 180) -> None:
    """Until a child of ``run`` is running under one of its uids."""
    deadline = time.monotonic() + seconds
    while not uids_of(sandbox_processes(run, wait=0)) & set(run.uids):
        assert grading.poll() is None and time.monotonic() < deadline, "the first run's child never started"
        time.sleep(0.5)


def test_two_runs_at_once_keep_apart(tmp_path):
    loop = "import time\nwhile True:\n    time.sleep(0.5)\n"
    looping = make_class(tmp_path / "first", {"looper": {f"{EX01}.py": loop}})
    second = make_class(tmp_path / "second", {"honest": reference_files([EX01]),
                                              "killer": {f"{EX01}.py": KILLER + stub_files([EX01])[f"{EX01}.py"]}})
    log = tmp_path / "first.log"
    with log.open("w") as stderr:
        first = subprocess.Popen([*grader_command(), "grade", str(looping), "--out", str(tmp_path / "out1"), "--only",
                                  EX01, "--jobs", "1", "--time-limit", str(LOOP_LIMIT)],
                                 stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    try:
        deadline = time.monotonic() + 120
        while "sandbox: run " not in log.read_text() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        one = GraderRun.from_log(log.read_text())
        assert one.pid == first.pid
        wait_for_child(one, first)

        run = run_grader("grade", str(second), "--out", str(tmp_path / "out2"), "--only", EX01, "--jobs", "1",
                         timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        two = GraderRun.from_log(run.stderr)
        assert len(one.uids) == len(two.uids) > 0 and set(one.uids).isdisjoint(two.uids)
        book = gradebook(tmp_path / "out2")
        assert float(book["honest"]["total"]) == rubric.load(EX01).max_points(hidden=True)
        assert float(book["killer"]["total"]) == 0

        # the first run is still going: the second's checks see nothing of it, the first's see its own child
        assert first.poll() is None, "the first run ended before the second: it was disturbed, or the loop is short"
        assert sandbox_processes(two) == [] and two.scratch() == []
        mine = sandbox_processes(one, wait=0)
        assert uids_of(mine) & set(one.uids) and not uids_of(mine) & set(two.uids)
        assert one.scratch(), "a running run has its scratch folders"

        assert first.wait(timeout=LOOP_LIMIT + 120) == 0, log.read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    book = gradebook(tmp_path / "out1")
    feedback = (tmp_path / "out1" / "looper" / "feedback.md").read_text()
    assert float(book["looper"]["total"]) == 0 and f"time limit of {LOOP_LIMIT} s" in feedback, feedback[:2000]
    assert sandbox_processes(one) == [] and one.scratch() == []
