"""Nothing a child sends stops a run: any bytes, header, JSON, dtype, shape or value ends in a verdict
(or the one payload error), and one student's trouble never keeps the class from its gradebook."""

import json
import math
import queue
import re
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import torch
from conftest import ROOT, make_class, reference_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save

from grader import rubric
from grader.checks import (CheckResult, GradcheckConsistent, Holds, Match, at_least, compare, count_of, is_true,
                           judge_check, shape_of)
from grader.course import Course
from grader.expected import Expectations
from grader.grading import GradeExercise
from grader.payload import FIGURE_PNG, STORABLE, Outcome, PayloadError, Value, encode_outcomes, plain, read_outcomes
from grader.probes import run_check
from grader.sandbox import Channel, Limits
from grader.thresholds import Threshold, prediction

CPU = torch.device("cpu")
LIMIT = 1 << 22
STATUSES = {"passed", "failed", "error", "not_implemented"}
DTYPES = sorted(STORABLE, key=str)
FAST = settings(max_examples=15, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the results channel: arbitrary bytes in arbitrary chunks --------------------------------------------------

FRAME_NAMES = ["importing", "import_error", "start", "check", "done", "junk"]


def frame(name: str, index: int | None, body: bytes) -> bytes:
    head = name if index is None else f"{name}-{index:03d}"
    return f"{head} {len(body)}\n".encode() + body


pieces = st.one_of(
    st.builds(frame, st.sampled_from(FRAME_NAMES), st.none() | st.integers(0, 3), st.binary(max_size=40)),
    st.binary(max_size=80),
    st.from_regex(rb"\A[a-z_]{0,22}(-\d{0,4})? \d{0,12}\n", fullmatch=True),
)


def in_chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def valid_order(keys: list[str]) -> bool:
    """Whether frame keys follow the worker's order: importing, then import_error, or start/check pairs and done."""
    if keys[:1] not in ([], ["importing"]):
        return False
    rest = keys[1:]
    if rest[:1] == ["import_error"]:
        return len(rest) == 1
    if rest[-1:] == ["done"]:
        rest = rest[:-1]
        if len(rest) % 2:  # done while a check was running
            return False
    return rest == [f"{'check' if i % 2 else 'start'}-{i // 2:03d}" for i in range(len(rest))]


def worker_frames(n_checks: int) -> list[bytes]:
    """What an honest worker sends for ``n_checks`` checks, before ``done``."""
    frames = [frame("importing", None, b"")]
    for i in range(n_checks):
        frames += [frame("start", i, b""), frame("check", i, b"%d" % i)]
    return frames


@settings(max_examples=200, deadline=None, database=None)
@given(keep=st.integers(0, 7), parts=st.lists(pieces, max_size=12), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_the_channel_takes_any_bytes_in_any_chunks_without_raising(keep, parts, cuts):
    data = b"".join(worker_frames(3)[:keep] + parts)  # often an honest start, then anything
    channel = Channel(max_frame=64, max_total=600)
    for chunk in in_chunks(data, cuts):
        channel.feed(chunk)
    assert isinstance(channel.error, str)
    assert valid_order(list(channel.frames)), list(channel.frames)


@settings(max_examples=60, deadline=None, database=None)
@given(bodies=st.lists(st.binary(max_size=50), max_size=5), cuts=st.lists(st.integers(0, 10_000), max_size=10))
def test_the_channel_accepts_the_workers_frames_in_any_chunks(bodies, cuts):
    frames = worker_frames(0)
    for i, body in enumerate(bodies):
        frames += [frame("start", i, b""), frame("check", i, body)]
    data = b"".join(frames + [frame("done", None, b"")])
    channel = Channel(max_frame=64, max_total=len(data))
    for chunk in in_chunks(data, cuts):
        channel.feed(chunk)
    assert channel.error == ""
    assert [channel.frames[f"check-{i:03d}"] for i in range(len(bodies))] == bodies and "done" in channel.frames


# --- result files: arbitrary JSON headers and tensors ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16)
shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)


@st.composite
def tensors(draw, shape=None, dtype=None):
    shape = draw(shapes) if shape is None else shape
    dtype = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    kind = draw(st.sampled_from(["randn", "fill", "specials"]))
    if kind == "fill":
        t = torch.full(shape, draw(st.floats(allow_nan=True, allow_infinity=True)), dtype=torch.float64)
    else:
        t = torch.randn(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))), dtype=torch.float64)
        t = t * draw(st.sampled_from([1.0, 1e-30, 1e30, 1e300]))
        if kind == "specials" and t.numel():
            t.view(-1)[0] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 65505.0]))
    return t.to(dtype)


