"""The worker's guard: student code that rebinds or patches the grader's code in its process earns nothing.

Each attacker submits the stubs of exercises 4 and 8 plus an attack that runs in the child: a
stub earns no point, so every point an attacker earned would be an attack that worked. Without
the guard each of these attacks earns the structure and plot points (the reference's facts
reported for code that does not exist). An honest student beside them keeps full marks through
the same worker code; one who tampers late keeps the checks before it; and a direct run of the
worker on the reference sends no list of changes. The guard's own tests patch this process and
check that each change is named and put back.
"""

import builtins
import csv
import json
import os
import re
import subprocess
import sys
import types

import pytest
import torch
from conftest import ROOT, make_class, reference_files, results_by_check, run_grader, stub_files

import grader.payload
from grader import guard, rubric
from grader.payload import read_outcomes

isinstance_, lstm, payload = builtins.isinstance, torch.nn.LSTM, grader.payload

EX04, EX08 = EXERCISES = ("ex04_training_loop", "ex08_rnn_sunspots")
ATTACKED = {"MLP.__init__", "MLP.__init__.hidden", "plot_loss_curves", "SunspotRNN", "SunspotRNN.hidden",
            "plot_forecast"}  # the checks whose facts the attacks report

FACTS = '''

# --- the attack: what the reference's probes report for the structure and plot checks -------------
import gc as _gc
import sys as _sys
import threading as _threading
import time as _time
import types as _types

import torch as _torch


def _facts(check_id, trial):
    base = check_id.removesuffix(".hidden")
    if base.startswith("plot_"):
        return {"figure/axes": 1, "figure/lines": 2, "figure/labelled": True, "figure/legend": True}
    if base == "SunspotRNN":
        return {"recurrent_layers": 1, "linear_layers": 1, "out": _torch.zeros(trial.inputs["X"].shape[0])}
    if base == "MLP.__init__":
        from grader.probes import Numbers

        d, h, c = trial.inputs["n_in"], trial.inputs["n_hidden"], trial.inputs["n_out"]
        return {"layers": Numbers([1, 2, 3, 1, 2, 1]), "linear_shapes": Numbers([[d, h], [h, h], [h, c]]),
                "dropout": Numbers([0.2], dtype=_torch.float64)}
    raise NotImplementedError("ex00.not_faked")


def _rebind_probes():
    """Every check object in the process (the rubric's and any copy) gets a probe that reports those facts."""
    from grader.rubric import Check

    for obj in _gc.get_objects():
        if type(obj) is Check:
            object.__setattr__(obj, "probe", lambda trial, _id=obj.id: _facts(_id, trial))
'''

