"""Alternative correct solutions keep full marks: every catalogued alternative, through the student's pytest
(visible checks) and through `grader grade` (visible and hidden checks, in the sandbox).

An alternative that names the checks rejecting it (``rejected_by``) is a strict expected failure, and only
when exactly those checks take its points: a finding about the rubric that stays visible.
"""

import pytest
from alternatives import ALTERNATIVES
from conftest import ROOT, make_class, results_by_check, run_grader, run_student_pytest

from grader import rubric


class Rejected(Exception):
    """Exactly the checks an alternative names took its points."""


def named(alternative, hidden: bool) -> set[str]:
    """The checks the alternative names as rejecting it, the hidden ones only when ``hidden``."""
    exercise = rubric.load(alternative.exercise)
    return {c for c in alternative.rejected_by if hidden or not exercise.check(c).hidden}


def routes(hidden: bool):
    """The alternatives as parameters of the grader's route (``hidden``) or the student's pytest."""
    params = []
    for a in ALTERNATIVES:
        found = named(a, hidden)
        marks = [pytest.mark.xfail(strict=True, raises=Rejected, reason=f"{', '.join(sorted(found))}: {a.why}")] \
            if found else []
        params.append(pytest.param(a, id=a.name, marks=marks))
    return params


def full_marks(alternative, lost: dict[str, str], expected_to_lose: set[str]):
    """No check took points; or exactly the named ones did (``Rejected``)."""
    if expected_to_lose and set(lost) == expected_to_lose:
        raise Rejected("\n\n".join(f"{name}: {message}" for name, message in lost.items()))
    assert not lost, "\n\n".join(f"{name}: {message}" for name, message in lost.items())


def source(alternative):
    return alternative.source(ROOT / "reference")


def test_the_catalogue_holds_two_alternatives_per_exercise_with_unique_names():
    for name in rubric.exercise_names():
        assert sum(a.exercise == name and not a.rejected_by for a in ALTERNATIVES) >= 2, name
    assert len({a.name for a in ALTERNATIVES}) == len(ALTERNATIVES)
    for a in ALTERNATIVES:
        for check in a.rejected_by:
            rubric.load(a.exercise).check(check)  # raises when the check is not in the rubric
        assert bool(a.rejected_by) == bool(a.why), a.name


@pytest.mark.parametrize("alternative", ALTERNATIVES, ids=lambda a: a.name)
def test_each_alternative_is_an_edit_of_the_current_reference(alternative):
    reference = (ROOT / "reference" / f"{alternative.exercise}.py").read_text()
    text = source(alternative)  # raises, naming the edit, when a snippet is not found exactly once
    assert text != reference
    compile(text, f"{alternative.name}/{alternative.exercise}.py", "exec")
    for old, new in alternative.edits:
        assert old != new and new in text, (alternative.name, old)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """One class, one student per alternative, each submitting the one exercise file it rewrites."""
    root = tmp_path_factory.mktemp("alternatives")
    submissions = make_class(root / "submissions", {a.name: {f"{a.exercise}.py": source(a)} for a in ALTERNATIVES})
    run = run_grader("grade", str(submissions), "--out", str(root / "out"))
    assert run.returncode == 0, run.stderr[-3000:]
    return root / "out"


@pytest.mark.parametrize("alternative", routes(hidden=True))
def test_the_grader_gives_each_alternative_full_marks(graded_class, alternative):
    prefix = f"{alternative.exercise}: "
    mine = {name[len(prefix):]: r for name, r in results_by_check(graded_class, alternative.name).items()
            if name.startswith(prefix)}
    exercise = rubric.load(alternative.exercise)
    assert sorted(mine) == sorted(c.id for c in exercise.checks)  # every check ran, the hidden ones included
    lost = {name: r["output"] for name, r in mine.items() if r["score"] != r["max_score"] or r["status"] != "passed"}
    full_marks(alternative, lost, named(alternative, hidden=True))
    assert sum(r["score"] for r in mine.values()) == exercise.max_points(hidden=True)


@pytest.mark.parametrize("alternative", routes(hidden=False))
def test_pytest_gives_each_alternative_full_marks(tmp_path, alternative):
    impl = make_class(tmp_path / "impl", {"s": {f"{alternative.exercise}.py": source(alternative)}}) / "s"
    code, score = run_student_pytest(tmp_path, "--impl", str(impl), target=f"exercises/{alternative.exercise}.py")
    exercise = rubric.load(alternative.exercise)
    checks = {c["check"]: c for c in score.get("checks", [])}
    assert sorted(checks) == sorted(c.id for c in exercise.selected(hidden=False))
    full_marks(alternative, {n: c["message"] for n, c in checks.items() if c["status"] != "passed"},
               named(alternative, hidden=False))
    assert code == 0 and score["total"] == score["max_points"] == exercise.max_points(hidden=False)
