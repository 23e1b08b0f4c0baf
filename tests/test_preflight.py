"""The reference's results stored by digest (grader/preflight.py): reused while nothing they depend on changes,
computed again whenever anything does, never used when damaged, and out of every child's sight."""

import json
import shutil

import pytest
from catalogue import CATALOGUE
from conftest import EXERCISES, ROOT, make_class, reference_files, run_grader

from grader import fresh, preflight, rubric
from grader.course import Course

EX01, EX02 = EXERCISES[:2]
USED = "its stored results are used"
MISTAKE = next(m for m in CATALOGUE if m.exercise == EX02 and m.visible)


def grade(tmp_path, submissions, out: str, store, *extra: str):
    """``grader grade`` with the store at ``store`` (None: no store)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(preflight.STORE_ENV, str(store) if store is not None else "off")
        return run_grader(*extra, "grade", str(submissions), "--out", str(tmp_path / out), "--only",
                          f"{EX01},{EX02}", "--jobs", "2")


def verdicts(out, student: str) -> list[tuple]:
    document = json.loads((out / student / "results.json").read_text())
    return [(t["name"], t["score"], t["output"]) for t in document["tests"]]


@pytest.fixture
def submissions(tmp_path):
    return make_class(tmp_path / "subs", {
        "ada": reference_files([EX01, EX02]),
        "bo": {f"{EX02}.py": MISTAKE.source(ROOT / "reference")},
    })


def test_stored_results_grade_exactly_as_a_run_without_a_store(tmp_path, submissions):
    store = tmp_path / "store"
    first = grade(tmp_path, submissions, "first", store)
    assert first.returncode == 0, first.stderr[-3000:]
    assert USED not in first.stderr
    assert sorted(p.name.split("-")[0] for p in store.iterdir()) == [EX01, EX02]
    assert oct(store.stat().st_mode & 0o777) == oct(0o700)  # the owner's alone
    again = grade(tmp_path, submissions, "again", store)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count(USED) == 2 and f"reference: {EX01} was checked by an earlier run" in again.stderr
    none = grade(tmp_path, submissions, "none", None)
    assert none.returncode == 0 and USED not in none.stderr
    for student in ("ada", "bo"):
        assert verdicts(tmp_path / "again", student) == verdicts(tmp_path / "none", student) \
               == verdicts(tmp_path / "first", student)
    assert verdicts(tmp_path / "again", "ada")[0][1] > 0


def test_a_changed_reference_line_is_checked_again_never_served_from_the_store(tmp_path, submissions):
    course = tmp_path / "course"
    for folder in ("reference", "exercises"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__", "figures"))
    store = tmp_path / "store"
    stored = grade(tmp_path, submissions, "stored", store, "--course", str(course))
    assert stored.returncode == 0, stored.stderr[-3000:]
    reference = course / "reference" / f"{EX02}.py"
    good = reference.read_text()
    reference.write_text(good.replace("return grad_out * s * (1 - s)\n", "return 2 * grad_out * s * (1 - s)\n"))
    broken = grade(tmp_path, submissions, "broken", store, "--course", str(course))
    assert broken.returncode == 2 and f"the reference fails its own check {EX02}::" in broken.stderr
    assert USED not in broken.stderr  # ex01's key changed too: the secret fresh inputs come from every reference
    reference.write_text(good)
    restored = grade(tmp_path, submissions, "restored", store, "--course", str(course))
    assert restored.returncode == 0 and restored.stderr.count(USED) == 2  # the same files: the same key again


def test_a_damaged_record_is_computed_again_and_replaced(tmp_path, submissions):
    store = tmp_path / "store"
    assert grade(tmp_path, submissions, "first", store).returncode == 0
    record = next(store.glob(f"{EX02}-*"))
    damaged = sorted(record.glob("expected-*"))[0]
    damaged.write_bytes(damaged.read_bytes()[:40])
    again = grade(tmp_path, submissions, "again", store)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"the stored results in {record} are not usable" in again.stderr and again.stderr.count(USED) == 1
    assert verdicts(tmp_path / "again", "bo") == verdicts(tmp_path / "first", "bo")
    assert grade(tmp_path, submissions, "third", store).stderr.count(USED) == 2  # this run's record replaced it


def test_children_never_see_the_store(tmp_path):
    store = tmp_path / "store"
    peek = f'''import os
try:
    seen = sorted(os.listdir({str(store)!r}))
except OSError as exc:
    seen = type(exc).__name__
raise ImportError(f"store: {{seen!r}}")
'''
    subs = make_class(tmp_path / "subs", {"ada": reference_files([EX01, EX02]), "eve": {f"{EX01}.py": peek}})
    assert grade(tmp_path, subs, "first", store).returncode == 0  # the store now holds records
    run = grade(tmp_path, subs, "again", store)
    assert run.returncode == 0, run.stderr[-3000:]
    message = json.loads((tmp_path / "again" / "eve" / "results.json").read_text())["tests"][0]["output"]
    assert "store: " in message and EX01 not in message.split("store: ", 1)[1], message


def test_the_key_changes_with_everything_the_results_depend_on(tmp_path, monkeypatch):
    course = Course(ROOT)
    exercise = rubric.load(EX01)
    monkeypatch.setattr(fresh, "_SEED", 12345)
    base = preflight.key(course, exercise, "cpu")
    assert preflight.key(course, exercise, "cpu") == base
    assert preflight.key(course, exercise, "cuda") != base
    assert preflight.key(course, rubric.load(EX02), "cpu") != base
    monkeypatch.setattr(fresh, "_SEED", 12346)
    assert preflight.key(course, exercise, "cpu") != base
    monkeypatch.setattr(fresh, "_SEED", 12345)
    monkeypatch.setattr(preflight, "_versions", lambda: "torch=0.0")
    assert preflight.key(course, exercise, "cpu") != base
    monkeypatch.undo()
    monkeypatch.setattr(fresh, "_SEED", 12345)
    copy = tmp_path / "course"
    shutil.copytree(ROOT / "reference", copy / "reference", ignore=shutil.ignore_patterns("__pycache__"))
    assert preflight.key(Course(copy), exercise, "cpu") == base  # the same files elsewhere
    path = copy / "reference" / f"{EX01}.py"
    path.write_text(path.read_text() + "\n# a comment\n")
    assert preflight.key(Course(copy), exercise, "cpu") != base


def test_the_preflight_command_checks_and_stores_for_later_runs(tmp_path, submissions, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setenv(preflight.STORE_ENV, str(store))
    run = run_grader("preflight", "--only", EX01)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"the reference passes every check of {EX01} on cpu; stored in {store}" in run.stdout
    graded = run_grader("grade", str(submissions), "--out", str(tmp_path / "out"), "--only", EX01)
    assert graded.returncode == 0 and f"reference: {EX01} was checked by an earlier run" in graded.stderr
    assert "no exercise 'ex42'" in run_grader("preflight", "--only", "ex42").stderr
