"""`grader audit`: its mutation operators, the seeded sample, a sandboxed run that sorts its mutants, the budget."""

from __future__ import annotations

import ast
import json
import re
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import GraderError, rubric
from grader.audit import STATUSES, ChildRun, Verdict, run_audit, select, write_class
from grader.audit_report import audit_html, audit_json, killed_percent, table
from grader.equivalence import value_difference
from grader.mutants import Mutant, in_order, mutants_of, mutants_of_text
from grader.operators import KINDS
from grader.payload import Value

ROOT = Path(__file__).resolve().parents[1]

SNIPPET = '''\
import torch


def outside(x, w, loss, optimizer, model):
    y = (x ** 2).sum(dim=0) - x.T @ w + 1
    optimizer.zero_grad()
    model.eval()
    return -y.detach()


def inside(x, w, loss, optimizer, model, xs, hidden=8):
    """A docstring."""
    ### BEGIN SOLUTION
    y = (x ** 2).sum(dim=0) - x.T @ w + 1
    z = y.mean(dim=-1, keepdim=True)[:hidden] if y.shape[0] > 2 else -y
    optimizer.zero_grad()
    loss.backward()
    model.train()
    with torch.no_grad():
        out = model(xs[1:], w.t())
    return torch.exp(z).detach(), out
    ### END SOLUTION
'''


@pytest.fixture(scope="module")
def snippet_mutants() -> list[Mutant]:
    return mutants_of_text(SNIPPET, "ex99_snippet")


def changed_lines(original: str, mutated: str) -> set[int]:
    """The 1-based lines of ``original`` between the mutant's common prefix and common suffix (at least one)."""
    a, b = original.splitlines(), mutated.splitlines()
    head = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    tail = next((i for i, (x, y) in enumerate(zip(reversed(a[head:]), reversed(b[head:]))) if x != y),
                min(len(a), len(b)) - head)
    return set(range(head + 1, max(len(a) - tail, head + 1) + 1))


def test_the_operators_make_every_listed_kind_of_mutant(snippet_mutants):
    kinds = {m.kind for m in snippet_mutants}
    assert {"arithmetic", "comparison", "constant", "reduction", "dim", "keepdim", "transpose", "detach",
            "zero_grad", "mode", "no_grad", "slice", "swap", "unary", "function", "statement",
            "argument"} <= kinds <= set(KINDS)
    texts = {m.description: m.text for m in snippet_mutants}
    line = "    y = (x ** 2).sum(dim=0) - x.T @ w + 1\n"

    def made(kind: str, new_line: str) -> bool:
        return any(m.kind == kind and new_line in m.text and m.text.count(line) == 1 for m in snippet_mutants)

    assert made("constant", "    y = (x ** 1).sum(dim=0) - x.T @ w + 1\n")  # **2 -> **1
    assert made("reduction", "    y = (x ** 2).mean(dim=0) - x.T @ w + 1\n")
    assert made("dim", "    y = (x ** 2).sum(dim=1) - x.T @ w + 1\n")
    assert made("transpose", "    y = (x ** 2).sum(dim=0) - x @ w + 1\n")
    assert made("arithmetic", "    y = (x ** 2).sum(dim=0) + x.T @ w + 1\n")
    assert made("swap", "    y = (x ** 2).sum(dim=0) - w @ x.T + 1\n")
    assert any("`keepdim=True` added" in d for d in texts)
    assert any(m.kind == "keepdim" and "keepdim=False" in m.text for m in snippet_mutants)
    assert any(m.kind == "slice" and "xs[2:]" in m.text for m in snippet_mutants)
    assert any(m.kind == "slice" and "[:hidden + 1]" in m.text for m in snippet_mutants)
    assert any(m.kind == "comparison" and "y.shape[0] >= 2" in m.text for m in snippet_mutants)
    assert any(m.kind == "unary" and "else y\n" in m.text for m in snippet_mutants)  # unary minus removed
    assert any(m.kind == "unary" and "return -torch.exp(z).detach(), out" in m.text for m in snippet_mutants)
    assert any(m.kind == "swap" and "model(w.t(), xs[1:])" in m.text for m in snippet_mutants)
    assert any(m.kind == "argument" and "[:8]" in m.text for m in snippet_mutants)  # `hidden` reads its default
    assert any(m.kind == "function" and "return z.detach(), out" in m.text for m in snippet_mutants)
    assert any(m.kind == "mode" and "model.eval()" in m.text.split("### BEGIN")[1] for m in snippet_mutants)
    unwrapped = next(m for m in snippet_mutants if m.kind == "no_grad")
    assert "    out = model(xs[1:], w.t())\n    return" in unwrapped.text and "no_grad" not in unwrapped.text.split(
        "### BEGIN")[1]
    for kind, gone in (("zero_grad", "optimizer.zero_grad()"), ("statement", "loss.backward()"),
                       ("detach", "torch.exp(z).detach()")):
        assert any(m.kind == kind and gone not in m.text.split("### BEGIN")[1] for m in snippet_mutants), kind


