"""The class grader: `grader grade` on a class with good, unfinished, broken, looping and hostile submissions."""

import csv
import fcntl
import hashlib
import json
import os
import queue
import shutil
import struct
import sys
import tempfile
import termios
from pathlib import Path

import pytest
from conftest import EXERCISES, ROOT, make_class, reference_files, run_grader, stub_files, results_by_check

from grader import rubric
from grader.escaping import html_text, md_inline
from grader.grading import GradeExercise, Progress
from grader.intake import FindSubmissions
from grader.pages import feedback_html
from grader.reports import MISSING, StudentResult, feedback_markdown
from grader.sandbox import Limits

EX01, EX02, EX03 = EXERCISES[:3]
FIRST_THREE = [EX01, EX02, EX03]

LOOPS_IN_LAST_VISIBLE_CHECK = reference_files([EX01])[f"{EX01}.py"].replace(
    "    w = w.detach().clone().requires_grad_(True)\n    rows = []\n",
    "    while True:\n        pass\n", 1)
EXITS_IN_BACKWARD = reference_files([EX02])[f"{EX02}.py"].replace(
    "        (s,) = ctx.saved_tensors\n", "        import os\n        os._exit(3)\n", 1)
TAMPERS = reference_files([EX01])[f"{EX01}.py"].replace("def make_grid(", '''\
import grader.checks, grader.payload, torch.testing
grader.checks.judge_check = lambda *a, **k: None
grader.payload.write_outcomes.__defaults__ = None
torch.testing.assert_close = lambda *a, **k: None
print("SCORE: 100/100 " * 5000)
open("results.json", "w").write('{"score": 1000}')


def make_grid(''', 1).replace("return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=-1)", "return A.sum() * 0")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    submissions = make_class(root / "submissions", {
        "ada": reference_files(FIRST_THREE),
        "ben": stub_files(FIRST_THREE),
        "cy": {f"{EX01}.py": "def make_grid(n_rows, n_cols, device):\n    return [\n", f"{EX03}.py": "import torch\n"},
        "dee": {f"{EX02}.py": EXITS_IN_BACKWARD},
        "eve": {f"{EX01}.py": LOOPS_IN_LAST_VISIBLE_CHECK, f"{EX02}.py": reference_files([EX02])[f"{EX02}.py"]},
        "fay": {f"{EX01}.py": TAMPERS},
        "gus": {f"{EX03}.py": "import sys\nsys.exit(4)\n"},
    })
    (submissions / ".git").mkdir()
    out = root / "out"
    run = run_grader("grade", str(submissions), "--out", str(out), "--time-limit", "25", "--only", ",".join(FIRST_THREE))
    return run, out


def gradebook(out):
    with (out / "grades.csv").open() as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def total_points(name):
    return rubric.load(name).max_points(hidden=True)


def test_every_student_is_graded_and_the_run_succeeds(graded):
    run, out = graded
    assert run.returncode == 0, run.stderr[-3000:]
    book = gradebook(out)
    assert list(book) == ["ada", "ben", "cy", "dee", "eve", "fay", "gus"]
    with (out / "grades.csv").open() as f:
        assert next(csv.reader(f)) == ["student", *FIRST_THREE, "total", "max"]
    full = sum(total_points(n) for n in FIRST_THREE)
    assert all(float(row["max"]) == full for row in book.values())
    for student in book:
        assert (out / student / "feedback.md").is_file() and (out / student / "results.json").is_file()
    assert "ada" in run.stdout and "total" in run.stdout  # the class table


def test_the_reference_earns_full_marks(graded):
    _, out = graded
    book = gradebook(out)
    assert float(book["ada"]["total"]) == float(book["ada"]["max"])
    assert all(t["status"] == "passed" for t in results_by_check(out, "ada").values())


def test_stubs_earn_zero_with_not_implemented_verdicts(graded):
    _, out = graded
    assert float(gradebook(out)["ben"]["total"]) == 0
    for name, test in results_by_check(out, "ben").items():
        assert test["score"] == 0 and test["output"].startswith("not implemented yet: ex"), name