def well_formed_header(n_cases: int, names: list[str]) -> list[dict]:
    values = {name: {"kind": "Tensor", "device": "cpu", "requires_grad": False, "tensor": True} for name in names}
    return [{"status": "ok", "message": "", "seconds": 0.5, "values": values} for _ in range(n_cases)]


def replace_at(document, path: list[int], new):
    """``document`` with the node that ``path`` picks (indices into each container, modulo) replaced by ``new``."""
    if not path or not isinstance(document, (list, dict)) or not document:
        return new
    keys = list(range(len(document))) if isinstance(document, list) else list(document)
    key = keys[path[0] % len(keys)]
    copy = list(document) if isinstance(document, list) else dict(document)
    copy[key] = replace_at(document[key], path[1:], new)
    return copy


@st.composite
def result_files(draw):
    n_cases = draw(st.integers(1, 3))
    names = draw(st.lists(st.sampled_from(["y", "out", "grad_x", FIGURE_PNG]), max_size=3, unique=True))
    header = well_formed_header(n_cases, names)
    for _ in range(draw(st.integers(0, 3))):  # a few nodes replaced by arbitrary JSON, at any depth
        header = replace_at(header, draw(st.lists(st.integers(0, 10), max_size=5)), draw(json_values))
    stored = {f"{i}/{name}": draw(tensors()) for i in range(n_cases) for name in names}
    extra = draw(st.dictionaries(st.sampled_from(["0/z", "9/y", "x", "0/y/1"]), tensors(), max_size=2))
    text = draw(st.one_of(st.just(json.dumps(header)), st.text(max_size=30)))
    return n_cases, save({**stored, **extra}, metadata={"outcomes": text})


def assert_well_formed(outcomes: list[Outcome], n_cases: int) -> None:
    assert len(outcomes) == n_cases
    for outcome in outcomes:
        assert outcome.status in ("ok", "error", "not_implemented") and isinstance(outcome.message, str)
        assert math.isfinite(outcome.seconds) and outcome.seconds >= 0
        for name, value in outcome.values.items():
            assert isinstance(name, str) and isinstance(value.kind, str) and isinstance(value.requires_grad, bool)
            assert value.tensor is None or value.tensor.dtype in STORABLE
            assert value.device is None or torch.device(value.device).type


@settings(FAST, max_examples=150)
@given(case=result_files())
def test_any_result_file_reads_as_well_formed_outcomes_or_the_payload_error(tmp_path_factory, case):
    n_cases, body = case
    path = tmp_path_factory.mktemp("robust") / "check-000"
    path.write_bytes(body)
    try:
        outcomes = read_outcomes(path, n_cases, LIMIT)
    except PayloadError:
        return
    assert_well_formed(outcomes, n_cases)


@settings(FAST, max_examples=60)
@given(header=json_values, stored=st.dictionaries(st.text(max_size=6), tensors(), max_size=3))
def test_arbitrary_json_as_the_header_is_refused_cleanly(tmp_path_factory, header, stored):
    path = tmp_path_factory.mktemp("robust") / "check-000"
    path.write_bytes(save(stored, metadata={"outcomes": json.dumps(header)}))
    try:
        assert_well_formed(read_outcomes(path, 1, LIMIT), 1)
    except PayloadError:
        pass


# --- every check of every exercise judges anything ------------------------------------------------------------

ALL_CHECKS = [(e.name, c.id) for e in rubric.load_all() for c in e.selected(hidden=True)]


@lru_cache(maxsize=None)
def expectations(exercise: str) -> tuple:
    ex = rubric.load(exercise)
    reference = Course(ROOT).reference_module(exercise)
    return ex, reference, Expectations(ex, CPU, reference=reference)


@lru_cache(maxsize=None)
def judged(exercise: str, check_id: str) -> tuple:
    """The check, the reference's expected values per case (None for judges that need none), and its anchors."""
    ex, reference, expected = expectations(exercise)
    check = ex.check(check_id)
    anchors = None
    if isinstance(check.judge, GradcheckConsistent):  # cheap: gradchecks do not train
        anchors = [o.values for o in run_check(check, reference, CPU)]
    return ex, check, expected.for_check(check), anchors


def strings_in(obj, depth: int = 0) -> set[str]:
    """Short strings held by a judge: its output names, whatever code or closure reads them."""
    if depth > 8:
        return set()
    if isinstance(obj, str):
        return {obj} if 0 < len(obj) <= 40 and " " not in obj else set()
    if isinstance(obj, (list, tuple, set)):
        return set().union(*(strings_in(x, depth + 1) for x in obj))
    if isinstance(obj, dict):
        return strings_in(list(obj), depth + 1)
    code = getattr(obj, "__code__", None)
    if code is not None:
        found = strings_in(list(_constants(code)), depth + 1)
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                found |= strings_in(cell.cell_contents, depth + 1)
            except ValueError:
                pass
        return found
    if hasattr(obj, "__dict__") and not isinstance(obj, (type, ModuleType)):
        return strings_in(list(vars(obj).values()), depth + 1)
    return set()


def _constants(code):
    for const in code.co_consts:
        if isinstance(const, str):
            yield const
        elif hasattr(const, "co_consts"):
            yield from _constants(const)


def output_names(check, expected, anchors) -> list[str]:
    names = strings_in(check.judge) | {FIGURE_PNG, "out", "nonsense"}
    for values in [*(e for e in expected if e), *(anchors or [])]:
        names |= set(values)
    return sorted(names)


SHAPE_ASKED = re.compile(r"`([^`]+)` has shape \([\d, ]*\), expected \(([\d, ]*)\)")


def measured_shapes(check, names: list[str]) -> list[tuple[int, ...]]:
    """The shapes a check asks for (one prediction per held-out or fresh row), as the messages of its verdict and
    of each of its measurements name them, so that generated outputs can get past the shape to the measuring."""
    if isinstance(check.judge, Match):
        return []
    inputs = check.make_inputs(check.cases[0], CPU)
    tries = [lambda values: check.judge.verdict(Outcome(values=values), None, inputs, CPU).message]
    for m in getattr(check.judge, "measures", ()):
        tries.append(lambda values, m=m: m.measure({n: v.tensor for n, v in values.items()}, inputs))
    found = set()
    for attempt in tries:
        values = {name: Value("Tensor", torch.zeros(0)) for name in names}
        for _ in range(10):
            try:
                message = str(attempt(dict(values)))
            except Exception as exc:
                message = str(exc)
            asked = {name: tuple(int(s) for s in shape.split(",") if s.strip())
                     for name, shape in SHAPE_ASKED.findall(message) if name in values}
            asked = {name: shape for name, shape in asked.items() if tuple(values[name].tensor.shape) != shape}
            if not asked:
                break
            values.update({name: Value("Tensor", torch.zeros(shape)) for name, shape in asked.items()})
            found |= set(asked.values())
    return sorted(found)


@st.composite
def values_for(draw, name: str, known: list[Value], asked: list[tuple[int, ...]]):
    """A Value named ``name``: the reference's own (perhaps scaled or cast), or any tensor of any shape."""
    like = [v for v in known if v.tensor is not None]
    kind = draw(st.sampled_from(["Tensor", "ndarray", "float", "int", "bool", "NoneType", "weird"]
                                + [v.kind for v in known]))
    device = draw(st.sampled_from([None, "cpu", "cuda:0", "cuda:99", "meta", "nonsense", ""]))
    shaped = [tuple(v.tensor.shape) for v in like] + asked
    source = draw(st.sampled_from(["none", "number", "any"] + (["shaped"] if shaped else [])
                                  + (["reference"] * 3 if like else [])))
    if source == "none":
        tensor = None
    elif source == "number":  # a count, a flag or a size: one number, often not a finite whole one
        number = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 2.5, -1.0, 0.0, 1.0, 3.0, 12.0]))
        tensor = torch.tensor(number, dtype=torch.float64).to(draw(st.sampled_from(DTYPES)))
    elif source == "reference":
        base = draw(st.sampled_from(like)).tensor
        factor = draw(st.sampled_from([1.0, 2.0, -1.0, 0.5, math.nan, math.inf]))
        tensor = (base.double() * factor).to(draw(st.sampled_from([base.dtype, *DTYPES])))
        if draw(st.booleans()) and tensor.dim() >= 2:
            tensor = tensor.transpose(-1, -2).contiguous()
    else:
        tensor = draw(tensors(shape=draw(st.sampled_from(shaped)) if source == "shaped" else None))
    return Value(kind, tensor, device, draw(st.booleans()))


