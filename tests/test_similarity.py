"""`grader similarity`: a copy renamed, reordered and re-commented ranks first for its exercise, clearly above every
pair of honest independent solutions (the alternatives catalogue); student text reaches the pages escaped."""

import ast
import csv

import pytest
from alternatives import ALTERNATIVES
from conftest import ROOT, make_class, run_grader

from grader import rubric

# measured (every 25-token k-gram; the same on every run): the copies score 0.85-0.99 and lead the best other pair
# by 0.34-0.73, except in ex08 by 0.14, where two alternatives share 0.76 (both keep most of the reference's code)
MARGIN = 0.10
COPIER = "copier"
SCRIPT = "# </pre><script>alert(1)</script> all my own work\n"


class Rename(ast.NodeTransformer):
    """Every local variable of every function renamed (parameters keep their names: checks call by keyword)."""

    def visit_FunctionDef(self, node):
        local = {t.id for n in ast.walk(node) if isinstance(n, ast.Assign) for t in n.targets
                 if isinstance(t, ast.Name)}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in local:
                n.id = f"my_{n.id}"
        return node


def disguise(code: str) -> str:
    """What a student hiding a copy does: rename the variables, reorder the functions and classes, drop the
    comments (``ast.unparse`` keeps none, and lays the code out its own way) and write new ones."""
    tree = Rename().visit(ast.parse(code))
    places = [i for i, n in enumerate(tree.body) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    for i, node in zip(places, [tree.body[i] for i in places][::-1]):
        tree.body[i] = node
    lines = ast.unparse(tree).splitlines()
    return SCRIPT + "\n".join(line + ("  # checked twice" if line.strip().startswith("return") else "")
                              for line in lines) + "\n"


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    students = {a.name: {f"{a.exercise}.py": a.source(ROOT / "reference")} for a in ALTERNATIVES}
    copied = {}  # exercise -> the student copied
    students[COPIER] = {}
    for a in ALTERNATIVES:
        if a.exercise not in copied:
            copied[a.exercise] = a.name
            students[COPIER][f"{a.exercise}.py"] = disguise(a.source(ROOT / "reference"))
    submissions = make_class(root / "subs", students)
    before = sorted(p.relative_to(submissions) for p in submissions.rglob("*"))
    run = run_grader("similarity", str(submissions), "--out", str(root / "out"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(p.relative_to(submissions) for p in submissions.rglob("*")) == before  # it writes only to OUT
    with (root / "out" / "similarity.csv").open() as f:
        rows = list(csv.DictReader(f))
    return root / "out", rows, copied, run


def test_a_disguised_copy_ranks_first_clearly_above_every_honest_pair(ranked):
    _, rows, copied, _ = ranked
    for exercise in rubric.exercise_names():
        pairs = [r for r in rows if r["exercise"] == exercise]
        first, *others = pairs
        assert {first["first"], first["second"]} == {COPIER, copied[exercise]}, (exercise, first)
        assert float(first["score"]) - max(float(r["score"]) for r in others) >= MARGIN, (exercise, pairs[:3])
        assert [int(r["rank"]) for r in pairs] == list(range(1, len(pairs) + 1))


def test_the_pages_show_the_pairs_side_by_side_with_student_text_escaped(ranked):
    out, _, copied, run = ranked
    index = (out / "similarity.html").read_text()
    exercise = rubric.exercise_names()[0]
    assert f'href="{exercise}/pair-001.html"' in index and "grades are unchanged" in index
    page = (out / exercise / "pair-001.html").read_text()
    assert page.count("<pre>") == 2 and "<mark>" in page
    assert "&lt;script&gt;" in page and "<script>" not in page and "</pre><script>" not in page
    assert f"{exercise}: {len([a for a in ALTERNATIVES if a.exercise == exercise]) + 1} file(s)" in run.stderr
    assert f"1.  " in run.stdout and COPIER in run.stdout.splitlines()[0]


@pytest.mark.parametrize("args, message", [
    (["similarity", "no/such/folder", "--out", "OUT"], "is not a folder of submissions"),
    (["similarity", "SUBS", "--out", "OUT", "--only", "ex42"], "no exercise 'ex42'"),
    (["similarity", "SUBS", "--out", "OUT", "--top", "0"], "--top 0"),
])
def test_bad_arguments_get_a_clear_error(tmp_path, args, message):
    make_class(tmp_path / "SUBS", {"ada": {}})
    run = run_grader(*[str(tmp_path / a) if a in ("SUBS", "OUT") else a for a in args])
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr
