"""The mutation operators, on Python's ``ast``: each proposes one plausible mistake at a node, as edits of the text.

The operators are our own, on the standard library's ``ast``, after trying the two usual libraries as
libraries. mutmut 3 (BSD-3-Clause) keeps its operators on libcst nodes and runs them through its own
trampoline runner and state; cosmic-ray 8 (MIT) keeps them on parso nodes that it mutates in place, and
its package brings aiohttp, SQLAlchemy, GitPython and stevedore. Both can be called on a node, offline,
but what they offer here is the generic part (operator and number swaps), while the mistakes a PyTorch
rubric must catch are about the library: ``sum`` for ``mean``, a reduction's ``dim`` or ``keepdim``, a
dropped ``.T``, ``.detach()``, ``zero_grad()``, ``eval()`` or ``torch.no_grad()``, an argument left at its
default. So each operator below finds its nodes with ``ast``, and its edit is spliced into the original
text at the node's position: the rest of the file, comments included, stays byte for byte the same, and
a mutant's diff shows only the mistake. Only nodes inside ``### BEGIN SOLUTION`` / ``### END SOLUTION``
regions (found by ``grader.release``) are mutated (``grader/mutants.py``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from .spans import BINDING, Text, atom, binding

# What each kind of mutant changes. Two changes making the same tree are one mutant, of the kind of the operator
# listed first in OPERATORS.
KINDS = {
    "no_grad": "a `with torch.no_grad():` block unwrapped",
    "zero_grad": "a `zero_grad()` call (or `.grad = None`) dropped",
    "mode": "an `eval()` / `train()` call dropped or swapped for the other",
    "detach": "a `.detach()` dropped",
    "transpose": "a `.T`, `.t()`, `.transpose()` or `.permute()` dropped",
    "reduction": "`sum` <-> `mean`, `max` <-> `min`, `argmax` <-> `argmin`, `std` <-> `var`",
    "dim": "a reduction's `dim` changed, dropped or added",
    "keepdim": "`keepdim` toggled or added",
    "slice": "a slice bound off by one",
    "swap": "two call arguments, two returned values or the operands of `-`, `/`, `@`, `**` swapped",
    "arithmetic": "an arithmetic operator replaced (`+` <-> `-`, `*` <-> `/`, `**` -> `*`, `@` -> `*`)",
    "comparison": "a comparison replaced (`<` <-> `<=`, `>` <-> `>=`, `==` <-> `!=`, `and` <-> `or`)",
    "unary": "a unary minus removed or added, a `not` removed",
    "constant": "a number +1 / -1 (`**2` -> `**1`, 0 <-> 1, ...), `True` <-> `False`",
    "function": "an element-wise function (`exp`, `log`, `sqrt`, `sigmoid`, `softmax`, `clamp`...) dropped",
    "clone": "a `.clone()` dropped",
    "item": "an `.item()`, `float()` or `int()` dropped",
    "device": "a `device=` argument or a `.to(device)` / `.cpu()` dropped",
    "dtype": "a `dtype=` argument or a `.to(dtype)` / `.float()` / `.double()` dropped",
    "keyword": "another keyword argument dropped (the callee's default used instead)",
    "argument": "a parameter ignored: every use of it reads its default instead",
    "statement": "another call statement dropped (`step()`, `backward()`, `ax.legend()`...)",
}
# Kinds whose change shows only at inputs a rubric may never try (another value of a parameter, another device),
# and always shows there: equal outputs at every probe input make such a mutant unexercised, never "likely equivalent".
NEVER_EQUIVALENT = frozenset({"argument", "device"})

ARITHMETIC = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div], ast.Div: [ast.Mult],
              ast.FloorDiv: [ast.Div], ast.Mod: [ast.FloorDiv], ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult]}
SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.Pow: "**", ast.MatMult: "@", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
           ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.And: "and",
           ast.Or: "or"}
COMPARISON = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
              ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)
REDUCTIONS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax",
              "amax": "amin", "amin": "amax", "std": "var", "var": "std", "nansum": "nanmean", "nanmean": "nansum"}
DIM_METHODS = {"sum", "mean", "std", "var", "max", "min", "argmax", "argmin", "amax", "amin", "prod", "softmax",
               "log_softmax", "logsumexp", "cumsum", "squeeze", "unsqueeze", "norm", "nansum", "nanmean"}
KEEPDIM_METHODS = {"sum", "mean", "std", "var", "max", "min", "argmax", "argmin", "amax", "amin", "prod",
                   "logsumexp", "norm", "nansum", "nanmean"}
ADD_DIM_METHODS = {"sum", "mean", "std", "var", "prod", "amax", "amin", "logsumexp", "nansum", "nanmean"}
ELEMENTWISE = {"exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "abs", "square", "sigmoid", "tanh", "relu",
               "softmax", "log_softmax", "clamp", "clip", "squeeze", "unsqueeze"}
MODULES = {"torch", "F", "functional", "np", "numpy", "math", "nn"}
TRANSPOSES = {"t", "transpose", "permute"}
GRAD_BLOCKS = {"no_grad", "enable_grad", "inference_mode"}


@dataclass(frozen=True)
class Change:
    """What an operator proposes: a kind, a description and text edits (character offsets, end excluded)."""

    kind: str
    description: str
    edits: tuple[tuple[int, int, str], ...]


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _number(node: ast.AST) -> float | int | None:
    """The value of a number literal, a negative one (``-1``) included; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _number(node.operand) is not None:
        return -_number(node.operand)
    return None