@st.composite
def outcomes_for(draw, names: list[str], expected: list, n_cases: int, asked: list[tuple[int, ...]]):
    outcomes = []
    for case in range(n_cases):
        status = draw(st.sampled_from(["ok", "ok", "ok", "error", "not_implemented"]))
        chosen = draw(st.lists(st.sampled_from(names) | st.text(max_size=8), max_size=len(names) + 1, unique=True))
        known = list((expected[case] or {}).values()) if case < len(expected) else []
        values = {name: draw(values_for(name, [v for v in known if isinstance(v, Value)], asked)) for name in chosen}
        outcomes.append(Outcome(status, values, draw(st.text(max_size=20)), draw(st.floats(0, 100))))
    return outcomes


@pytest.mark.parametrize("exercise, check_id", ALL_CHECKS, ids=[f"{e}::{c}" for e, c in ALL_CHECKS])
def test_every_check_judges_any_outcome(exercise, check_id):
    ex, check, expected, anchors = judged(exercise, check_id)
    names = output_names(check, expected, anchors)
    asked = measured_shapes(check, names)
    cheap = not isinstance(check.judge, Match)  # no mistakes to recompute: more examples in the same time

    @settings(FAST, max_examples=50 if cheap else 15)
    @given(outcomes=outcomes_for(names, expected, len(check.cases), asked))
    def judge_anything(outcomes):
        result = judge_check(ex.name, check, outcomes, expected, CPU, anchors)
        assert isinstance(result, CheckResult) and result.status in STATUSES and isinstance(result.message, str)
        assert result.points in (0.0, check.points)
        assert result.passed == (result.points == check.points)

    judge_anything()


# --- the reproducers, one by one -------------------------------------------------------------------------------

OK = {"status": "ok", "message": "", "seconds": 0.0,
      "values": {"y": {"kind": "Tensor", "device": "cpu", "requires_grad": False, "tensor": True}}}


def forged(tmp_path, header, stored=None) -> Path:
    path = tmp_path / "check-000"
    path.write_bytes(save({"0/y": torch.zeros(2)} if stored is None else stored,
                          metadata={"outcomes": json.dumps(header)}))
    return path


@pytest.mark.parametrize("header, problem", [
    ([5], "case 0 is a number, not an object"),
    ([{**OK, "values": 5}], "values is a number, not an object"),
    ([{**OK, "values": [1, 2]}], "values is a list, not an object"),
    ([{**OK, "values": None}], "values is null, not an object"),
    ([{**OK, "values": {"y": 3.5}}], "output 'y' is a number, not an object"),
    ([{**OK, "values": {"y": "Tensor"}}], "output 'y' is a string, not an object"),
    ([{**OK, "values": {"y": {**OK["values"]["y"], "device": "not-a-device"}}}], "'not-a-device' is not a device"),
    ([{**OK, "values": {"y": {**OK["values"]["y"], "device": 0}}}], "device is not a string"),
    ([{**OK, "values": {"y": {**OK["values"]["y"], "tensor": 1}}}], "tensor is not true or false"),
    ([{**OK, "values": {"y": {**OK["values"]["y"], "requires_grad": "yes"}}}], "requires_grad is not true or false"),
    ([{**OK, "values": {"y": {**OK["values"]["y"], "colour": "red"}}}], "unknown field"),
    ([{**OK, "message": 3}], "message is not a string"),
    ([{**OK, "status": ["ok"]}], "no valid status"),
    ([{**OK, "seconds": math.inf}], "invalid time"),
    ([{**OK, "seconds": math.nan}], "invalid time"),
    ([{**OK, "seconds": -1}], "invalid time"),
    ([{**OK, "seconds": 10 ** 400}], "invalid time"),
    ([{**OK, "seconds": True}], "invalid time"),
    ({"0": OK}, "should describe 1 case"),
    (7, "should describe 1 case"),
])
def test_malformed_headers_are_the_payload_error(tmp_path, header, problem):
    with pytest.raises(PayloadError, match=problem):
        read_outcomes(forged(tmp_path, header), 1, LIMIT)