ATTACKS = {
    "rebind_probes": '''
_rebind_probes()
''',
    "replace_helpers": '''
def plot_loss_curves(curves):  # no figure: the replaced describe_figure reports one
    return None


class SunspotRNN(_torch.nn.Module):  # no recurrent layer: the replaced plain counts one
    def __init__(self):
        super().__init__()
        self.readout = _torch.nn.Linear(1, 1)

    def forward(self, X):
        return self.readout(X[:, -1, :])[:, 0]


def _replace_helpers():
    import grader.payload
    import grader.probes

    original = grader.payload.plain

    def plain(obj):
        return original(1 if type(obj) is int and obj == 0 else obj)

    def describe_figure(fig, owner, dpi=72):
        return _facts("plot_", None)

    for module in (grader.payload, grader.probes, _sys.modules["grader.rubrics." + __name__]):
        for name, fake in (("plain", plain), ("describe_figure", describe_figure)):
            if hasattr(module, name):
                setattr(module, name, fake)


_replace_helpers()
''',
    "swap_code": '''
def _fake_plot(trial):
    return {"figure/axes": 1, "figure/lines": 2, "figure/labelled": True, "figure/legend": True}


def _fake_structure(trial):
    import torch

    return {"recurrent_layers": 1, "linear_layers": 1, "out": torch.zeros(trial.inputs["X"].shape[0])}


def _fake_mlp_structure(trial):  # runs with the rubric's globals, where Numbers is defined
    import torch

    d, h, c = trial.inputs["n_in"], trial.inputs["n_hidden"], trial.inputs["n_out"]
    return {"layers": Numbers([1, 2, 3, 1, 2, 1]), "linear_shapes": Numbers([[d, h], [h, h], [h, c]]),
            "dropout": Numbers([0.2], dtype=torch.float64)}


def _swap_code():
    probes = _sys.modules["grader.rubrics." + __name__]
    for name, fake in (("probe_plot", _fake_plot), ("probe_structure", _fake_structure),
                       ("probe_mlp_structure", _fake_mlp_structure)):
        if hasattr(probes, name):
            getattr(probes, name).__code__ = fake.__code__
    nothing = (lambda *args, **kwargs: ()).__code__
    guard = _sys.modules.get("grader.guard")  # and blind whatever would compare the grader's code
    for fn in list(vars(guard).values()) if guard else []:
        if type(fn) is _types.FunctionType and fn.__module__ == "grader.guard" and not fn.__closure__:
            fn.__code__ = nothing


_swap_code()
''',
    "patch_sending": '''
def _patch_sending():
    import grader.payload
    from grader import rubric
    from grader.payload import Outcome, plain

    checks = rubric.load(__name__).selected(hidden=True)
    encode = grader.payload.encode_outcomes
    for worker in {id(m): m for m in (_sys.modules.get("__main__"), _sys.modules.get("grader.worker"))
                   if hasattr(m, "send") and hasattr(m, "CHANNEL")}.values():
        send = _types.FunctionType(worker.send.__code__, vars(worker))  # a copy that still writes frames

        def forged(name, body=b"", index=None, send=send):
            if name == "check":
                outcomes = []
                for case in checks[index].cases:
                    trial = _types.SimpleNamespace(inputs=checks[index].make_inputs(case))
                    try:
                        facts = _facts(checks[index].id, trial)
                        outcomes.append(Outcome("ok", {k: plain(v) for k, v in facts.items()}))
                    except NotImplementedError:
                        outcomes.append(Outcome("not_implemented", message="not implemented yet: ex00.x"))
                body = encode(outcomes)
            send(name, body, index)

        worker._forged = forged
        worker.send.__code__ = (lambda name, body=b"", index=None: _forged(name, body, index)).__code__
    grader.payload.encode_outcomes = lambda outcomes: encode(outcomes)


_patch_sending()
''',
    "repatching_thread": '''
_patched = _threading.Event()


def _keep_patching():  # patches again whatever the grader puts back, as long as the process lives
    import grader.probes

    while True:
        try:
            _rebind_probes()
            grader.probes.describe_figure = lambda fig, owner, dpi=72: _facts("plot_", None)
        except Exception:
            pass
        _patched.set()
        _time.sleep(0.005)


_threading.Thread(target=_keep_patching, daemon=True).start()
_patched.wait(60)  # the import ends once the thread has patched everything once
''',
    "patch_during_check": '''
def _patch_then_fail(*args, **kwargs):  # the first check's target: patches the probes of the later checks
    _rebind_probes()
    raise NotImplementedError("ex00.first")


TensorPairs = make_windows = _patch_then_fail
''',
}


LATE_PATCH = '''
_plot = plot_loss_curves


def plot_loss_curves(curves):  # right answers until here; this check's call patches the later checks' probes
    _rebind_probes()
    return _plot(curves)
'''