def test_gradescope_results_follow_the_format(graded):
    _, out = graded
    results = json.loads((out / "ada" / "results.json").read_text())
    assert results["score"] == results["max_score"] == sum(t["max_score"] for t in results["tests"])
    assert isinstance(results["execution_time"], float)
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "status"}
        assert test["visibility"] in ("visible", "after_published")
    visibilities = {t["visibility"] for t in results["tests"]}
    assert visibilities == {"visible", "after_published"}


def test_syntax_errors_and_missing_files_score_zero_with_the_reason(graded):
    _, out = graded
    book = gradebook(out)
    assert float(book["cy"]["total"]) == 0
    feedback = (out / "cy" / "feedback.md").read_text()
    assert f"{EX01}.py does not import: SyntaxError" in feedback and "line 2" in feedback
    assert f"**missing**: {md_inline(EX02)}.py was not submitted" in feedback
    assert "LogisticRegression" in feedback  # ex03 imports but defines nothing: each check says what is missing
    assert f"{EX03}.py has no `minimize`" in results_by_check(out, "cy")[f"{EX03}: minimize"]["output"]
    section = feedback.split(f"## {EX02}", 1)[1].split("\n## ", 1)[0]
    assert "| error" not in section and not any(f"`{c.id}`" in section for c in rubric.load(EX02).checks)