def test_headers_that_are_not_json_are_the_payload_error(tmp_path):
    for text in ["[" * 100_000, "1" * 5000, "NaN", "{\"a\": }", ""]:
        path = tmp_path / "check-000"
        path.write_bytes(save({}, metadata={"outcomes": text}))
        with pytest.raises(PayloadError):
            read_outcomes(path, 1, LIMIT)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.uint16, torch.float8_e4m3fn])
def test_tensors_of_dtypes_no_probe_returns_are_refused(tmp_path, dtype):
    with pytest.raises(PayloadError, match="which no probe returns"):
        read_outcomes(forged(tmp_path, [OK], {"0/y": torch.zeros(2, dtype=dtype)}), 1, LIMIT)


def test_devices_are_read_as_torch_spells_them(tmp_path):
    header = [{**OK, "values": {"y": {**OK["values"]["y"], "device": "cuda:99"}}}]
    assert read_outcomes(forged(tmp_path, header), 1, LIMIT)[0].values["y"].device == "cuda:99"
    outcomes = [Outcome("ok", {"y": Value("Tensor", torch.ones(2), "meta")})]
    path = tmp_path / "round-trip"
    path.write_bytes(encode_outcomes(outcomes))
    assert read_outcomes(path, 1, LIMIT)[0].values["y"].device == "meta"


def test_a_device_that_is_none_is_a_wrong_answer_not_an_exception():
    actual = Value("Tensor", torch.zeros(2), "not-a-device")
    assert "is on not-a-device but the inputs were on cpu" in compare("out", actual, plain(torch.zeros(2)), CPU)
    verdict = Match().verdict(Outcome(values={"out": actual}), {"out": plain(torch.zeros(2))}, {}, CPU)
    assert not verdict.passed


@pytest.mark.parametrize("count, found", [
    (torch.tensor(math.inf), "is not a count (found inf)"), (torch.tensor(math.nan), "is not a count (found nan)"),
    (torch.tensor(2.5), "is not a count (found 2.5)"),
    (torch.tensor([3, 3]), "is not a count (found a tensor of shape (2,))"),
    (torch.tensor(True), "is not a count (found True)"), (None, "is not a count (found nothing)"),
    (torch.zeros(0), "is not a count (found a tensor of shape (0,))"), (torch.tensor(1), "found 1"),
])
def test_counts_that_are_not_counts_are_wrong_answers(count, found):
    problem = at_least("lines", 2, "lines")({"lines": count}, {})
    assert problem.startswith("expected at least 2 lines") and problem.endswith(found), problem


def test_counts_and_shapes_are_read_strictly():
    assert count_of(torch.tensor(3)) == 3 and count_of(torch.tensor([3.0])) == 3
    assert at_least("lines", 2, "lines")({"lines": torch.tensor(3)}, {}) is None
    assert shape_of(torch.tensor([5, 1])) == (5, 1) and shape_of(torch.tensor([])) == ()
    for bad in (torch.tensor(5), torch.tensor([[5, 1]]), torch.tensor([math.inf, 1.0]), torch.tensor([-1, 1]),
                torch.tensor([1.5]), torch.tensor([True]), None):
        assert shape_of(bad) is None, bad
    assert is_true("flag", "no")({"flag": torch.tensor(True)}, {}) is None
    for bad in (torch.tensor(math.nan), torch.tensor([True, True]), torch.tensor(False), torch.zeros(0), None):
        assert is_true("flag", "no")({"flag": bad}, {}) == "no", bad


def hetero_structure():
    ex = rubric.load("ex05_heteroscedastic")
    return ex, ex.check("HeteroscedasticNet")


@pytest.mark.parametrize("shape", [torch.tensor(math.inf), torch.tensor(5.0), torch.tensor([math.nan, 1.0]),
                                   torch.zeros(0), torch.tensor([[5, 1]])])