def _literal(value: float | int) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _name(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _module_call(func: ast.AST) -> bool:
    """``torch.exp(x)``, ``F.softmax(x)``, ``nn.functional.relu(x)``: a function of a module, not a method."""
    return isinstance(func, ast.Attribute) and _name(func.value) in MODULES


def _replace(text: Text, node: ast.AST, new: str, strength: int = 20) -> tuple[int, int, str]:
    """The edit that puts ``new`` (binding ``strength`` tightly) where ``node`` is."""
    start, end = text.span(node)
    return start, end, text.expression(node, new, strength)


# --- the operators: each yields the changes it proposes at one node ---------------------------------------------


def op_no_grad(text: Text, node: ast.AST) -> Iterator[Change]:
    """``with torch.no_grad():`` (or ``enable_grad``, ``inference_mode``) unwrapped: its body runs outside it."""
    if not (isinstance(node, ast.With) and len(node.items) == 1 and isinstance(node.items[0].context_expr, ast.Call)
            and _name(node.items[0].context_expr.func) in GRAD_BLOCKS):
        return
    head = text.statement_lines(node)
    body_line = node.body[0].lineno
    if head is None or body_line == node.lineno:
        return
    indent = len(text.lines[node.lineno - 1]) - len(text.lines[node.lineno - 1].lstrip())
    inner = len(text.lines[body_line - 1]) - len(text.lines[body_line - 1].lstrip())
    body = text.lines[body_line - 1:node.end_lineno]
    if any(line.strip() and line[:inner - indent].strip() for line in body):
        return
    dedented = "".join(line[inner - indent:] if line.strip() else line for line in body)
    yield Change("no_grad", f"`with {_short(text.segment(node.items[0].context_expr))}:` unwrapped",
                 ((text.starts[node.lineno - 1], text.starts[node.end_lineno], dedented),))


def _drop_statement(text: Text, node: ast.stmt, kind: str, what: str) -> Iterator[Change]:
    """A statement removed with its lines (``pass`` where it was alone in its block)."""
    span = text.statement_lines(node)
    if span is None:
        return
    siblings = next((getattr(text.parents[node], f) for f in ("body", "orelse", "finalbody")
                     if node in getattr(text.parents[node], f, [])), [node])
    line = text.lines[node.lineno - 1]
    keep = f"{line[:len(line) - len(line.lstrip())]}pass\n" if len(siblings) == 1 else ""
    yield Change(kind, f"`{_short(what)}` dropped", ((span[0], span[1], keep),))


def op_statement(text: Text, node: ast.AST) -> Iterator[Change]:
    """A call statement dropped (``zero_grad()``, ``eval()``, ``step()``...), or a ``.grad = None``."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        name = _name(node.value.func)
        owner = node.value.func.value if isinstance(node.value.func, ast.Attribute) else None
        grad_reset = name == "zero_" and isinstance(owner, ast.Attribute) and owner.attr == "grad"
        kind = "zero_grad" if name == "zero_grad" or grad_reset else "mode" if name in ("eval", "train") \
            else "statement"
        yield from _drop_statement(text, node, kind, text.segment(node))
    elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Attribute)
          and node.targets[0].attr == "grad" and isinstance(node.value, ast.Constant) and node.value.value is None):
        yield from _drop_statement(text, node, "zero_grad", text.segment(node))


def op_mode(text: Text, node: ast.AST) -> Iterator[Change]:
    """``.eval()`` <-> ``.train()``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("eval", "train") \
            and not node.args and not node.keywords:
        other = "train" if node.func.attr == "eval" else "eval"
        end = text.span(node.func)[1]
        yield Change("mode", f"`.{node.func.attr}()` -> `.{other}()`", ((end - len(node.func.attr), end, other),))


def _drop_method(text: Text, node: ast.Call, kind: str) -> Iterator[Change]:
    """``x.method(...)`` -> ``x``; ``torch.f(x, ...)`` -> ``x``."""
    func = node.func
    if _module_call(func):
        if not node.args or isinstance(node.args[0], ast.Starred):
            return
        kept = node.args[0]
    elif isinstance(func, ast.Attribute):
        kept = func.value
    else:
        return
    yield Change(kind, f"`{_short(text.segment(node))}` -> `{_short(text.segment(kept))}`",
                 (_replace(text, node, text.segment(kept), binding(kept)),))


def op_methods(text: Text, node: ast.AST) -> Iterator[Change]:
    """Drop ``.detach()``, a transpose, ``.clone()``, ``.item()``, ``.to(...)``, ``.cpu()`` or an element-wise call."""
    if isinstance(node, ast.Attribute) and node.attr in ("T", "mT", "H", "mH") and isinstance(node.ctx, ast.Load):
        yield Change("transpose", f"`{_short(text.segment(node))}` -> `{_short(text.segment(node.value))}`",
                     (_replace(text, node, text.segment(node.value), binding(node.value)),))
        return
    if not isinstance(node, ast.Call):
        return
    name = _name(node.func)
    if isinstance(node.func, ast.Name) and name in ("float", "int") and len(node.args) == 1 and not node.keywords:
        yield Change("item", f"`{_short(text.segment(node))}` -> `{_short(text.segment(node.args[0]))}`",
                     (_replace(text, node, text.segment(node.args[0]), binding(node.args[0])),))
        return
    if not isinstance(node.func, ast.Attribute):
        return
    method = not _module_call(node.func)
    if name in ("detach", "detach_") and method:
        yield from _drop_method(text, node, "detach")
    elif name in TRANSPOSES:
        yield from _drop_method(text, node, "transpose")
    elif name == "clone" and method:
        yield from _drop_method(text, node, "clone")
    elif name == "item" and method:
        yield from _drop_method(text, node, "item")
    elif name in ("cpu", "cuda") and method:
        yield from _drop_method(text, node, "device")
    elif name in ("float", "double", "half") and method and not node.args:
        yield from _drop_method(text, node, "dtype")
    elif name == "to" and method:
        yield from _drop_method(text, node, "device" if "device" in text.segment(node) else "dtype")
    elif name in ELEMENTWISE:
        yield from _drop_method(text, node, "function")


def op_reduction(text: Text, node: ast.AST) -> Iterator[Change]:
    """``sum`` <-> ``mean`` and the other pairs of ``REDUCTIONS``, as a method or a ``torch`` function."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in REDUCTIONS:
        old, new = node.func.attr, REDUCTIONS[node.func.attr]
        end = text.span(node.func)[1]
        yield Change("reduction", f"`{old}` -> `{new}` in `{_short(text.segment(node))}`",
                     ((end - len(old), end, new),))


def _dim_argument(node: ast.Call) -> ast.AST | None:
    """The ``dim`` of a reduction or reshaping call: its keyword, or a method's first positional number."""
    for keyword in node.keywords:
        if keyword.arg == "dim":
            return keyword.value
    if isinstance(node.func, ast.Attribute) and node.func.attr in DIM_METHODS:
        args = node.args[1:] if _module_call(node.func) else node.args
        if args and _number(args[0]) is not None:
            return args[0]
    return None


def op_dim(text: Text, node: ast.AST) -> Iterator[Change]:
    """A literal ``dim`` set to another of 0, 1, -1 or dropped; ``dim=0`` or ``keepdim=True`` added."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return
    dim = _dim_argument(node)
    call = _short(text.segment(node))
    if dim is not None and _number(dim) is not None:
        for value in (0, 1, -1):
            if value != _number(dim):
                yield Change("dim", f"dim {text.segment(dim)} -> {value} in `{call}`",
                             (_replace(text, dim, str(value), 11 if value < 0 else 20),))
        keyword = next((i for i, k in enumerate(node.keywords) if k.arg == "dim"), None)
        if keyword is not None and node.func.attr in KEEPDIM_METHODS:
            yield Change("dim", f"`dim=` dropped in `{call}`", (_keyword_removal(text, node, keyword),))
    elif dim is None and node.func.attr in ADD_DIM_METHODS and not node.args and not node.keywords \
            and not _module_call(node.func):
        end = text.span(node)[1]
        yield Change("dim", f"`dim=0` added to `{call}`", ((end - 1, end - 1, "dim=0"),))
    if dim is not None and node.func.attr in KEEPDIM_METHODS and not any(k.arg == "keepdim" for k in node.keywords):
        end = text.span(node)[1]
        yield Change("keepdim", f"`keepdim=True` added to `{call}`", ((end - 1, end - 1, ", keepdim=True"),))


def op_keyword(text: Text, node: ast.AST) -> Iterator[Change]:
    """Drop one keyword argument of a call."""
    if not isinstance(node, ast.Call):
        return
    for i, keyword in enumerate(node.keywords):
        if keyword.arg is None or keyword.arg == "dim":
            continue
        kind = {"device": "device", "dtype": "dtype", "keepdim": "keepdim"}.get(keyword.arg, "keyword")
        yield Change(kind, f"`{_short(text.segment(keyword))}` dropped from `{_short(text.segment(node))}`",
                     (_keyword_removal(text, node, i),))


def _keyword_removal(text: Text, node: ast.Call, i: int) -> tuple[int, int, str]:
    """The edit that removes a call's i-th keyword argument with the comma before (or after) it."""
    start, end = text.span(node.keywords[i])
    others = [text.span(n) for n in [*node.args, *node.keywords] if n is not node.keywords[i]]
    previous = [e for s, e in others if e <= start]
    following = [s for s, e in others if s >= end]
    if previous:
        start = max(previous)
    elif following:
        end = min(following)
    return start, end, ""


def op_slice(text: Text, node: ast.AST) -> Iterator[Change]:
    """Each bound of a slice +1 and -1."""
    if not isinstance(node, ast.Slice):
        return
    for bound in (node.lower, node.upper):
        if bound is None:
            continue
        value = _number(bound)
        for delta in (1, -1):
            if isinstance(value, int):
                new, strength = str(value + delta), 11 if value + delta < 0 else 20
            else:
                new, strength = f"{text.segment(bound)} {'+' if delta > 0 else '-'} 1", 9
            yield Change("slice", f"slice bound `{_short(text.segment(bound))}` -> `{new}`",
                         (_replace(text, bound, new, strength),))


def _swap(text: Text, a: ast.AST, b: ast.AST) -> tuple[tuple[int, int, str], ...]:
    """The edits that put ``a``'s text where ``b`` is and the other way round."""
    return ((*text.span(a), atom(text.segment(b), b)), (*text.span(b), atom(text.segment(a), a)))


def op_swap(text: Text, node: ast.AST) -> Iterator[Change]:
    """Two neighbouring positional arguments, two returned values, or a non-commutative operator's operands."""
    if isinstance(node, ast.Call):
        args = node.args
        if any(isinstance(a, ast.Starred) for a in args):
            return
        callee = f".{node.func.attr}" if isinstance(node.func, ast.Attribute) else _short(text.segment(node.func), 30)
        for a, b in zip(args, args[1:]):
            if ast.dump(a) != ast.dump(b):
                yield Change("swap", f"arguments `{_short(text.segment(a), 30)}` and `{_short(text.segment(b), 30)}` "
                                     f"of `{callee}(...)` swapped", _swap(text, a, b))
    elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
        for a, b in zip(node.value.elts, node.value.elts[1:]):
            yield Change("swap", f"returned `{_short(text.segment(a), 30)}` and `{_short(text.segment(b), 30)}` "
                                 "swapped", _swap(text, a, b))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, NON_COMMUTATIVE) and ast.dump(node.left) != ast.dump(
            node.right):
        yield Change("swap", f"operands of `{_short(text.segment(node))}` swapped", _swap(text, node.left, node.right))


