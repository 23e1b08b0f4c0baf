"""Mutants of the reference's solution regions: every change the operators propose that compiles and is new.

Each mutant is the whole reference file with one operator's edit (``grader/operators.py``) spliced in,
so its diff shows only the mistake; it compiles, differs from the reference as a syntax tree, and no two
mutants of a file are the same tree. Their order is fixed by the file (by position, then operator), and
``in_order`` shuffles them with a seed, so any prefix is a seeded random sample. Lines marked
``# pragma: no mutate`` (as mutmut marks them) are left alone: free choices such as an optimiser's
settings or a figure's size, where another value is just as right (the audit counts them in its notes).
"""

from __future__ import annotations

import ast
import difflib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .operators import OPERATORS
from .spans import Text


@dataclass(frozen=True)
class Mutant:
    """One mutant of one exercise's reference: what changed, where, and the whole mutated file."""

    exercise: str  # the module name, e.g. ex01_tensors_autograd
    index: int  # its place among the exercise's mutants, in the order the operators made them
    kind: str  # a key of operators.KINDS
    function: str  # the function or method it changes, e.g. Linear.backward
    line: int  # the first changed line of the reference (1-based)
    description: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.exercise.split('_', 1)[0]}-{self.index:03d}"

    def diff(self, original: str) -> str:
        """The unified diff of the reference and this mutant (3 lines of context)."""
        name = f"reference/{self.exercise}.py"
        return "".join(difflib.unified_diff(original.splitlines(keepends=True), self.text.splitlines(keepends=True),
                                            name, f"{name} ({self.id})"))



def _apply(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text


NO_MUTATE = "# pragma: no mutate"


def free_lines(text: str) -> list[int]:
    """The lines (1-based) marked ``# pragma: no mutate``: free choices the audit leaves alone."""
    return [i for i, line in enumerate(text.splitlines(), 1) if NO_MUTATE in line]


def mutants_of_text(text: str, exercise: str, origin: Path | None = None) -> list[Mutant]:
    """Every mutant of one reference file's solution regions, in a fixed order (by node, then operator)."""
    source = Text(text, origin or Path(f"reference/{exercise}.py"))
    allowed = [(source.starts[first - 1], source.starts[final]) for first, final in source.regions]
    free = [(source.starts[line - 1], source.starts[line]) for line in free_lines(text)]
    proposed = []
    for node in ast.walk(source.tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not source.inside(node):
            continue
        for rank, operator in enumerate(OPERATORS):
            for change in operator(source, node):
                if all(any(lo <= start <= end <= hi for lo, hi in allowed)
                       and not any(start < hi and end >= lo for lo, hi in free) for start, end, _ in change.edits):
                    proposed.append((min(e[0] for e in change.edits), rank, len(proposed), change, node))
    seen = {ast.dump(source.tree)}
    found: list[Mutant] = []
    for first, _, _, change, node in sorted(proposed, key=lambda p: p[:3]):
        mutated = _apply(text, change.edits)
        try:
            tree = ast.parse(mutated)
            compile(tree, "<mutant>", "exec")
        except (SyntaxError, ValueError):
            continue
        shape = ast.dump(tree)
        if shape in seen:
            continue
        seen.add(shape)
        line = next(i for i, start in enumerate(source.starts) if start > first)
        found.append(Mutant(exercise, len(found), change.kind, source.owners.get(node, ""), line,
                            change.description, mutated))
    return found


def mutants_of(path: Path) -> list[Mutant]:
    """Every mutant of ``reference/exNN_*.py``."""
    return mutants_of_text(Path(path).read_text(), Path(path).stem, Path(path))


def in_order(mutants: list[Mutant], seed: int) -> list[Mutant]:
    """One exercise's mutants in a seeded random order: any prefix is a seeded random sample."""
    shuffled = list(mutants)
    random.Random(f"grader audit {seed} {mutants[0].exercise if mutants else ''}").shuffle(shuffled)
    return shuffled