def test_a_shape_that_is_no_shape_fails_the_structure_check(shape):
    ex, check = hetero_structure()
    values = {"mu_head_is_linear_to_1": plain(True), "logvar_head_is_linear_to_1": plain(True),
              "mu_shape": Value("Tensor", shape), "logvar_shape": Value("Tensor", shape)}
    result = judge_check(ex.name, check, [Outcome("ok", values)], [None], CPU)
    assert result.status == "failed" and result.points == 0 and "should have shape (5, 1)" in result.message


def gradcheck_check():
    ex = rubric.load("ex02_gradients")
    return ex, ex.check("Sigmoid.gradcheck")


@pytest.mark.parametrize("out_shape, jacobian", [
    (torch.tensor(6), torch.zeros(6, 6, dtype=torch.float64)),
    (torch.tensor([math.inf]), torch.zeros(6, 6, dtype=torch.float64)),
    (torch.tensor([0, 3]), torch.zeros(0, 6, dtype=torch.float64)),
    (torch.tensor([2, 3]), torch.tensor(0.0, dtype=torch.float64)),
    (torch.tensor([2, 3]), torch.zeros(6, dtype=torch.float64)),
    (torch.tensor([2, 3]), torch.zeros(3, 2, dtype=torch.float64)),
])
def test_a_gradcheck_with_no_usable_jacobian_fails(out_shape, jacobian):
    ex, check = gradcheck_check()
    values = {"out_shape": Value("Tensor", out_shape), "analytic/x": Value("Tensor", jacobian),
              "numeric/x": Value("Tensor", jacobian)}
    result = judge_check(ex.name, check, [Outcome("ok", values)], [None], CPU)
    assert result.status == "failed" and result.points == 0, result.message


def test_predictions_of_no_shape_cannot_be_measured():
    with pytest.raises(ValueError, match="has shape"):
        prediction({"p": torch.tensor(3.0)}, "p", (50, 3))
    always_inf = Threshold("accuracy", lambda values, inputs: math.inf, threshold=0.9)
    assert "is inf" in always_inf.verdict(Outcome(), None, {}, CPU).message


class Explodes:
    """A judge whose code fails on what it is given, in every way code can fail."""

    needs_reference = False

    def __init__(self, exc):
        self.exc = exc

    def expected(self, inputs):
        return None

    def verdict(self, actual, expected, inputs, device):
        raise self.exc


@pytest.mark.parametrize("exc", [OverflowError("int too large"), ZeroDivisionError("division by zero"),
                                 AttributeError("'float' object has no attribute 'shape'"), AssertionError()])
def test_a_judge_that_raises_is_a_failed_check_that_says_why(exc):
    from grader.rubric import Check

    check = Check("boom", "boom", 2, "explodes", None, Explodes(exc))
    result = judge_check("ex99", check, [Outcome("ok", {})], [None], CPU)
    assert result.status == "failed" and result.points == 0
    assert result.message.startswith(f"with seed 0:\nthe results could not be checked ({type(exc).__name__}")
    holds = Holds(at_least("n", 1, "things")).verdict(Outcome(values={"n": Value("Tensor", torch.tensor(math.inf))}),
                                                      None, {}, CPU)
    assert not holds.passed and "not a count" in holds.message


def test_hints_never_turn_a_verdict_into_an_exception():
    from grader.checks import Mistake, like, recognise

    def broken(actual, expected, inputs, name):
        raise OverflowError("hint code failed")

    mistakes = [Mistake("never", broken), like("never either", lambda i: 1 / 0)]
    for a, e in [(torch.tensor(math.inf), torch.tensor(1.0)), (torch.zeros(0), torch.zeros(0)),
                 (torch.ones(3, dtype=torch.bfloat16), torch.ones(3)), (torch.tensor([True]), torch.tensor([1.0]))]:
        assert isinstance(recognise("out", plain(a), plain(e), {}, mistakes), str)
        verdict = Match(mistakes=mistakes).verdict(Outcome(values={"out": plain(a)}), {"out": plain(e)}, {}, CPU)
        assert isinstance(verdict.message, str)


# --- the class grader's steps: import errors, stops, judging -----------------------------------------------------

def grade_exercise(name: str = "ex01_tensors_autograd") -> GradeExercise:
    ex, reference, expected = expectations(name)
    future: Future = Future()
    future.set_result(expected)
    return GradeExercise(ex, future, "cpu", Limits(wall_seconds=20), [], None, queue.Queue())


