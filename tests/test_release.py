"""One solution source: stubs generated from reference/, kept in sync, and a student repository without solutions."""

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import EXERCISES, ROOT, run_grader, visible_points

from grader import cli
from grader.course import Course
from grader.release import MARKERS, ClearHiddenTests, ClearSolutions, ReleaseError, Source, solution_lines


def clear(text: str, key: str = "ex09") -> str:
    return ClearSolutions(key)(Source(Path("reference/ex09_demo.py"), text)).text


def test_solution_regions_become_stubs_named_after_their_function():
    source = (
        "import torch\n\n\n"
        "def f(x):\n"
        '    """Doc stays."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    ### END SOLUTION\n"
        "    return y\n\n\n"
        "class F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def backward(ctx, g):\n"
        "        ### BEGIN SOLUTION\n"
        "        return g * 2\n"
        "        ### END SOLUTION\n"
    )
    stub = clear(source)
    assert '    """Doc stays."""\n    # YOUR CODE HERE\n    raise NotImplementedError("ex09.f")\n    return y\n' in stub
    assert '        raise NotImplementedError("ex09.F.backward")\n' in stub
    assert "x + 1" not in stub and "g * 2" not in stub and "SOLUTION" not in stub


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "reference/ex09_demo.py:1: a solution region must sit inside a function"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "reference/ex09_demo.py:2: a region begins and never ends"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "reference/ex09_demo.py:3: a region ends that never began"),
    ("def f(:\n    pass\n", "reference/ex09_demo.py:1"),
])
def test_malformed_references_are_refused_with_file_and_line(source, problem):
    with pytest.raises(ReleaseError, match=problem.replace("(", r"\(")):
        clear(source)


def test_hidden_test_regions_are_cut():
    text = "a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3\n"
    assert ClearHiddenTests()(Source(Path("r.py"), text)).text == "a = 1\nc = 3\n"


def test_the_matrix_factorization_docstrings_agree_with_each_other_and_with_the_checks():
    """``global_mean`` is a float wherever a docstring builds it, and ``recommend`` names the item table it ranks
    (the checks call it with models of a few items, not ``N_ITEMS``)."""
    module = Course(ROOT).reference_module("ex07_matrix_factorization")
    assert inspect.signature(module.MatrixFactorization.__init__).parameters["global_mean"].annotation is float
    built = re.findall(r"global_mean=(.+?)\)``", inspect.getdoc(module.train_mf))
    ratings = torch.tensor([1.0, 4.0, 5.0])
    assert built and all(type(eval(expr, {"ratings": ratings})) is float for expr in built)
    named = re.findall(r"``(model(?:\.\w+)+)", inspect.getdoc(module.recommend))
    model = module.MatrixFactorization(3, 7, 2, 3.5)
    assert 7 in [eval(expr, {"model": model}) for expr in named], named  # the model's own number of items


def test_exercises_are_in_sync_with_the_reference():
    run = run_grader("release", "--check")
    assert run.returncode == 0, run.stderr
    assert "in sync" in run.stdout