def test_only_solution_regions_are_mutated_and_every_mutant_compiles_and_is_new(snippet_mutants):
    region = range(SNIPPET.splitlines().index("    ### BEGIN SOLUTION") + 2,
                   SNIPPET.splitlines().index("    ### END SOLUTION") + 1)
    shapes = set()
    for m in snippet_mutants:
        assert changed_lines(SNIPPET, m.text) <= set(region), m.description
        assert m.line in region and m.function == "inside"
        shape = ast.dump(ast.parse(m.text))
        assert shape != ast.dump(ast.parse(SNIPPET)) and shape not in shapes
        shapes.add(shape)
        assert m.diff(SNIPPET).count("\n-") >= 1


def test_every_references_mutants_stay_inside_its_solution_regions():
    from grader.release import BEGIN_SOLUTION, END_SOLUTION, Source, _regions

    for path in sorted((ROOT / "reference").glob("ex[0-9][0-9]_*.py")):
        text = path.read_text()
        allowed = {n for first, final, _ in _regions(Source(path, text), BEGIN_SOLUTION, END_SOLUTION)
                   for n in range(first + 2, final + 1)}
        mutants = mutants_of(path)
        assert len(mutants) >= 40, path.name
        for m in mutants:
            assert changed_lines(text, m.text) <= allowed, (m.id, m.description)


EXPRESSIONS = st.recursive(
    st.sampled_from(["x", "w", "2", "0.5", "x.T", "x.sum(dim=0)", "torch.exp(x)", "x[1:]"]),
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "@"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"),
    max_leaves=6)


@settings(max_examples=40, deadline=None)
@given(EXPRESSIONS, EXPRESSIONS)
def test_mutants_of_any_expression_compile_and_never_touch_code_outside_the_region(inside, outside):
    text = (f"import torch\n\n\ndef f(x, w):\n    a = {outside}\n    ### BEGIN SOLUTION\n    b = {inside}\n"
            f"    ### END SOLUTION\n    return a, b\n")
    for m in mutants_of_text(text, "ex99_snippet"):
        compile(m.text, "<mutant>", "exec")
        assert changed_lines(text, m.text) == {7}, m.description


def test_the_seeded_order_is_deterministic_and_a_sample_is_its_prefix(course):
    ex01 = [rubric.load("ex01")]
    first = [v.mutant.id for v in select(course, ex01, seed=1, sample=6)]
    assert first == [v.mutant.id for v in select(course, ex01, seed=1, sample=6)]
    assert first == [m.id for m in in_order(mutants_of(course.reference / "ex01_tensors_autograd.py"), 1)[:6]]
    assert first != [v.mutant.id for v in select(course, ex01, seed=2, sample=6)]
    both = select(course, [rubric.load("ex01"), rubric.load("ex02")], seed=1, sample=3)
    assert [v.mutant.exercise[:4] for v in both] == ["ex01", "ex02"] * 3  # interleaved: a budget cut is fair


