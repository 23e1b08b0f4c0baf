"""The Gradescope autograder: the archive `grader gradescope build` writes, and its run_autograder on a fake /autograder."""

import json
import os
import shutil
import subprocess
import zipfile

import pytest
from conftest import EXERCISES, grader_command, reference_files, run_grader, stub_files

from grader import rubric
from grader.course import FOLDER, STORE_ENV

EX01 = EXERCISES[0]
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope")
    built = run_grader("gradescope", "build", str(root / "autograder.zip"), "--only", EX01)
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(root / "autograder.zip") as z:
        z.extractall(root / "autograder" / "source")
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    return root, modes


def run_autograder(root, files: dict[str, str], metadata: dict | None = None,
                   links: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    base = root / "autograder"
    for folder in ("submission", "results"):
        shutil.rmtree(base / folder, ignore_errors=True)
        (base / folder).mkdir()
    for name, text in files.items():
        (base / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (base / "submission" / name).write_text(text)
    for name, target in (links or {}).items():  # symbolic links, as tar and unzip keep them
        (base / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, base / "submission" / name)
    if metadata:
        (base / "submission_metadata.json").write_text(json.dumps(metadata))
    env = {**{k: v for k, v in os.environ.items() if k != STORE_ENV},  # the archive's store, as on Gradescope
           "AUTOGRADER_ROOT": str(base), "GRADER": grader_command()[0]}
    if len(grader_command()) > 1:
        pytest.skip("the grader command is not installed as a script here")
    run = subprocess.run(["bash", str(base / "source" / "run_autograder")], capture_output=True, text=True, env=env,
                         timeout=600)
    results = base / "results" / "results.json"
    return run, json.loads(results.read_text()) if results.exists() else {}


def valid_results(document: dict) -> None:
    """Gradescope's results.json: what its specification requires, with our hidden checks after publishing."""
    assert isinstance(document["score"], (int, float)) and isinstance(document["execution_time"], (int, float))
    assert document["tests"] and document["score"] == sum(t["score"] for t in document["tests"])
    for test in document["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"] and test["visibility"] in VISIBILITIES
    hidden = {c.id for c in rubric.load(EX01).checks if c.hidden}
    for test in document["tests"]:
        check = test["name"].split(": ", 1)[1]
        assert test["visibility"] == ("after_published" if check in hidden else "visible")


def test_the_archive_holds_the_scripts_and_the_course_but_no_example_students(autograder):
    _, modes = autograder
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert f"course/reference/{EX01}.py" in modes and "course/grader/calibration.json" in modes
    stored = [n for n in modes if n.startswith(f"course/{FOLDER}/{EX01}-")]
    assert any(n.endswith("/manifest.json") for n in stored) and any("/expected-" in n for n in stored)
    assert not any("/examples/" in n or "__pycache__" in n for n in modes)


def test_the_reference_earns_full_marks_on_gradescope(autograder):
    root, _ = autograder
    run, document = run_autograder(root, {f"nested/folder/{EX01}.py": reference_files([EX01])[f"{EX01}.py"]},
                                   {"users": [{"name": "Ada Lovelace"}]})
    assert run.returncode == 0, run.stderr[-3000:]
    valid_results(document)
    assert document["score"] == document["max_score"] == rubric.load(EX01).max_points(hidden=True)
    assert f"reference: {EX01} was checked by an earlier run" in run.stderr  # the archive's: the reference never ran


def test_the_stub_earns_zero_on_gradescope(autograder):
    root, _ = autograder
    run, document = run_autograder(root, stub_files([EX01]))
    assert run.returncode == 0, run.stderr[-3000:]
    valid_results(document)
    assert document["score"] == 0
    assert all(t["output"].startswith("not implemented yet") for t in document["tests"])


def test_an_empty_submission_is_told_what_to_upload(autograder):
    root, _ = autograder
    run, document = run_autograder(root, {"notes.txt": "nothing here"})
    assert run.returncode == 0
    assert document["score"] == 0 and f"upload any of {EX01}.py" in document["output"]


def test_links_in_a_submission_are_refused_at_any_depth_with_the_reason(autograder):
    root, _ = autograder
    reference = root / "autograder" / "source" / "course" / "reference" / f"{EX01}.py"
    links = {f"nested/deeper/{EX01}.py": str(reference), "nested/helper.py": "/etc/hostname"}
    run, document = run_autograder(root, {"notes.txt": "see nested/"}, links=links)
    assert run.returncode == 0, run.stderr[-3000:]
    valid_results(document)
    assert document["score"] == 0
    assert all(f"{EX01}.py is a symbolic link" in t["output"] for t in document["tests"])
    assert "symbolic link" in document["output"]
