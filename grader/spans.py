"""Where each node of a reference file is, as text: offsets, solution regions, parents, owners, and what fits where."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .release import BEGIN_SOLUTION, END_SOLUTION, Source, _regions

# How tightly each expression binds (Python's table); atoms (names, calls, subscripts...) bind tightest.
BINDING = {ast.Add: 9, ast.Sub: 9, ast.Mult: 10, ast.Div: 10, ast.FloorDiv: 10, ast.Mod: 10, ast.MatMult: 10,
           ast.Pow: 12, ast.BitOr: 5, ast.BitXor: 6, ast.BitAnd: 7, ast.LShift: 8, ast.RShift: 8}


class Text:
    """The reference's text, its syntax tree and where its solution regions are, for the operators."""

    def __init__(self, text: str, origin: Path):
        self.text, self.origin = text, origin
        self.tree = ast.parse(text)
        lines = text.splitlines(keepends=True)
        self.lines = lines
        self.starts = [0]
        for line in lines:
            self.starts.append(self.starts[-1] + len(line))
        self.regions = [(first + 2, final) for first, final, _ in _regions(Source(origin, text), BEGIN_SOLUTION,
                                                                            END_SOLUTION)]
        self.parents: dict[ast.AST, ast.AST] = {}
        self.owners: dict[ast.AST, str] = {}
        self._index(self.tree, "")

    def _index(self, node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            self.parents[child] = node
            name = owner
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{owner}.{child.name}" if owner else child.name
            self.owners[child] = name
            self._index(child, name)

    def offset(self, line: int, col: int) -> int:
        """The character offset of ``ast``'s (line, UTF-8 byte column)."""
        return self.starts[line - 1] + len(self.lines[line - 1].encode()[:col].decode(errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def inside(self, node: ast.AST) -> bool:
        """Whether ``node`` lies wholly inside one solution region (and not in an f-string)."""
        if not hasattr(node, "lineno") or node.end_lineno is None:
            return False
        parent = self.parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.JoinedStr):
                return False
            parent = self.parents.get(parent)
        return any(first <= node.lineno and node.end_lineno <= final for first, final in self.regions)

    def free(self, node: ast.AST) -> bool:
        """Whether ``node`` stands where any expression fits unparenthesised (a statement's value, an argument...)."""
        parent = self.parents.get(node)
        if isinstance(parent, (ast.stmt, ast.keyword, ast.Tuple, ast.List, ast.Set, ast.Slice, ast.comprehension,
                               ast.withitem, ast.Dict)):
            return True
        if isinstance(parent, ast.Lambda):
            return node is parent.body
        if isinstance(parent, ast.Call):
            return node in parent.args
        if isinstance(parent, ast.Subscript):
            return node is parent.slice
        return False

    def expression(self, node: ast.AST, text: str, strength: int) -> str:
        """``text`` (binding ``strength`` tightly) to stand where ``node`` was: in parentheses when it binds less
        tightly than ``node`` did."""
        return text if self.free(node) or strength >= binding(node) else f"({text})"

    def operator_at(self, after: ast.AST, before: ast.AST) -> tuple[int, int] | None:
        """Where the operator token between two operands is: past parentheses, blanks, comments and line ends."""
        start, end = self.span(after)[1], self.span(before)[0]
        i = start
        while i < end:
            c = self.text[i]
            if c in " \t\n\r()\\":
                i += 1
            elif c == "#":
                i = self.text.find("\n", i, end) + 1 or end
            else:
                break
        m = re.compile(r"not\s+in\b|is\s+not\b|\*\*|//|<=|>=|==|!=|[-+*/%@<>]|and\b|or\b|in\b|is\b").match(
            self.text, i, end)
        return (m.start(), m.end()) if m else None

    def statement_lines(self, node: ast.stmt) -> tuple[int, int] | None:
        """The character span of the whole lines a statement fills, when it is alone on them."""
        first, last = self.lines[node.lineno - 1], self.lines[node.end_lineno - 1]
        before = first.encode()[:node.col_offset].decode(errors="replace")
        after = last.encode()[node.end_col_offset:].decode(errors="replace")
        if before.strip() or (after.strip() and not after.strip().startswith("#")):
            return None
        return self.starts[node.lineno - 1], self.starts[node.end_lineno]


def binding(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp):
        return BINDING.get(type(node.op), 9)
    if isinstance(node, ast.UnaryOp):
        return 3 if isinstance(node.op, ast.Not) else 11
    if isinstance(node, ast.Compare):
        return 4
    if isinstance(node, ast.BoolOp):
        return 2 if isinstance(node.op, ast.And) else 1
    if isinstance(node, (ast.IfExp, ast.Lambda, ast.NamedExpr)):
        return 0
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0:
        return 11
    return 20


def atom(text: str, node: ast.AST) -> str:
    """An operand's text to move elsewhere: in parentheses unless it is an atom."""
    return text if binding(node) >= 20 else f"({text})"
