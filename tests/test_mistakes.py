"""The mistake catalogue: every catalogued wrong solution loses points on its check, through the
student's pytest and through `grader grade`, and the feedback names the mistake where the rubric
recognises it."""

import pytest
from catalogue import CATALOGUE
from conftest import ROOT, make_class, results_by_check, run_grader, run_student_pytest

from grader import rubric


def test_the_catalogue_covers_every_exercise_with_four_visible_mistakes():
    for name in rubric.exercise_names():
        assert sum(m.exercise == name and m.visible for m in CATALOGUE) >= 4, name
    assert len({m.name for m in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda m: m.name)
def test_each_mistake_is_a_one_place_edit_of_the_current_reference(mistake):
    exercise = rubric.load(mistake.exercise)
    for check in mistake.checks:
        exercise.check(check)  # raises when the catalogue names a check the rubric lacks
    assert mistake.source(ROOT / "reference") != (ROOT / "reference" / f"{mistake.exercise}.py").read_text()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("mistakes")
    submissions = make_class(root / "submissions", {
        m.name: {f"{m.exercise}.py": m.source(ROOT / "reference")} for m in CATALOGUE})
    run = run_grader("grade", str(submissions), "--out", str(root / "out"))
    assert run.returncode == 0, run.stderr[-3000:]
    return root / "out"


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda m: m.name)
def test_the_grader_catches_each_mistake(graded_class, mistake):
    results = results_by_check(graded_class, mistake.name)
    for check in mistake.checks:
        result = results[f"{mistake.exercise}: {check}"]
        assert result["score"] == 0 and result["status"] == "failed", result
    if mistake.hint:
        first = results[f"{mistake.exercise}: {mistake.checks[0]}"]["output"]
        assert mistake.hint in first, first
    others = [r for name, r in results.items() if name.startswith(mistake.exercise)]
    assert any(r["status"] == "passed" for r in others)  # one mistake does not sink the whole exercise


@pytest.mark.parametrize("mistake", [m for m in CATALOGUE if m.visible], ids=lambda m: m.name)
def test_pytest_catches_each_visible_mistake(tmp_path, mistake):
    impl = make_class(tmp_path / "impl", {"s": {f"{mistake.exercise}.py": mistake.source(ROOT / "reference")}}) / "s"
    # the checks the mistake breaks, as a student runs them one by one: `pytest exercises/exNN_name.py::check`
    first, *others = (f"exercises/{mistake.exercise}.py::{check}" for check in mistake.checks)
    code, score = run_student_pytest(tmp_path, "--impl", str(impl), *(str(ROOT / o) for o in others), target=first)
    assert code == 1
    by_check = {c["check"]: c for c in score["checks"]}
    for check in mistake.checks:
        assert by_check[check]["points"] == 0 and by_check[check]["status"] == "failed", by_check[check]
    if mistake.hint:
        assert mistake.hint in by_check[mistake.checks[0]]["message"]


@pytest.mark.parametrize("mistake", [m for m in CATALOGUE if not m.visible], ids=lambda m: m.name)
def test_hidden_only_mistakes_pass_the_visible_checks(tmp_path, mistake):
    impl = make_class(tmp_path / "impl", {"s": {f"{mistake.exercise}.py": mistake.source(ROOT / "reference")}}) / "s"
    code, score = run_student_pytest(tmp_path, "--impl", str(impl), target=f"exercises/{mistake.exercise}.py")
    assert code == 0 and score["total"] == score["max_points"]