def test_the_class_folder_refuses_what_the_audit_did_not_write(tmp_path, course):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GraderError, match="notes.txt"):
        write_class(tmp_path, select(course, [rubric.load("ex01")], seed=0, sample=1))


def test_equal_outputs_are_equal_to_a_few_units_in_the_last_place_and_nothing_else_is():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    ref = Value("Tensor", x, "cpu", False)
    assert value_difference("out", ref, Value("Tensor", x * (1 + 2 ** -52), "cpu", False)) is None
    assert "1e-12" in value_difference("out", ref, Value("Tensor", x + 1e-12, "cpu", False))
    assert "float32" in value_difference("out", ref, Value("Tensor", x.float(), "cpu", False))
    assert "requires_grad" in value_difference("out", ref, Value("Tensor", x, "cpu", True))
    nan = x.clone()
    nan[0] = float("nan")
    assert "NaN" in value_difference("out", ref, Value("Tensor", nan, "cpu", False))
    assert value_difference("out", Value("Tensor", nan, "cpu", False), Value("Tensor", nan.clone(), "cpu", False)) \
        is None


def test_a_line_marked_no_mutate_is_left_alone_and_only_that_line():
    marked = SNIPPET.replace("    optimizer.zero_grad()\n    loss", "    optimizer.zero_grad()  # pragma: no mutate\n    loss")
    line = marked.splitlines().index("    optimizer.zero_grad()  # pragma: no mutate") + 1
    everywhere, spared = mutants_of_text(SNIPPET, "ex99_snippet"), mutants_of_text(marked, "ex99_snippet")
    assert any(line in changed_lines(SNIPPET, m.text) for m in everywhere)
    assert not any(line in changed_lines(marked, m.text) for m in spared)
    assert 0 < len(everywhere) - len(spared) <= sum(line in changed_lines(SNIPPET, m.text) for m in everywhere)


def test_figures_are_equivalent_by_what_they_draw_not_by_their_pixels_or_title():
    from grader.equivalence import outcome_difference
    from grader.payload import Outcome

    def figure(y, title, png):
        return Outcome("ok", {"figure/line/0/y": Value("Tensor", torch.tensor(y), "cpu", False),
                              "figure/axes/0/title": Value("Tensor", torch.tensor(list(title.encode()),
                                                                                  dtype=torch.uint8), "cpu", False),
                              "figure/png": Value("Tensor", torch.tensor(png, dtype=torch.uint8), "cpu", False)})

    reference = figure([1.0, 2.0], "Loss", [1, 2, 3])
    assert outcome_difference(reference, figure([1.0, 2.0], "", [9, 9])) is None
    assert "figure/line/0/y" in outcome_difference(reference, figure([1.0, 2.5], "Loss", [1, 2, 3]))


def planted(course, index: int, function: str, old: str, new: str) -> Verdict:
    """A hand-made mutant of ex01, graded and sorted like the generated ones."""
    text = (course.reference / "ex01_tensors_autograd.py").read_text()
    assert text.count(old) == 1
    return Verdict(Mutant("ex01_tensors_autograd", index, "constant", function,
                          text[:text.index(old)].count("\n") + 1, f"planted: `{new.strip()}`",
                          text.replace(old, new)), rank=9000 + index)


MAKE_GRID = "dtype=torch.float32, device=device).reshape(n_rows, n_cols)\n"
X2_SIN = "return 2 * x * torch.sin(x) + x**2 * torch.cos(x)\n"


