"""What an earlier run left in OUT that this one keeps: each exercise's result, by what decided it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from . import rubric
from .escaping import terminal
from .intake import Submission
from .preflight import digest
from .reports import RECORD, ExerciseResult, StudentResult, load_record
from .rubric import Exercise
from .sandbox import Limits


@dataclass
class Plan:
    """One student to grade: the exercises to grade now, and the earlier results kept beside them."""

    submission: Submission
    todo: list[Exercise]
    kept: dict[str, ExerciseResult]  # exercise -> its earlier result, kept as it is


def course_order(names) -> list[str]:
    """Exercise names in the course's order (names no rubric has any more last, sorted)."""
    known = rubric.exercise_names()
    return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def merged(kept: dict[str, ExerciseResult], graded: list[ExerciseResult]) -> list[ExerciseResult]:
    """A student's exercises: the ones graded now, and the kept ones exactly as they were, in course order."""
    by_name = {**kept, **{e.exercise: e for e in graded}}
    return [by_name[n] for n in course_order(by_name)]


def exercise_settings(course, exercise: Exercise, common: dict, limits: Limits) -> dict:
    """What decides an exercise's verdicts besides the student's files: the run's settings, a digest of the grader's
    code, rubrics and this exercise's reference, its cases' seeds and its limits."""
    return {**common, "grader_digest": digest(course, [exercise]),
            "case_seeds": sorted({c.seed for k in exercise.selected(hidden=True) for c in k.cases}),
            "limits": limits.record()}


def provenance(settings: dict, hashes: dict[str, str]) -> dict:
    """An exercise's provenance: its settings and the sha256 of every file the student sent (read for every
    exercise, whatever is selected). They all go into each exercise's sandbox (one exercise may import another's
    module), so a change to any of them grades each exercise again."""
    return {**settings, "files": hashes}


def run_settings(common: dict, per_exercise: dict[str, dict], names: list[str]) -> dict:
    """``run.json``'s settings: the run's, and per exercise of the gradebook its digest, seeds and limits."""
    return {**common, "exercises": names,
            **{key: {n: per_exercise[n][key] for n in names if n in per_exercise}
               for key in ("grader_digest", "case_seeds", "limits")}}


@dataclass
class Kept:
    """The class as an earlier run left it: students finished as they are, plans for the rest."""

    results: dict[str, StudentResult]  # kept whole
    plans: list[Plan]
    unlisted: list[str]  # not named by --students and never graded into OUT: no gradebook row

    def names(self) -> set[str]:
        return {e.name for p in self.plans for e in p.todo}


def plan_class(klass: list[Submission], exercises: list[Exercise], wanted: dict[str, dict], out: Path,
               chosen: set[str] | None, force: bool, only: str | None) -> Kept:
    """Per student, the selected exercises that need grading (``force``: all of them; otherwise those without an
    earlier result graded from the same files and settings), the earlier results kept beside them, and the
    students ``chosen`` (``--students``) leaves as they are. Says on stderr what is kept."""
    results: dict[str, StudentResult] = {}
    plans: list[Plan] = []
    unlisted: list[str] = []
    kept_parts = 0
    for s in klass:
        earlier = load_record(out / s.student / RECORD)
        if chosen is not None and s.student not in chosen:
            if earlier is None:
                unlisted.append(s.student)
            else:
                results[s.student] = earlier
            continue
        previous = {e.exercise: e for e in earlier.exercises} if earlier else {}
        hashes = s.read().hashes if previous and not force else {}
        todo = [e for e in exercises if force or e.name not in previous
                or previous[e.name].provenance != provenance(wanted[e.name], hashes)]
        if not todo:
            results[s.student] = earlier
            continue
        kept = {n: r for n, r in previous.items() if n not in {e.name for e in todo}}
        kept_parts += len(kept)
        plans.append(Plan(s, todo, kept))
    whole = [name for name in results if chosen is None or name in chosen]
    if whole:
        print(f"kept {len(whole)} student(s) graded by an earlier run with the same files and settings "
              f"(--force grades them again)", file=sys.stderr)
    if chosen is not None:
        print(f"kept {len(results) - len(whole)} student(s) not named by --students as an earlier run left "
              "them", file=sys.stderr)
    if kept_parts:
        print(f"kept {kept_parts} earlier exercise result(s) of the {len(plans)} student(s) graded now (not "
              f"selected{' by --only' if only else ''}, or graded with the same files and settings)", file=sys.stderr)
    if unlisted:
        print(f"note: {len(unlisted)} student(s) not named by --students have no results in {out} and are not in "
              f"the gradebook: {', '.join(terminal(n) for n in unlisted)}", file=sys.stderr)
    return Kept(results, plans, unlisted)