def progress_on_a_terminal(monkeypatch, rows: int, columns: int) -> str:
    """What ``Progress`` writes for three students when stderr is a pseudo-terminal of this size."""
    main, side = os.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    with open(side, "w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        progress = Progress(3)
        for name in ("ann", "bob", "cy"):
            progress.update(StudentResult(name, seconds=1.5))
        progress.close()
        monkeypatch.undo()
    written = b""
    try:
        while chunk := os.read(main, 65536):
            written += chunk
    except OSError:  # EIO: the terminal's other side is closed and everything has been read
        pass
    os.close(main)
    return written.decode()


@pytest.mark.parametrize("rows, columns, bar", [(0, 0, False), (24, 100, True)])
def test_the_progress_log_prints_one_line_per_student_on_a_terminal_without_a_size(monkeypatch, rows, columns, bar):
    shown = progress_on_a_terminal(monkeypatch, rows, columns)
    lines = ["[1/3] ann: 0 / 0 (1.5 s)", "[2/3] bob: 0 / 0 (1.5 s)", "[3/3] cy: 0 / 0 (1.5 s)"]
    if bar:
        assert "3/3 [" in shown and not any(line in shown for line in lines)
    else:
        assert shown.replace("\r\n", "\n").splitlines() == lines


def test_an_exercise_not_submitted_is_missing_in_one_line_not_an_error_per_check(tmp_path):
    exercise = rubric.load(EX02)
    submissions = make_class(tmp_path / "subs", {"ann": reference_files([EX01])})
    (student,) = FindSubmissions(submissions, tmp_path / "out", [EX01, EX02])()
    missing = GradeExercise(exercise, None, "cpu", Limits(wall_seconds=10), [], None, queue.Queue())(student)
    assert missing.status == "missing" and missing.points == 0 and missing.max_points == total_points(EX02)
    result = StudentResult("ann", [missing])
    markdown = feedback_markdown(result)
    assert f"| {EX02} | 0 / {total_points(EX02):g} | {MISSING} |" in markdown
    section = [line for line in markdown.split(f"## {EX02}", 1)[1].splitlines() if line.strip()]
    assert section[1:] == [f"**missing**: {md_inline(EX02)}.py was not submitted"]
    page = feedback_html(result).split("</style>", 1)[1]
    assert "error" not in page and MISSING in page
    assert not any(html_text(c.id) in page for c in exercise.checks)


def test_a_crash_keeps_the_checks_finished_before_it(graded):
    _, out = graded
    tests = results_by_check(out, "dee")
    assert tests[f"{EX02}: mse_linear_grad"]["status"] == "passed"
    assert tests[f"{EX02}: Sigmoid.forward"]["status"] == "passed"
    assert "stopped (exit code 3) while running this check" in tests[f"{EX02}: Sigmoid.backward"]["output"]
    assert tests[f"{EX02}: Softplus.forward"]["output"].startswith("not run:")
    assert 0 < float(gradebook(out)["dee"][EX02]) < total_points(EX02)


def test_a_loop_is_stopped_at_the_time_limit_and_earlier_checks_count(graded):
    _, out = graded
    tests = results_by_check(out, "eve")
    assert "stopped after the time limit of 25 s while running this check" in tests[f"{EX01}: per_batch_grads"]["output"]
    assert tests[f"{EX01}: accumulated_grad"]["status"] == "passed"
    visible_before = sum(c.points for c in rubric.load(EX01).checks if not c.hidden and c.id != "per_batch_grads")
    assert float(gradebook(out)["eve"][EX01]) == visible_before


def test_the_next_exercise_held_while_a_loop_runs_out_its_limit_has_its_own_whole_limit(graded):
    """eve's exercise 2 was started while her exercise 1 looped (the pipeline starts the next child ahead) and waited
    at its gate past the 25 s limit: its own limit counts from its go, so it is graded in full."""
    _, out = graded
    record = json.loads((out / "eve" / "record.json").read_text())
    second = next(e for e in record["exercises"] if e["exercise"] == EX02)
    assert second["status"] == "graded" and float(gradebook(out)["eve"][EX02]) == total_points(EX02)


def test_tampering_in_the_child_changes_nothing_but_its_own_outputs(graded):
    _, out = graded
    tests = results_by_check(out, "fay")
    assert tests[f"{EX01}: pairwise_sq_dists"]["status"] == "failed"
    assert tests[f"{EX01}: make_grid"]["status"] == "failed"  # the grader's code was changed: nothing is believed
    assert float(gradebook(out)["fay"][EX01]) == 0
    feedback = (out / "fay" / "feedback.md").read_text()
    assert "grader.checks.judge_check" in feedback and "(tamper)" in run_table_line(graded, "fay")
    assert "SCORE: 100/100" in feedback and "bytes of output cut" in feedback  # shown, truncated, never believed
    assert not (out / "fay" / "results.json").read_text().startswith('{"score": 1000')


def run_table_line(graded, student: str) -> str:
    return graded[0].stdout.split(f"\n{student} ")[1].splitlines()[0]


def test_exiting_at_import_is_an_import_failure_not_a_grader_failure(graded):
    run, out = graded
    feedback = (out / "gus" / "feedback.md").read_text()
    assert "does not import: called exit(4)" in feedback
    assert "grader failed" not in run.stderr


@pytest.fixture(scope="module")
def whole_course(tmp_path_factory):
    """The reference and the stubs of every exercise, graded with the rubric's own time limits."""
    root = tmp_path_factory.mktemp("course")
    submissions = make_class(root / "submissions", {"ref": reference_files(), "stub": stub_files()})
    run = run_grader("grade", str(submissions), "--out", str(root / "out"))
    return run, root / "out"


def test_the_reference_earns_full_marks_on_every_exercise_and_the_stubs_zero(whole_course):
    run, out = whole_course
    assert run.returncode == 0, run.stderr[-3000:]
    book = gradebook(out)
    assert list(book["ref"])[1:-2] == EXERCISES
    assert float(book["ref"]["total"]) == float(book["ref"]["max"]) == sum(total_points(n) for n in EXERCISES)
    assert float(book["stub"]["total"]) == 0
    trained = results_by_check(out, "ref")["ex06_cnn_mnist: trained_accuracy"]["output"]
    assert trained.startswith("held-out accuracy 0.9") and ">= 0.950 required" in trained


def test_every_figure_is_saved_as_a_png_next_to_the_feedback(whole_course):
    _, out = whole_course
    plots = [(e.name, c) for e in rubric.load_all() for c in e.checks if c.id.startswith("plot")]
    assert len({(name, c.target) for name, c in plots}) == 9  # nine plotting functions, each with a hidden variant
    plotting = [f"{name}.{c.id}.png" for name, c in plots]
    figures = out / "ref" / "figures"
    assert sorted(p.name for p in figures.iterdir()) == sorted(plotting)
    feedback = (out / "ref" / "feedback.md").read_text()
    for name in plotting:
        assert (figures / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert f"](figures/{name})" in feedback
    assert not (out / "stub" / "figures").exists()


def test_the_html_feedback_embeds_every_figure_and_the_class_report_ranks_every_check(whole_course):
    _, out = whole_course
    feedback = (out / "ref" / "feedback.html").read_text()
    plotting = [c for e in rubric.load_all() for c in e.checks if c.id.startswith("plot")]
    assert feedback.count('src="data:image/png;base64,iVBORw0KGgo') == len(plotting) == 18  # every plot, inlined
    assert "http://" not in feedback.replace("http://www.w3.org/2000/svg", "") and "https://" not in feedback
    report = (out / "report.html").read_text()
    checks = sum(len(e.selected(hidden=True)) for e in rubric.load_all())
    assert report.count("<code>") == checks  # one row per check in "hardest first"
    assert "<h2>Exercises: what happened</h2>" in report and 'href="stub/feedback.html"' in report


def chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (.ci/run installs Debian's)")
@pytest.mark.parametrize("page, heading, rows", [
    ("report.html", "Class report", "Checks, hardest first"),
    ("ref/feedback.html", "Feedback for ref", "<h2>ex06_cnn_mnist: "),
])
def test_the_html_pages_render_in_headless_chromium(whole_course, tmp_path, page, heading, rows):
    import re
    import subprocess

    import matplotlib.image

    _, out = whole_course
    browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
               "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'profile'}",
               "--enable-logging=stderr", "--v=0", "--window-size=1200,1600"]
    url = (out / page).resolve().as_uri()
    shot = tmp_path / f"{page.replace('/', '_')}.png"  # kept with the test's files
    drawn = subprocess.run([*browser, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), drawn.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05 and (pixels.mean(axis=-1) < 0.9).mean() > 0.02  # not blank
    assert f"<h1>{heading}</h1>" in dom.stdout and rows in dom.stdout
    assert len(re.findall(r"<tr>", dom.stdout)) > 10
    console = [line for line in (drawn.stderr + dom.stderr).splitlines()
               if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line]
    assert console == []


def test_only_grades_the_named_exercises(tmp_path):
    submissions = make_class(tmp_path / "subs", {"ada": reference_files()})
    run = run_grader("grade", str(submissions), "--out", str(tmp_path / "out"), "--only", "ex02")
    assert run.returncode == 0, run.stderr
    with (tmp_path / "out" / "grades.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows == [["student", EX02, "total", "max"], ["ada", *[f"{total_points(EX02):g}"] * 3]]


def test_a_reference_that_fails_its_own_checks_stops_the_run_and_saves_no_record(tmp_path):
    course = tmp_path / "course"
    for folder in ("reference", "exercises"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__", "figures"))
    broken = course / "reference" / f"{EX02}.py"
    broken.write_text(broken.read_text().replace("return grad_out * s * (1 - s)\n", "return 2 * grad_out * s * (1 - s)\n"))
    submissions = make_class(tmp_path / "subs", {"ada": reference_files([EX02]), "bo": {"notes.txt": "nothing yet"}})
    run = run_grader("--course", str(course), "grade", str(submissions), "--out", str(tmp_path / "out"),
                     "--only", "ex02", "--jobs", "2")
    assert run.returncode == 2 and f"the reference fails its own check {EX02}::" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert not list((tmp_path / "out").glob("*/record.json"))  # not even the student with nothing to judge


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/folder", "--out", "OUT"], "is not a folder of submissions"),
    (["grade", "SUBS", "--out", "SUBS/out"], "is inside the submissions folder"),
    (["grade", "SUBS", "--out", "OUT", "--only", "ex42"], "no exercise 'ex42'"),
    (["grade", "EMPTY", "--out", "OUT"], "holds no student folders"),
    (["grade", "SUBS", "--out", "OUT", "--jobs", "0"], "--jobs 0"),
    (["grade", "SUBS", "--out", "OUT", "--time-limit", "0"], "--time-limit 0: give a positive number"),
])
def test_bad_arguments_get_a_clear_error_and_no_traceback(tmp_path, args, message):
    make_class(tmp_path / "SUBS", {"ada": {}})
    (tmp_path / "EMPTY").mkdir()
    args = [str(tmp_path / a) if a.isupper() or "/" in a and a.startswith("SUBS") else a for a in args]
    run = run_grader(*args)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_an_interrupted_run_resumes_where_it_stopped_with_nothing_lost(tmp_path, how):
    """Ctrl-C, or the grader killed outright (as by a power cut): the same command then grades only the rest."""
    import signal
    import subprocess
    import time

    from conftest import GraderRun, grader_command, sandbox_processes

    slow = "import time\ntime.sleep(8)\n" + reference_files([EX01])[f"{EX01}.py"]
    submissions = make_class(tmp_path / "subs", {"a_done": reference_files([EX01]), "b_slow": {f"{EX01}.py": slow},
                                                 "c_later": reference_files([EX01])})
    out = tmp_path / "out"
    command = [*grader_command(), "grade", str(submissions), "--out", str(out), "--jobs", "1", "--only", EX01]
    grading = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not (out / "a_done" / "record.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # b_slow is now asleep in its sandbox
    grading.send_signal(getattr(signal, how))
    start = time.monotonic()
    code = grading.wait(timeout=60)
    assert time.monotonic() - start < 30
    assert code == (130 if how == "SIGINT" else -signal.SIGKILL)
    log = grading.stderr.read()
    if how == "SIGINT":
        assert "run the same command again" in log
    assert (out / "a_done" / "record.json").exists()
    assert not (out / "b_slow" / "record.json").exists() and not (out / "grades.csv").exists()
    time.sleep(1)
    assert sandbox_processes(GraderRun.from_log(log)) == [], "a child of the interrupted run is still running"
    finished = (out / "a_done" / "record.json").stat().st_mtime_ns

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "kept 1 student(s) graded by an earlier run" in resumed.stderr
    assert not list(Path(tempfile.gettempdir()).glob(f"grader-{grading.pid}-*"))  # the killed run's folders are swept
    assert (out / "a_done" / "record.json").stat().st_mtime_ns == finished  # not graded twice
    book = gradebook(out)
    assert list(book) == ["a_done", "b_slow", "c_later"]
    assert all(float(row["total"]) == total_points(EX01) for row in book.values())
    if how == "SIGKILL":
        again = subprocess.run([*command, "--force"], capture_output=True, text=True, timeout=300)
        assert again.returncode == 0 and "graded by an earlier run" not in again.stderr
        assert (out / "a_done" / "record.json").stat().st_mtime_ns != finished
        (exercise,) = json.loads((out / "a_done" / "record.json").read_text())["exercises"]
        record = exercise["provenance"]
        assert record["files"] == {f"{EX01}.py": hashlib.sha256((submissions / "a_done" / f"{EX01}.py").read_bytes())
                                   .hexdigest()}
        assert record["limits"]["wall_seconds"] > 0 and record["case_seeds"]


def notebook(cells: list[tuple[str, str, dict | None]]) -> str:
    """An .ipynb of (cell type, source, nbgrader metadata or None) cells."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "source": source, "metadata": {"nbgrader": meta} if meta else {},
         **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, source, meta in cells]})


def test_notebooks_in_nbgraders_submitted_layout_are_graded_from_their_code_cells(tmp_path):
    code = reference_files([EX01])[f"{EX01}.py"]
    head, body = code.split("def make_grid(", 1)
    with_metadata = notebook([
        ("markdown", "# Exercise 1", None),
        ("code", "%matplotlib inline\n" + head, {"solution": False, "grade": False, "locked": True}),
        ("code", "def make_grid(" + body, {"solution": True, "grade": False, "grade_id": "sol"}),
        ("code", "assert False, 'an autograder test cell is never part of the code'",
         {"solution": False, "grade": True, "points": 1, "grade_id": "test"}),
    ])
    plain = notebook([("code", head, None), ("code", "def make_grid(" + body, None)])
    submissions = make_class(tmp_path / "submitted", {
        "ann": {f"ps1/{EX01}.ipynb": with_metadata}, "bob": {f"{EX01}.ipynb": plain},
        "cat": {f"ps1/{EX01}.ipynb": "{ not json"}})
    run = run_grader("grade", str(submissions), "--out", str(tmp_path / "out"), "--only", EX01)
    assert run.returncode == 0, run.stderr[-3000:]
    book = gradebook(tmp_path / "out")
    assert float(book["ann"]["total"]) == float(book["bob"]["total"]) == total_points(EX01)
    assert float(book["cat"]["total"]) == 0
    assert f"{EX01}.ipynb is not a readable notebook" in (tmp_path / "out" / "cat" / "feedback.md").read_text()
    record = json.loads((tmp_path / "out" / "ann" / "record.json").read_text())
    assert list(record["exercises"][0]["provenance"]["files"]) == [f"ps1/{EX01}.ipynb"]