@pytest.mark.parametrize("body", [b"[1, 2]", b"\"text\"", b"{\"message\": {\"a\": 1}}", b"[" * 50_000,
                                  b"\xff\xfe\x00", b"{\"message\": " + b"1" * 5000 + b"}", b""])
def test_an_import_error_frame_of_any_shape_is_read(body):
    assert GradeExercise._import_error(body) == "the file does not import"


@pytest.mark.parametrize("code, how", [(-9, "killed by SIGKILL"), (-99, "killed by signal 99"), (-(2 ** 40), "signal"),
                                       (3, "exit code 3"), (None, "exit code None")])
def test_any_return_code_is_told(code, how):
    run = SimpleNamespace(tampered="", timed_out=False, out_of_memory=False, cpu_exceeded=False, returncode=code)
    reason, message = grade_exercise()._stopped(run)
    assert reason == "crashed" and how in message


def test_a_judge_that_still_raises_is_an_error_verdict_on_its_check(tmp_path, monkeypatch):
    import grader.exercise_run

    g = grade_exercise()
    first, second = g.checks[:2]
    reference = expectations(g.exercise.name)[1]
    (tmp_path / "check-000").write_bytes(encode_outcomes(run_check(first, reference, CPU)))
    (tmp_path / "check-001").write_bytes(encode_outcomes(run_check(second, reference, CPU)))
    frames = {"importing": b"", "start-000": b"", "check-000": b"", "start-001": b"", "check-001": b""}
    run = SimpleNamespace(tampered="", timed_out=False, out_of_memory=False, cpu_exceeded=False, returncode=-9,
                          frames=frames)
    real = grader.exercise_run.judge_check

    def judge(exercise, check, *args, **kwargs):
        if check is second:
            raise RuntimeError("a fault of the grader's")
        return real(exercise, check, *args, **kwargs)

    monkeypatch.setattr(grader.exercise_run, "judge_check", judge)
    verdicts, status, message = g._judge(tmp_path, run)
    assert verdicts[0].passed
    assert verdicts[1].status == "error" and verdicts[1].message.startswith(
        "the grader could not judge these results (RuntimeError: a fault of the grader's)")
    assert status == "crashed" and all(v.status == "error" for v in verdicts[2:])


def test_one_student_the_grader_fails_on_does_not_stop_the_class(tmp_path, monkeypatch):
    import grader.grading
    from grader.checks import CheckResult
    from grader.reports import ExerciseResult

    def fake(self, submission, wait=True):  # every exercise's start, in the class's pipeline and when tried again
        if submission.student == "bea":
            raise OverflowError("something escaped")
        checks = [CheckResult(self.exercise.name, c.id, c.target, c.description, c.points, c.hidden, "passed")
                  for c in self.checks]
        return ExerciseResult(self.exercise.name, self.exercise.title, "graded", "", checks)

    monkeypatch.setattr(grader.grading.GradeExercise, "start", fake)
    monkeypatch.setattr(grader.grading, "start_warm", lambda: False)
    files = reference_files(["ex01_tensors_autograd"])
    submissions = make_class(tmp_path / "submissions", {"ada": files, "bea": files, "cy": files})
    out = tmp_path / "out"
    code = grader.grading.grade_class(Course(ROOT), submissions, out, only="ex01_tensors_autograd", jobs=1)
    assert code == 1  # a grader failure, reported as one
    assert (out / "grades.csv").is_file() and (out / "report.html").is_file()
    rows = {line.split(",")[0]: line.split(",") for line in (out / "grades.csv").read_text().splitlines()[1:]}
    assert rows["ada"][-2] == rows["ada"][-1] == rows["cy"][-1] and rows["bea"][-2] == "0"
    record = json.loads((out / "bea" / "record.json").read_text())
    assert record["exercises"][0]["status"] == "grader_failure"
    assert "OverflowError: something escaped" in record["exercises"][0]["message"]
    assert record["exercises"][0]["provenance"] == {}  # a re-run grades her again

# Forged frames in a real class run (a JSON number where an object belongs, a device that is not one) are
# members of the trust corpus: tests/hostile_trust/forge_number_header and forge_bad_device.
