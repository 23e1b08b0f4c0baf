"""GitHub Classroom's autograding: the workflow a student repository runs on each push, and the step it runs.

The workflow follows the convention of Classroom's own runners: a step writes, per runner, one line
``<id>=<base64 of a JSON result>`` to ``$GITHUB_OUTPUT``, and the last step,
``classroom-resources/autograding-grading-reporter``, reads each runner's result from the environment
variable ``<ID>_RESULTS`` (the ids it is given in ``runners``), prints them, and sends the total (the sum
of the tests' ``score`` over the sum of the runners' ``max_score``) to the Classroom.

Here each exercise is a runner and each visible check a test with its points. ``python -m
grader.classroom`` runs the student's pytest once per exercise in a process of its own, under a time
limit, so one exercise that hangs or crashes costs only its own points. Everything a student pushes
runs in their own repository, so this score is feedback, not the grade: the course grades the
collected repositories with ``grader grade`` (the hidden checks included).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import GraderError, rubric
from .escaping import multiline

WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
RESULT_VERSION = 1
PYTHON = "3.11"
TIME_FACTOR = 3  # an exercise's visible checks may take this many times its grading time limit, here on a runner
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"  # the runners have no GPU: CPU wheels are a tenth of the size


def runner_id(exercise: rubric.Exercise) -> str:
    return exercise.key  # ex01: the reporter reads EX01_RESULTS


def workflow(exercises: list[rubric.Exercise]) -> str:
    """The workflow file (``.github/workflows/classroom.yml``) for a student repository."""
    ids = [runner_id(e) for e in exercises]
    env = "\n".join(f"          {i.upper()}_RESULTS: \"${{{{ steps.checks.outputs.{i} }}}}\"" for i in ids)
    return f"""\
# Written by `grader release --student`: GitHub Classroom's autograding. On every push the visible
# checks of each exercise run with their points, and the reporter sends the total to the Classroom.
name: Autograding Tests
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    name: Autograding Tests
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{PYTHON}"
          cache: pip
          cache-dependency-path: pyproject.toml
      - name: Install
        run: |
          python -m pip install torch torchvision --index-url {CPU_WHEELS}
          python -m pip install -e .
          python -m pip install --no-deps recbole==1.2.1
      - name: Visible checks
        id: checks
        run: python -m grader.classroom
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {",".join(ids)}
"""


def result(exercise: rubric.Exercise, verdicts: list[dict], problem: str = "") -> dict:
    """One runner's result for the reporter: each visible check a test with its points; a check with no verdict
    (the run stopped before it) scores nothing and says why."""
    by_check = {v.get("check"): v for v in verdicts if v.get("exercise") == exercise.name}
    tests = []
    for check in exercise.selected(hidden=False):
        v = by_check.get(check.id)
        passed = v is not None and v.get("status") == "passed"
        message = v.get("message", "") if v is not None else problem or "this check did not run"
        tests.append({"name": f"{exercise.key} {check.id}", "status": "pass" if passed else "fail",
                      "score": check.points if passed else 0, "message": multiline(str(message)),
                      "filename": f"exercises/{exercise.name}.py"})
    status = "error" if problem else "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": RESULT_VERSION, "status": status, "max_score": exercise.max_points(hidden=False),
            "tests": tests}


def encode(document: dict) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()  # no newline: one line of $GITHUB_OUTPUT


def run_exercise(exercise: rubric.Exercise, root: Path, python: str = sys.executable) -> dict:
    """The student's pytest on one exercise, in a process group of its own under a time limit."""
    limit = TIME_FACTOR * exercise.time_limit
    with tempfile.TemporaryDirectory(prefix="classroom-") as scratch:
        score = Path(scratch) / "score.json"
        command = [python, "-m", "pytest", f"exercises/{exercise.name}.py", "-p", "no:cacheprovider", "-q",
                   "--score-json", str(score)]
        # its report goes to the step's log (stderr here): stdout may be where the results go
        process = subprocess.Popen(command, cwd=root, start_new_session=True, stdout=sys.stderr.fileno())
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return result(exercise, [], f"the checks of {exercise.name} ran past {limit:g} s and were stopped "
                                        "(does a loop never end?)")
        try:
            verdicts = json.loads(score.read_text())["checks"]
        except (OSError, ValueError, KeyError, TypeError):
            return result(exercise, [], f"pytest stopped (exit status {process.returncode}) before it wrote a "
                                        f"score for {exercise.name}: see the log of the 'Visible checks' step")
        return result(exercise, verdicts if isinstance(verdicts, list) else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.classroom", description=(
        "Run the visible checks of each exercise and write GitHub Classroom's runner results: one line "
        "'exNN=<base64 JSON>' per exercise to $GITHUB_OUTPUT (or to stdout when it is not set)."))
    parser.add_argument("--only", metavar="EXERCISES", help="comma-separated exercises (default: all)")
    parser.add_argument("--root", default=".", metavar="DIR", help="the repository (default: here)")
    args = parser.parse_args(argv)
    try:
        exercises = rubric.select(args.only)
    except GraderError as exc:  # an unknown exercise
        print(f"grader.classroom: error: {exc}", file=sys.stderr)
        return 2
    lines, total, most = [], 0.0, 0.0
    for exercise in exercises:
        document = run_exercise(exercise, Path(args.root))
        score = sum(t["score"] for t in document["tests"])
        total, most = total + score, most + document["max_score"]
        print(f"{exercise.name}: {score:g} / {document['max_score']:g}"
              + (f" ({document['tests'][0]['message']})" if document["status"] == "error" else ""), file=sys.stderr)
        lines.append(f"{runner_id(exercise)}={encode(document)}\n")
    print(f"visible checks: {total:g} / {most:g} (the course's grade adds hidden checks)", file=sys.stderr)
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a") as out:
            out.writelines(lines)
    else:
        sys.stdout.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