def op_arithmetic(text: Text, node: ast.AST) -> Iterator[Change]:
    """An arithmetic operator replaced, as ``ARITHMETIC`` says; the operand texts are kept as they are."""
    if not (isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC):
        return
    where = text.operator_at(node.left, node.right)
    if where is None:
        return
    start, end = text.span(node)
    for new in ARITHMETIC[type(node.op)]:
        symbol = SYMBOLS[new]
        body = text.text[start:where[0]] + symbol + text.text[where[1]:end]
        yield Change("arithmetic", f"`{SYMBOLS[type(node.op)]}` -> `{symbol}` in `{_short(text.segment(node))}`",
                     ((start, end, text.expression(node, body, BINDING[new])),))


def op_comparison(text: Text, node: ast.AST) -> Iterator[Change]:
    """A comparison replaced, as ``COMPARISON`` says; ``and`` <-> ``or``."""
    if isinstance(node, ast.Compare):
        for left, op, right in zip([node.left, *node.comparators], node.ops, node.comparators):
            where = text.operator_at(left, right)
            if where is not None and type(op) in COMPARISON:
                new = SYMBOLS[COMPARISON[type(op)]]
                yield Change("comparison", f"`{SYMBOLS[type(op)]}` -> `{new}` in `{_short(text.segment(node))}`",
                             ((*where, new),))
    elif isinstance(node, ast.BoolOp):
        new_op = ast.Or if isinstance(node.op, ast.And) else ast.And
        for left, right in zip(node.values, node.values[1:]):
            where = text.operator_at(left, right)
            if where is not None:
                start, end = text.span(node)
                body = text.text[start:where[0]] + SYMBOLS[new_op] + text.text[where[1]:end]
                yield Change("comparison", f"`{SYMBOLS[type(node.op)]}` -> `{SYMBOLS[new_op]}` in "
                                           f"`{_short(text.segment(node))}`", ((start, end, f"({body})"),))