def copy_course(dest: Path) -> Path:
    for name in ("reference", "exercises"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_check_names_every_drifted_file_and_release_repairs_them(tmp_path, capsys):
    course = copy_course(tmp_path / "course")
    stub = course / "exercises" / "ex02_gradients.py"
    stub.write_text(stub.read_text().replace("# YOUR CODE HERE", "# edited by hand", 1))
    expected = course / "exercises" / "expected" / "ex01_tensors_autograd.json"
    document = json.loads(expected.read_text())
    document["checks"]["pairwise_sq_dists"][0]["out"]["data"][0] += 1.0
    expected.write_text(json.dumps(document))
    (course / "exercises" / "ex09_stray.py").write_text("x = 1\n")

    assert cli.main(["--course", str(course), "release", "--check"]) == cli.EXIT_DRIFT
    err = capsys.readouterr().err
    for rel in ("exercises/ex02_gradients.py", "exercises/expected/ex01_tensors_autograd.json", "exercises/ex09_stray.py"):
        assert f"drifted: {rel}" in err
    assert "drifted: exercises/ex01_tensors_autograd.py" not in err

    (course / "exercises" / "ex09_stray.py").unlink()
    assert cli.main(["--course", str(course), "release"]) == 0
    assert cli.main(["--course", str(course), "release", "--check"]) == 0


@pytest.fixture(scope="module")
def student_repo(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release") / "student"
    run = run_grader("release", "--student", str(dest))
    assert run.returncode == 0, run.stderr
    return dest


def test_the_student_repository_holds_no_solution_and_no_reference(student_repo):
    files = [p for p in student_repo.rglob("*") if p.is_file()]
    assert not (student_repo / "reference").exists()
    assert {p.name for p in (student_repo / "exercises").glob("ex*.py")} == {f"{n}.py" for n in EXERCISES}
    lines = solution_lines(ROOT / "reference")
    assert len(lines) > 40  # the scan below looks for something real
    for path in files:
        text = path.read_text()
        assert not MARKERS.search(text), path
        leaked = [line for line in lines if line in text]
        assert not leaked, f"{path} holds solution lines {leaked[:3]}"
    for name in ("release.py", "grading.py", "sandbox.py", "jail.py", "zygote.py", "channel.py", "worker.py",
                 "cli.py"):
        assert not (student_repo / "grader" / name).exists()
    assert (student_repo / "README.md").read_text().startswith("# ")


# the student repository on its own: the course's editable install (a finder that would lend the repository any
# grader module it lacks) is taken out of the interpreter before anything is imported
ALONE = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in "
         "getattr(f, '__module__', '') + type(f).__module__]; "
         "sys.path_hooks[:] = [h for h in sys.path_hooks if '__editable__' not in getattr(h, '__module__', '')]; "
         "sys.path_importer_cache.clear(); ")


def student_python(student_repo: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` or ``python -c CODE`` in the student repository, with only its own ``grader``."""
    if args[0] == "-m":
        code = ALONE + f"import runpy; sys.argv = {list(args[1:])!r}; runpy.run_module({args[1]!r}, run_name='__main__')"
    else:
        code = ALONE + args[1]
    env = {**os.environ, "PYTHONPATH": str(student_repo), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=student_repo, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_student_rubric_has_no_hidden_checks(student_repo):
    run = student_python(student_repo, "-c", (
        "import importlib.util, grader, grader.rubric as r; "
        "print(grader.__file__); print(sum(c.hidden for e in r.load_all() for c in e.checks)); "
        "print(importlib.util.find_spec('grader.sandbox') is None)"))
    assert run.returncode == 0, run.stderr
    where, hidden, alone = run.stdout.split()
    assert Path(where).is_relative_to(student_repo)
    assert hidden == "0"
    assert alone == "True"  # the course's grader cannot fill in what the repository lacks


def test_a_perfect_student_passes_in_the_student_repository(student_repo, tmp_path):
    work = tmp_path / "perfect"
    shutil.copytree(student_repo, work)
    for name in EXERCISES:
        shutil.copy(ROOT / "reference" / f"{name}.py", work / "exercises" / f"{name}.py")
    run = student_python(work, "-m", "pytest", "exercises/", "-p", "no:cacheprovider", "--score-json", "score.json")
    assert run.returncode == 0, run.stdout[-3000:]
    score = json.loads((work / "score.json").read_text())
    assert score["total"] == score["max_points"] == sum(visible_points(n) for n in EXERCISES)


def test_the_student_repository_stubs_score_zero(student_repo, tmp_path):
    run = student_python(student_repo, "-m", "pytest", "exercises/", "-p", "no:cacheprovider",
                         "--score-json", str(tmp_path / "score.json"))
    assert run.returncode == 1
    score = json.loads((tmp_path / "score.json").read_text())
    assert score["total"] == 0 and all(c["status"] == "not_implemented" for c in score["checks"])


def test_release_never_deletes_a_folder_it_did_not_write(tmp_path, student_repo):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    for extra in ([], ["--force"]):
        run = run_grader("release", "--student", str(precious), *extra)
        assert run.returncode == cli.EXIT_FAILURE
        assert "grader: error:" in run.stderr and "Traceback" not in run.stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    again = run_grader("release", "--student", str(student_repo), "--force")
    assert again.returncode == 0, again.stderr


def test_an_nbgrader_course_goes_into_a_folder_that_is_not_empty_only_with_force(tmp_path, capsys):
    release = ["--course", str(ROOT), "release", "--only", EXERCISES[0], "--nbgrader"]
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    for extra in ([], ["--force"]):
        assert cli.main([*release, str(precious), *extra]) == cli.EXIT_FAILURE
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    err = capsys.readouterr().err
    assert f"{precious} exists and is not empty" in err and "pass --force" in err and "refusing" in err
    course = tmp_path / "course"
    assert cli.main([*release, str(course)]) == 0
    notebook = course / "source" / EXERCISES[0] / f"{EXERCISES[0]}.ipynb"
    fresh = notebook.read_text()
    notebook.write_text("an older release")
    (course / "gradebook.db").write_text("what nbgrader keeps")
    assert cli.main([*release, str(course)]) == cli.EXIT_FAILURE
    assert notebook.read_text() == "an older release"
    assert cli.main([*release, str(course), "--force"]) == 0
    assert notebook.read_text() == fresh and (course / "gradebook.db").read_text() == "what nbgrader keeps"
