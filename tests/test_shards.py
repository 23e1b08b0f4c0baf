"""`grade --shard I/N` and `grader merge`: a class graded in three shards gives the gradebook of one run."""

import json
import shutil

import pytest
from conftest import EXERCISES, make_class, reference_files, run_grader, stub_files

from grader import GraderError, shards

EX01 = EXERCISES[0]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    wrong = reference_files([EX01])[f"{EX01}.py"].replace("return 2 * x * torch.sin(x)", "return x * torch.sin(x)", 1)
    students = {f"ref{i}": reference_files([EX01]) for i in range(3)}
    students.update({"stub_a": stub_files([EX01]), "stub_b": stub_files([EX01]), "wrong": {f"{EX01}.py": wrong}})
    submissions = make_class(root / "subs", students)
    whole = run_grader("grade", str(submissions), "--out", str(root / "whole"), "--only", EX01)
    parts = [run_grader("grade", str(submissions), "--out", str(root / f"part{i}"), "--only", EX01, "--shard", f"{i}/3")
             for i in (1, 2, 3)]
    merged = run_grader("merge", *(str(root / f"part{i}") for i in (1, 2, 3)), "--out", str(root / "merged"))
    return root, whole, parts, merged


def test_each_student_is_graded_in_exactly_one_shard(graded):
    root, whole, parts, _ = graded
    assert whole.returncode == 0 and all(p.returncode == 0 for p in parts), [p.stderr[-2000:] for p in parts]
    names = [json.loads((root / f"part{i}" / "run.json").read_text())["students"] for i in (1, 2, 3)]
    assert sorted(sum(names, [])) == sorted(["ref0", "ref1", "ref2", "stub_a", "stub_b", "wrong"])
    for i, members in enumerate(names, 1):
        assert all(shards.owner(name, 3) == i for name in members)


def test_the_merged_gradebook_is_the_unsharded_one(graded):
    root, whole, _, merged = graded
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert (root / "merged" / "grades.csv").read_text() == (root / "whole" / "grades.csv").read_text()
    book = (root / "whole" / "grades.csv").read_text()
    assert "wrong," in book and ",0," in book  # the class is not all alike: the comparison can fail
    for student in ("ref0", "stub_a", "wrong"):
        assert (root / "merged" / student / "feedback.md").read_text() == \
            (root / "whole" / student / "feedback.md").read_text()


def test_merge_refuses_shards_that_do_not_form_one_class(graded, tmp_path):
    root = graded[0]
    with pytest.raises(GraderError, match="give each of 1/3 .. 3/3 once"):
        shards.merge([root / "part1", root / "part2"], tmp_path / "out")
    other = tmp_path / "part3"
    shutil.copytree(root / "part3", other)
    run = json.loads((other / "run.json").read_text())
    run["settings"]["case_seeds"][EX01] = [0]
    (other / "run.json").write_text(json.dumps(run))
    with pytest.raises(GraderError, match="other case_seeds"):
        shards.merge([root / "part1", root / "part2", other], tmp_path / "out")
    with pytest.raises(GraderError, match="no finished grading run"):
        shards.merge([root / "part1", root / "part2", tmp_path], tmp_path / "out")


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3"])
def test_a_bad_shard_gets_a_clear_error(text):
    with pytest.raises(GraderError, match="--shard"):
        shards.parse(text)
