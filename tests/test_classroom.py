"""GitHub Classroom: the workflow `grader release --student` writes, its steps run here, and what its reporter gets.

The reporter (classroom-resources/autograding-grading-reporter) reads, for each id in its ``runners``
input, the environment variable ``<ID>_RESULTS``: base64 of a JSON result whose ``tests`` carry a
``score`` and whose ``max_score`` is the runner's; the Classroom gets the sum of the scores over the
sum of the ``max_score``. ``reporter_receives`` does exactly that with what the workflow's steps wrote.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import EXERCISES, reference_files, run_grader

from grader import classroom, rubric

EX01, EX02, EX03 = EXERCISES[:3]
EXPRESSION = re.compile(r"^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("classroom") / "student"
    run = run_grader("release", "--student", str(dest))
    assert run.returncode == 0, run.stderr
    return dest


def steps(repo: Path) -> dict[str, dict]:
    document = yaml.safe_load((repo / classroom.WORKFLOW).read_text())
    (job,) = document["jobs"].values()
    return {step["name"]: step for step in job["steps"]}


def github_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the Actions runner reads it: ``name=value`` lines."""
    found = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        assert sep and "<<" not in name, f"not a name=value line: {line[:80]!r}"
        found[name] = value
    return found


def reporter_receives(step: dict, outputs: dict[str, dict[str, str]]) -> tuple[dict[str, dict], float, float]:
    """The reporter step's inputs resolved as Actions would, then read as the reporter reads them: each runner's
    result, and the total it sends to the Classroom (sum of the tests' scores, sum of the runners' max_score)."""
    env = {}
    for name, value in step["env"].items():
        m = EXPRESSION.match(value)
        assert m, f"{name}: {value!r} is not a step output"
        env[name] = outputs.get(m.group(1), {}).get(m.group(2), "")  # an output never written is empty
    results = {}
    for runner in step["with"]["runners"].split(","):
        encoded = env[f"{runner.strip().upper()}_RESULTS"]
        results[runner.strip()] = json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"))
    score = sum(t["score"] for r in results.values() if r["max_score"] for t in r["tests"])
    most = sum(r["max_score"] for r in results.values() if r["max_score"])
    return results, score, most


def test_the_workflow_is_classrooms_convention(repo):
    document = yaml.safe_load((repo / classroom.WORKFLOW).read_text())
    assert set(document["on"]) >= {"push", "repository_dispatch"}
    assert document["permissions"]["checks"] == "write"
    (job,) = document["jobs"].values()
    assert job["name"] == "Autograding Tests"  # the check run the reporter looks for to post the points
    by_name = steps(repo)
    assert by_name["Checkout code"]["uses"].startswith("actions/checkout@")
    assert "pip install -e ." in by_name["Install"]["run"]  # the student README's install
    assert "recbole==1.2.1" in by_name["Install"]["run"]
    reporter = by_name["Autograding Reporter"]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"].split(",") == [e.key for e in rubric.load_all()]
    for runner in reporter["with"]["runners"].split(","):  # each runner is read from the checks step's output
        assert EXPRESSION.match(reporter["env"][f"{runner.upper()}_RESULTS"]).groups() == \
            (by_name["Visible checks"]["id"], runner)