def op_unary(text: Text, node: ast.AST) -> Iterator[Change]:
    """A unary minus or ``not`` removed; each returned value negated."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)) and _number(node) is None:
        symbol = "-" if isinstance(node.op, ast.USub) else "not "
        yield Change("unary", f"`{symbol.strip()}` removed from `{_short(text.segment(node))}`",
                     (_replace(text, node, text.segment(node.operand), binding(node.operand)),))
    elif isinstance(node, ast.Return) and node.value is not None:
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for value in values:
            if _number(value) is None and not (isinstance(value, ast.Constant)) and not isinstance(value, ast.UnaryOp):
                yield Change("unary", f"returned `{_short(text.segment(value))}` negated",
                             (_replace(text, value, "-" + atom(text.segment(value), value), 11),))


def _context(text: Text, node: ast.AST) -> str:
    """`` in `...` ``: the expression around ``node``, to say where a change is."""
    parent = text.parents.get(node)
    if isinstance(parent, ast.Tuple):
        parent = text.parents.get(parent)
    if isinstance(parent, (ast.keyword, ast.expr)):
        return f" in `{_short(text.segment(parent))}`"
    return ""


def op_constant(text: Text, node: ast.AST) -> Iterator[Change]:
    """A number +1 and -1 (``-1`` as one number), ``True`` <-> ``False``."""
    parent = text.parents.get(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        kind = "keepdim" if isinstance(parent, ast.keyword) and parent.arg == "keepdim" else "constant"
        yield Change(kind, f"`{node.value}` -> `{not node.value}`{_context(text, node)}",
                     ((*text.span(node), str(not node.value)),))
        return
    value = _number(node)
    if value is None or (isinstance(node, ast.Constant) and isinstance(parent, ast.UnaryOp)
                         and _number(parent) is not None):
        return
    for new in dict.fromkeys((value + 1, value - 1)):
        literal = _literal(new)
        yield Change("constant", f"{text.segment(node)} -> {literal}{_context(text, node)}",
                     (_replace(text, node, literal, 11 if new < 0 else 20),))


def op_default(text: Text, node: ast.AST) -> Iterator[Change]:
    """A parameter with a literal default ignored: every use of it in the solution regions reads the default."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    params = [*node.args.posonlyargs, *node.args.args]
    defaults = dict(zip([p.arg for p in params[len(params) - len(node.args.defaults):]], node.args.defaults))
    defaults.update({p.arg: d for p, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None})
    for name, default in defaults.items():
        if _number(default) is None and not isinstance(default, ast.Constant):
            continue
        uses = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name
                and isinstance(n.ctx, ast.Load) and text.inside(n)]
        if uses and not any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
                            for n in ast.walk(node)):
            literal = text.segment(default)
            yield Change("argument", f"argument `{name}` ignored: its default `{literal}` used instead",
                         tuple(_replace(text, n, literal, binding(default)) for n in uses))


OPERATORS: tuple[Callable[[Text, ast.AST], Iterable[Change]], ...] = (
    op_no_grad, op_statement, op_mode, op_methods, op_reduction, op_dim, op_slice, op_swap, op_arithmetic,
    op_comparison, op_unary, op_constant, op_keyword, op_default)
