"""`grader bench` runs end to end and prints its table (the figures themselves are not judged by tests)."""

import os
import signal
import subprocess
import sys
import time

from conftest import EXERCISES, ROOT, run_grader

ARGS = ["bench", "--repeats", "1", "--class-size", "2", "--only", EXERCISES[0], "--no-nbgrader"]


def rows_of(stdout: str) -> tuple[str, list[str]]:
    header, _, head, rule, *rows = stdout.strip().splitlines()
    assert head.split("|")[1].strip() == "measure" and rule.startswith("|-")
    return header, rows


def test_the_benchmark_prints_a_row_per_measure_with_the_machine_in_its_header():
    run = run_grader(*ARGS)
    assert run.returncode == 0, run.stderr[-3000:]
    header, rows = rows_of(run.stdout)
    assert "cores, torch" in header and "device cpu" in header and "interrupted" not in header
    measures = [r.split("|")[1].strip() for r in rows]
    assert measures == ["pytest exercises/ --impl reference", "grade one reference submission, the reference checked",
                        "reference preflight", "the submission: beyond its checks", "the submission: its checks",
                        "reporting", "grade one reference submission, results stored",
                        "the same, a fresh interpreter per child", "sandbox overhead per submission",
                        "Gradescope dry run", "class of 2, --jobs 1", "per submission, beyond the checks",
                        "per submission, beyond the code checked", "class of 2, --jobs 2"]
    for row in rows:
        median = row.split("|")[2].strip()
        assert median.split()[0].replace(".", "", 1).lstrip("-").isdigit(), row
    shown = [line for line in run.stderr.splitlines() if line.startswith("bench: | ")]
    assert [line.split("|")[1].strip() for line in shown] == measures  # each row as soon as it is measured


def test_an_interrupted_benchmark_keeps_the_rows_it_measured_and_leaves_nothing_behind(tmp_path):
    scratch = tmp_path / "tmp"  # the bench's and its runs' temporary folders: this test's alone
    scratch.mkdir()
    bench = subprocess.Popen([sys.executable, "-m", "grader.cli", *ARGS], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             env={**os.environ, "TMPDIR": str(scratch)})
    for line in bench.stderr:  # wait for the first row, then press Ctrl-C while the grader runs
        if line.startswith("bench: | pytest"):
            break
    time.sleep(3)
    os.killpg(bench.pid, signal.SIGINT)
    stdout, _ = bench.communicate(timeout=120)
    assert bench.returncode == 130
    header, rows = rows_of(stdout)
    assert "interrupted" in header and [r.split("|")[1].strip() for r in rows] == ["pytest exercises/ --impl reference"]
    assert list(scratch.glob("grader-*")) == []