def attacker_files(attack: str) -> dict[str, str]:
    return {name: text + FACTS + ATTACKS[attack] for name, text in stub_files(EXERCISES).items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("guarded")
    students = {"honest": reference_files(EXERCISES), **{attack: attacker_files(attack) for attack in ATTACKS},
                "late_patch": {f"{EX04}.py": reference_files([EX04])[f"{EX04}.py"] + FACTS + LATE_PATCH}}
    submissions = make_class(root / "submissions", students)
    out = root / "out"
    run = run_grader("grade", str(submissions), "--out", str(out), "--only", ",".join(EXERCISES))
    assert run.returncode == 0, run.stderr[-3000:]
    with (out / "grades.csv").open() as f:
        book = {row["student"]: row for row in csv.DictReader(f)}
    return run, out, book


def exercise_status(out, student: str, exercise: str) -> dict:
    record = json.loads((out / student / "record.json").read_text())
    return next(e for e in record["exercises"] if e["exercise"] == exercise)


def test_the_honest_student_keeps_full_marks_through_the_guard(graded):
    _, out, book = graded
    for exercise in EXERCISES:
        assert float(book["honest"][exercise]) == rubric.load(exercise).max_points(hidden=True), \
            (out / "honest" / "feedback.md").read_text()[:3000]
        assert exercise_status(out, "honest", exercise)["status"] == "graded"
    assert "changed the grader's own code" not in (out / "honest" / "feedback.md").read_text()


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_on_the_graders_code_earns_nothing_and_is_named(graded, attack):
    _, out, book = graded
    earned = [name for name, t in results_by_check(out, attack).items() if t["score"] > 0]
    assert earned == [] and all(float(book[attack][e]) == 0 for e in EXERCISES), f"{attack} earned {earned}"
    for exercise in EXERCISES:
        result = exercise_status(out, attack, exercise)
        assert result["status"] == "tamper", result
        assert "changed the grader's own code in its process" in result["message"]
    attacked = {name.split(": ", 1)[1]: t for name, t in results_by_check(out, attack).items()
                if name.split(": ", 1)[1] in ATTACKED}
    assert len(attacked) == len(ATTACKED)
    assert all("changed the grader's own code" in t["output"] for t in attacked.values()), attacked


def test_the_verdict_names_what_was_changed(graded):
    _, out, _ = graded
    named = {"replace_helpers": "describe_figure", "swap_code": "__code__", "patch_sending": "send",
             "rebind_probes": ".probe"}
    for attack, words in named.items():
        assert words in exercise_status(out, attack, EXERCISES[0])["message"], attack


def test_a_change_made_while_a_check_runs_voids_that_check_and_the_later_ones_only(graded):
    _, out, book = graded
    checks = rubric.load(EX04).selected(hidden=True)
    at = next(i for i, c in enumerate(checks) if c.id == "plot_loss_curves")
    tests = results_by_check(out, "late_patch")
    assert all(tests[f"{EX04}: {c.id}"]["status"] == "passed" for c in checks[:at]), tests
    assert all("changed the grader's own code" in tests[f"{EX04}: {c.id}"]["output"] for c in checks[at:])
    assert float(book["late_patch"][EX04]) == sum(c.points for c in checks[:at]) > 0
    assert exercise_status(out, "late_patch", EX04)["status"] == "tamper"
    first = results_by_check(out, "patch_during_check")[f"{EX04}: {checks[0].id}"]
    assert "changed the grader's own code" in first["output"]  # not "not implemented": its probe ran, then was voided


def frames(data: bytes) -> dict[str, bytes]:
    found = {}
    while data:
        match = re.match(rb"([a-z_]+)(?:-(\d{3}))? (\d+)\n", data)
        assert match, data[:80]
        key = match.group(1).decode() + (f"-{match.group(2).decode()}" if match.group(2) else "")
        size = int(match.group(3))
        found[key], data = data[match.end():match.end() + size], data[match.end() + size:]
    return found


def test_a_fresh_worker_on_the_reference_reports_no_change(tmp_path):
    """The cold path (a new interpreter, nothing preloaded): torch imports its compiler while the checks run."""
    channel = tmp_path / "frames"
    worker = [sys.executable, "-m", "grader.worker", "--exercise", "ex03_regression", "--file",
              str(ROOT / "reference" / "ex03_regression.py"), "--hidden"]
    run = subprocess.run(["sh", "-c", 'exec "$@" 3>"$FRAMES"', "sh", *worker], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "FRAMES": str(channel), "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr[-2000:]
    sent = frames(channel.read_bytes())
    checks = rubric.load("ex03_regression").selected(hidden=True)
    assert sent["done"] == b"" and len([k for k in sent if k.startswith("check-")]) == len(checks)
    for index, check in enumerate(checks):
        (tmp_path / "check").write_bytes(sent[f"check-{index:03d}"])
        assert all(o.ok for o in read_outcomes(tmp_path / "check", len(check.cases), 1 << 26)), check.id


def test_a_gated_worker_whose_gate_closes_unopened_never_imports_the_students_file(tmp_path):
    channel, marker = tmp_path / "frames", tmp_path / "imported"
    student = tmp_path / "ex01_tensors_autograd.py"
    student.write_text(f"open({str(marker)!r}, 'w').close()\n")
    worker = [sys.executable, "-m", "grader.worker", "--exercise", "ex01_tensors_autograd", "--file", str(student),
              "--gate"]
    run = subprocess.run(["sh", "-c", 'exec "$@" 3>"$FRAMES" 5</dev/null', "sh", *worker], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, env={**os.environ, "FRAMES": str(channel)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert channel.read_bytes() == b"" and not marker.exists()
    opened = subprocess.run(["sh", "-c", 'echo g | exec "$@" 3>"$FRAMES" 5<&0', "sh", *worker], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, env={**os.environ, "FRAMES": str(channel)})
    assert opened.returncode == 0 and marker.exists() and b"importing" in channel.read_bytes()


# --- the guard on its own, in this process ------------------------------------------------------------------

def _fake(*args, **kwargs):
    return {}


PATCHES = {  # what student code might do to the grader's objects in its process, and a word of what is named
    "a module's function": (lambda r: setattr(sys.modules["grader.probes"], "describe_figure", _fake),
                            "grader.probes.describe_figure"),
    "a function's code": (lambda r: setattr(r.probe_structure, "__code__", _fake.__code__),
                          "probe.__code__"),
    "a function's defaults": (lambda r: setattr(r.describe_figure, "__defaults__", (1,)), "__defaults__"),
    "a name shadowing a built-in": (lambda r: setattr(r, "isinstance", lambda *a: True), "isinstance (added)"),
    "a class's method": (lambda r: setattr(r.Spy, "facts", _fake), "Spy.facts"),
    "a check's probe": (lambda r: object.__setattr__(r.EXERCISE.checks[2], "probe", _fake), ".probe"),
    "a check's class": (lambda r: object.__setattr__(r.EXERCISE.checks[2], "__class__",
                                                     type("Other", (type(r.EXERCISE.checks[2]),), {})), "__class__"),
    "the list of checks": (lambda r: r.EXERCISE.checks.append(r.EXERCISE.checks[0]), "EXERCISE.checks"),
    "a closed-over variable": (lambda r: setattr(r.EXERCISE.checks[2].judge.requirements[0].test.__closure__[0],
                                                 "cell_contents", 0), "closes over"),
    "a built-in": (lambda r: setattr(builtins, "isinstance", lambda *a: True), "builtins.isinstance"),
    "a torch method the probes call": (lambda r: setattr(torch.nn.Module, "modules", _fake), "Module.modules"),
    "a torch class the probes name": (lambda r: setattr(torch.nn, "LSTM", torch.nn.Linear), "torch.nn.LSTM"),
    "a module in sys.modules": (lambda r: sys.modules.__setitem__("grader.payload", types.ModuleType("fake")),
                                "sys.modules['grader.payload']"),
}


@pytest.mark.parametrize("what", list(PATCHES))
def test_the_guard_names_each_change_and_puts_it_back(what):
    patch, named = PATCHES[what]
    checks = tuple(rubric.load(EX08).checks)
    module = sys.modules[f"{rubric.RUBRIC_PACKAGE}.{EX08}"]
    snapshot = guard.take({module.__name__: vars(module), "checks": checks})
    before = {id(c): vars(c).copy() for c in module.EXERCISE.checks}
    try:
        patch(module)
    finally:
        changed = guard.changes(snapshot)
    assert any(named in label for label in changed), changed
    assert guard.changes(snapshot) == ()  # all put back
    assert builtins.isinstance is isinstance_ and torch.nn.LSTM is lstm and sys.modules["grader.payload"] is payload
    assert {id(c): vars(c) for c in module.EXERCISE.checks} == before


def test_the_guard_sees_nothing_when_nothing_changed():
    rubric.load(EX04)
    module = sys.modules[f"{rubric.RUBRIC_PACKAGE}.{EX04}"]
    snapshot = guard.take({module.__name__: vars(module)})
    import grader.data

    grader.data.iris_split()  # caches fill, submodules load: the grader's own doings are no change
    assert len(snapshot[0]) > 100 and guard.changes(snapshot) == ()


def test_a_warning_raised_in_the_graders_code_is_no_change():
    """Measured: a train_selector returning its losses as tensors that track gradients made grader.payload.Numbers
    warn, and the warnings machinery's note in grader.payload's namespace (``__warningregistry__``) read as tamper."""
    import warnings

    vars(grader.payload).pop("__warningregistry__", None)
    snapshot = guard.take({"grader.payload": vars(grader.payload)})
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        # torch gives its own warning once per process (an earlier test may have had it): one raised from
        # grader.payload's code here leaves the same note
        eval(compile("__import__('warnings').warn('a note')", "grader/payload.py", "eval"), vars(grader.payload))
    assert "__warningregistry__" in vars(grader.payload) and guard.changes(snapshot) == ()