@pytest.fixture(scope="module")
def audited(course, tmp_path_factory):
    """A seeded sample of ex01 (`--sample 6 --seed 1`) and two planted survivors, through the real sandbox."""
    out = tmp_path_factory.mktemp("audit")
    verdicts = select(course, [rubric.load("ex01")], seed=1, sample=6)
    verdicts += [planted(course, 901, "make_grid", MAKE_GRID, MAKE_GRID.replace("n_cols)", "n_cols) * 1")),
                 planted(course, 902, "x2_sin_grad", X2_SIN, X2_SIN.replace("(x)\n", "(x) + 1e-12\n"))]
    started = time.monotonic()
    audit = run_audit(course, out, only="ex01", jobs=2, verdicts=verdicts)
    return audit, out, time.monotonic() - started


def test_a_seeded_sample_is_graded_in_the_sandbox_and_every_mutant_sorted(audited):
    audit, out, seconds = audited
    assert len(audit.verdicts) == 8 and seconds < 240
    for verdict in audit.verdicts:
        assert verdict.status in STATUSES and verdict.status != "not_run", (verdict.mutant.id, verdict.message)
        assert (out / "graded" / verdict.folder / "record.json").is_file()
        if verdict.status == "killed":
            assert verdict.failed and verdict.points < verdict.max_points
    generated = [v for v in audit.verdicts if v.rank < 9000]
    assert sum(v.status == "killed" for v in generated) >= 3  # a rubric that kills nothing fails here
    assert not audit.notes and not audit.interrupted


def test_planted_survivors_are_reported_as_likely_equivalent_or_survived(audited):
    audit, _, _ = audited
    by_index = {v.mutant.index: v for v in audit.verdicts}
    times_one, tiny = by_index[901], by_index[902]
    assert times_one.status == "equivalent" and times_one.points == times_one.max_points
    assert tiny.status == "survived" and tiny.points == tiny.max_points
    assert "x2_sin_grad" in tiny.difference and "differs from the reference's by up to 1e-12" in tiny.difference
    assert "x2_sin_grad" in {c["id"] for c in tiny.passed}


def test_the_table_json_and_html_report_each_survivor_with_its_diff(audited):
    audit, out, _ = audited
    text = table(audit)
    row = next(line for line in text.splitlines() if line.startswith("ex01_tensors_autograd"))
    counts = [int(n) for n in row.split()[1:8]]
    assert counts[0] == 8 and sum(counts[1:]) == 8 and counts[3] >= 1 and counts[2] >= 1
    document = json.loads(audit_json(audit))
    summary = document["exercises"]["ex01_tensors_autograd"]
    assert summary["equivalent"] >= 1 and summary["killed_percent"] == pytest.approx(killed_percent(summary), abs=0.01)
    entry = next(m for m in document["mutants"] if m["id"] == "ex01-902")
    assert entry["status"] == "survived" and "+ 1e-12" in entry["diff"]
    page = audit_html(audit)
    survivor = page.split('id="ex01-902"')[1].split("<h3")[0]
    assert "+    return 2 * x * torch.sin(x) + x**2 * torch.cos(x) + 1e-12" in survivor
    own = [c["id"] for c in audit_by_id(audit, "ex01-902").passed if c["target"] == "x2_sin_grad"]
    assert own and all(f"<code>{check}</code>" in survivor for check in own)
    assert 'href="graded/9902-ex01-902/feedback.html"' in survivor
    assert "<script" not in page and not re.search(r"<[^>]+\son\w+=", page)


def audit_by_id(audit, mutant_id: str) -> Verdict:
    return next(v for v in audit.verdicts if v.mutant.id == mutant_id)


def test_the_budget_stops_the_grading_and_what_was_not_run_is_reported(course, tmp_path):
    started = time.monotonic()
    sleeper = ChildRun([sys.executable, "-c", "import time; time.sleep(120)"], deadline=time.monotonic() + 1)
    sleeper()
    assert sleeper.stopped and time.monotonic() - started < 30
    audit = run_audit(course, tmp_path, only="ex01", jobs=1, budget=0.001, seed=3, sample=4)
    assert [v.status for v in audit.verdicts] == ["not_run"] * 4
    assert any("budget" in note for note in audit.notes)
    assert "not run" in table(audit) and time.monotonic() - started < 120
