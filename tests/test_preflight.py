"""The reference's results stored by digest (grader/preflight.py): reused while nothing they depend on changes,
computed again whenever anything does, never used when damaged, and out of every child's sight."""

import json
import os
import shutil
import threading

import pytest
import torch
from catalogue import CATALOGUE
from conftest import EXERCISES, ROOT, make_class, reference_files, run_grader

from grader import fresh, preflight, rubric, sandbox, torchstate
from grader.course import STORE_ENV, Course

EX01, EX02 = EXERCISES[:2]
USED = "its stored results are used"
MISTAKE = next(m for m in CATALOGUE if m.exercise == EX02 and m.visible)


def grade(tmp_path, submissions, out: str, store, *extra: str):
    """``grader grade`` with the store at ``store`` (None: no store)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STORE_ENV, str(store) if store is not None else "off")
        return run_grader(*extra, "grade", str(submissions), "--out", str(tmp_path / out), "--only",
                          f"{EX01},{EX02}", "--jobs", "2")


def verdicts(out, student: str) -> list[tuple]:
    document = json.loads((out / student / "results.json").read_text())
    return [(t["name"], t["score"], t["output"]) for t in document["tests"]]


def peek(store) -> str:
    """An ex01 file that says, on import, what it sees of the store."""
    return f'''import os
try:
    seen = sorted(os.listdir({str(store)!r}))
except OSError as exc:
    seen = type(exc).__name__
raise ImportError(f"store: {{seen!r}}")
'''


def test_stored_results_grade_as_a_run_without_a_store_and_a_damaged_record_is_replaced(tmp_path):
    store = tmp_path / "store"
    submissions = make_class(tmp_path / "subs", {
        "ada": reference_files([EX01, EX02]),
        "bo": {f"{EX02}.py": MISTAKE.source(ROOT / "reference")},
        "eve": {f"{EX01}.py": peek(store)},
    })
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STORE_ENV, str(store))
        filled = run_grader("preflight", "--only", f"{EX01},{EX02}")
    assert filled.returncode == 0, filled.stderr[-3000:]
    assert f"the reference passes every check of {EX01}, {EX02} on cpu; stored in {store}" in filled.stdout
    # the children's data pack beside the records, and the scans of the data-free view (grader/view.py), which
    # only a machine with namespaces builds
    viewed = sandbox.detect().namespaces
    assert sorted(p.name.split("-")[0] for p in store.iterdir()) == ["data", EX01, EX02, *(["views"] if viewed else [])]
    assert len(list((store / "views").glob("scan-*.json"))) == (1 if viewed else 0)
    assert oct(store.stat().st_mode & 0o777) == oct(0o700)  # the owner's alone
    stored = grade(tmp_path, submissions, "stored", store)
    assert stored.returncode == 0, stored.stderr[-3000:]
    assert stored.stderr.count(USED) == 2 and f"reference: {EX01} was checked by an earlier run" in stored.stderr
    none = grade(tmp_path, submissions, "none", None)
    assert none.returncode == 0 and USED not in none.stderr
    for student in ("ada", "bo", "eve"):
        assert verdicts(tmp_path / "stored", student) == verdicts(tmp_path / "none", student)
    ex02 = [score for name, score, _ in verdicts(tmp_path / "stored", "bo") if name.startswith(EX02)]
    assert 0 < sum(ex02) < rubric.load(EX02).max_points(hidden=True)  # the mistake caught with stored values
    seen = verdicts(tmp_path / "stored", "eve")[0][2]  # the child looked while the store held both records
    assert "store: " in seen and EX01 not in seen.split("store: ", 1)[1], seen

    record = next(store.glob(f"{EX02}-*"))
    damaged = sorted(record.glob("expected-*"))[0]
    damaged.write_bytes(damaged.read_bytes()[:40])
    pack = next(store.glob("data-*"))
    with open(pack / "pack.safetensors", "r+b") as f:  # the same size, one byte changed
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    again = grade(tmp_path, submissions, "again", store)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"the stored results in {record} are not usable" in again.stderr and again.stderr.count(USED) == 1
    assert f"the stored data pack in {pack} is not usable" in again.stderr
    for student in ("ada", "bo"):
        assert verdicts(tmp_path / "again", student) == verdicts(tmp_path / "none", student)
    assert (record / "manifest.json").is_file() and damaged.stat().st_size > 40  # this run's record replaced it


def test_a_changed_reference_line_is_checked_again_never_served_from_the_store(tmp_path):
    course = tmp_path / "course"
    for folder in ("reference", "exercises"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__", "figures"))
    submissions = make_class(tmp_path / "subs", {"ada": reference_files([EX02])})
    store = tmp_path / "store"
    stored = grade(tmp_path, submissions, "stored", store, "--course", str(course))
    assert stored.returncode == 0, stored.stderr[-3000:]
    reference = course / "reference" / f"{EX02}.py"
    reference.write_text(reference.read_text().replace("return grad_out * s * (1 - s)\n",
                                                       "return 2 * grad_out * s * (1 - s)\n"))
    broken = grade(tmp_path, submissions, "broken", store, "--course", str(course))
    assert broken.returncode == 2 and f"the reference fails its own check {EX02}::" in broken.stderr
    assert USED not in broken.stderr  # ex01's key changed too: the secret fresh inputs come from every reference


def test_the_key_changes_with_everything_the_results_depend_on(tmp_path, monkeypatch):
    course = Course(ROOT)
    exercise = rubric.load(EX01)
    monkeypatch.setattr(fresh, "_SEED", 12345)
    base = preflight.key(course, exercise, "cpu")
    assert preflight.key(course, exercise, "cpu") == base
    assert preflight.key(course, exercise, "cuda") != base
    assert preflight.key(course, rubric.load(EX02), "cpu") != base
    monkeypatch.setattr(fresh, "_SEED", 12346)
    assert preflight.key(course, exercise, "cpu") != base
    monkeypatch.setattr(fresh, "_SEED", 12345)
    monkeypatch.setattr(preflight, "_versions", lambda: "torch=0.0")
    assert preflight.key(course, exercise, "cpu") != base
    monkeypatch.undo()
    monkeypatch.setattr(fresh, "_SEED", 12345)
    copy = tmp_path / "course"
    shutil.copytree(ROOT / "reference", copy / "reference", ignore=shutil.ignore_patterns("__pycache__"))
    assert preflight.key(Course(copy), exercise, "cpu") == base  # the same files elsewhere
    path = copy / "reference" / f"{EX01}.py"
    path.write_text(path.read_text() + "\n# a comment\n")
    assert preflight.key(Course(copy), exercise, "cpu") != base


def test_the_preflight_command_names_an_unknown_exercise():
    run = run_grader("preflight", "--only", "ex42")
    assert run.returncode == 2 and "no exercise 'ex42'" in run.stderr and "Traceback" not in run.stderr


def test_the_store_keeps_the_newest_records_of_each_kind_and_nothing_half_written(tmp_path):
    store = preflight.Store(tmp_path)
    for i in range(preflight.KEEP + 2):
        store._keep(tmp_path / f"{EX01}-{i:024d}", lambda tmp: {"i": i})
        os.utime(tmp_path / f"{EX01}-{i:024d}", ns=(i * 10**9, i * 10**9))
    store._keep(tmp_path / f"{EX02}-{0:024d}", lambda tmp: {})

    def broken(tmp):
        (tmp / "expected-000").write_bytes(b"half")
        raise OSError("disk full")

    store._keep(tmp_path / f"{EX02}-{1:024d}", broken)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == [f"{EX01}-{i:024d}" for i in range(2, preflight.KEEP + 2)] + [f"{EX02}-{0:024d}"]


def test_the_reference_checked_beside_judges_that_reseed_torch_gets_its_own_random_state():
    """The class grader checks the reference in a thread while other threads judge students, and a judge may seed
    torch's global generator (a hint's model of a mistake does). ex11's checks compare two training runs of one
    process bit for bit (dropout, shuffled batches): they pass only if nothing reseeds the generator in between."""
    stop = threading.Event()
    seeded = []

    def judge_beside():  # as judge_check runs a judge: torch's global state its own, its random state forked
        while not stop.is_set():
            with torchstate.exclusive():
                torch.manual_seed(0)
                seeded.append(torch.rand(1))

    before = torch.get_rng_state()
    beside = threading.Thread(target=judge_beside)
    beside.start()
    try:
        expectations = preflight.Preflight(Course(ROOT), "cpu")(rubric.load("ex11_checkpoints"))
    finally:
        stop.set()
        beside.join()
    assert seeded and expectations.exercise.name == "ex11_checkpoints"  # the judge ran while the reference did
    assert torch.equal(torch.get_rng_state(), before)  # and neither left its seeds in this thread's generator