def test_the_steps_run_here_and_the_reporter_gets_each_checks_points(repo, tmp_path):
    work = tmp_path / "student"
    shutil.copytree(repo, work)
    solved = reference_files([EX01, EX02])
    (work / "exercises" / f"{EX01}.py").write_text(
        solved[f"{EX01}.py"] + '\n\ndef make_grid(*args, **kwargs):\n    raise NotImplementedError("ex01.make_grid")\n')
    (work / "exercises" / f"{EX02}.py").write_text(solved[f"{EX02}.py"])
    (work / "exercises" / f"{EX03}.py").write_text("def broken(:\n")

    outputs = {}
    for step in steps(work).values():
        if "run" not in step or step["name"] == "Install":  # installed here already (see the first test)
            continue
        target = tmp_path / f"output-{step['id']}"
        target.write_text("")
        # bytecode written, as on a runner: the first exercise's pytest compiles the repository's grader for the
        # eleven after it (without, each compiled it again)
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "GITHUB_OUTPUT": str(target),
               "PYTHONPATH": str(work), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        run = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True,
                             timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        outputs[step["id"]] = github_outputs(target)

    results, score, most = reporter_receives(steps(work)["Autograding Reporter"], outputs)
    exercises = {e.key: e for e in rubric.load_all()}
    assert most == sum(e.max_points(hidden=False) for e in exercises.values())
    ex01 = exercises["ex01"]
    grid = sum(c.points for c in ex01.selected(hidden=False) if c.function == "make_grid")
    assert 0 < grid < ex01.max_points(hidden=False)
    expected = {"ex01": ex01.max_points(hidden=False) - grid, "ex02": exercises["ex02"].max_points(hidden=False)}
    for key, result in results.items():
        assert result["max_score"] == exercises[key].max_points(hidden=False)
        assert [t["name"] for t in result["tests"]] == [f"{key} {c.id}" for c in exercises[key].selected(False)]
        assert sum(t["score"] for t in result["tests"]) == expected.get(key, 0), key
        for t in result["tests"]:
            assert (t["status"] == "pass") == (t["score"] > 0)
    assert score == sum(expected.values())
    assert results["ex02"]["status"] == "pass" and results["ex01"]["status"] == "fail"
    failed = [t for t in results["ex01"]["tests"] if t["status"] == "fail"]
    assert failed and all("make_grid" in t["message"] for t in failed)
    assert all("SyntaxError" in t["message"] or "syntax" in t["message"].lower() for t in results["ex03"]["tests"])
    assert all("not implemented" in t["message"] for t in results["ex08"]["tests"])


LOOPS = "import time\nwhile True:\n    time.sleep(0.1)\n"
EXITS = "import os\nos._exit(7)\n"


@pytest.mark.parametrize("text, says, factor", [(LOOPS, "ran past", 0.25), (EXITS, "before it wrote a score", None)])
def test_an_exercise_that_hangs_or_kills_pytest_costs_only_its_own_points(repo, tmp_path, monkeypatch, text, says,
                                                                          factor):
    work = tmp_path / "student"
    shutil.copytree(repo, work)
    (work / "exercises" / f"{EX01}.py").write_text(text)
    if factor is not None:  # the loop: 15 s for ex01 instead of minutes; the exit keeps the whole limit, so that a
        monkeypatch.setattr(classroom, "TIME_FACTOR", factor)  # busy machine's slow start-up is not a time-out
    monkeypatch.setenv("PYTHONPATH", str(work))
    begin = time.monotonic()
    result = classroom.run_exercise(rubric.load(EX01), work)
    assert time.monotonic() - begin < 60
    assert result["status"] == "error" and result["max_score"] == rubric.load(EX01).max_points(hidden=False)
    assert all(t["score"] == 0 and says in t["message"] for t in result["tests"])


def test_the_step_writes_one_line_per_exercise_and_nothing_else_to_its_output(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(classroom, "run_exercise", lambda e, root: classroom.result(e, [], "skipped here"))
    target = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(target))
    assert classroom.main(["--only", f"{EX01},{EX02}"]) == 0
    lines = target.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["ex01", "ex02"]
    assert classroom.main(["--only", "ex42"]) == 2


def test_collected_repositories_are_graded_by_grader_grade(repo, tmp_path):
    """What the Classroom hands back (one clone of the student repository per student) is a class for `grade`."""
    clone = tmp_path / "class" / "alice"
    shutil.copytree(repo, clone)
    (clone / "exercises" / f"{EX01}.py").write_text(reference_files([EX01])[f"{EX01}.py"])
    run = run_grader("grade", str(clone.parent), "--out", str(tmp_path / "out"), "--only", EX01)
    assert run.returncode == 0, run.stderr
    record = json.loads((tmp_path / "out" / "alice" / "record.json").read_text())
    assert record["points"] == record["max_points"] == rubric.load(EX01).max_points(hidden=True)
