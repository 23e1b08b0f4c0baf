"""The intake of submissions: no link followed at any depth, only regular files, bounded helpers, any notebook
JSON, any student name; and one `grader grade` run with link students beside honest ones."""

import ast
import csv
import json
import os
import signal
import stat
from contextlib import contextmanager
from html import escape
from pathlib import Path

import pytest
from conftest import EXERCISES, ROOT, make_class, reference_files, run_grader
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grader import intake, rubric, shards
from grader.intake import (MAX_EXERCISE_BYTES, MAX_HELPER_BYTES, MAX_HELPER_FILES, MAX_NOTEBOOK_BYTES, Contents,
                           Entry, FindSubmissions, Reader, Submission, display_name, notebook_code, notebook_error,
                           read_folder, read_student)
from grader.sandbox import Limits

EX01, EX02 = EXERCISES[:2]
SELECTED = [EX01, EX02]
CODE = b"def f():\n    return 1\n"


@contextmanager
def deadline(seconds: int = 10):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    def expired(*_):
        raise TimeoutError(f"the intake blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def student(root: Path, files: dict[str, bytes] | None = None, name: str = "ada") -> Path:
    folder = root / "class" / name
    folder.mkdir(parents=True)
    for rel, data in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def read(folder: Path, exercises=SELECTED) -> Contents:
    with deadline():
        return read_student(folder.parent, folder.name, exercises)


# --- links, special files, sizes -----------------------------------------------------------------


@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_an_exercise_file_that_is_a_link_to_the_reference_is_refused(tmp_path, target):
    folder = student(tmp_path)
    reference = ROOT / "reference" / f"{EX01}.py"
    os.symlink(reference if target == "absolute" else os.path.relpath(reference, folder), folder / f"{EX01}.py")
    contents = read(folder)
    assert f"{EX01}.py is a symbolic link" in contents.refused[EX01]
    assert contents.files == {} and contents.exercises == {}
    assert reference.read_bytes() not in contents.files.values()


@pytest.mark.parametrize("target", ["/proc/self/environ", "other student", "outside"])
def test_a_linked_helper_is_not_copied_and_the_student_is_told(tmp_path, target):
    other = student(tmp_path, {f"{EX01}.py": b"SECRET = 'theirs'\n"}, name="other")
    outside = tmp_path / "secret.py"
    outside.write_bytes(b"SECRET = 'root only'\n")
    folder = student(tmp_path, {f"{EX01}.py": CODE})
    os.symlink({"/proc/self/environ": "/proc/self/environ", "other student": str(other / f"{EX01}.py"),
                "outside": str(outside)}[target], folder / "helper.py")
    contents = read(folder)
    assert contents.files == {f"{EX01}.py": CODE}
    assert any("helper.py was not copied: it is a symbolic link" in n for n in contents.notes)


def test_a_linked_sub_folder_is_not_entered(tmp_path):
    folder = student(tmp_path)
    os.symlink(ROOT / "reference", folder / "ps1")  # nbgrader's layout, through a link
    contents = read(folder)
    assert contents.files == {}
    for exercise in SELECTED:
        assert "ps1 is a symbolic link to a folder" in contents.refused[exercise]


def test_a_student_folder_that_is_a_link_is_refused_whole(tmp_path):
    honest = student(tmp_path, {f"{EX01}.py": CODE}, name="ada")
    os.symlink(honest, tmp_path / "class" / "bob")
    found = {s.student: s for s in FindSubmissions(tmp_path / "class", tmp_path / "out", SELECTED)()}
    assert list(found) == ["ada", "bob"]
    assert found["ada"].contents.files == {f"{EX01}.py": CODE}
    refused = found["bob"].contents
    assert refused.files == {} and set(refused.refused) == set(SELECTED)
    assert all("your folder bob is a symbolic link" in m for m in refused.refused.values())


def test_folders_swapped_for_links_after_listing_are_refused(tmp_path):
    """What was a folder when listed and a link when read: every open goes through O_NOFOLLOW."""
    folder = student(tmp_path, {f"ps1/{EX01}.py": CODE})
    (submission,) = FindSubmissions(tmp_path / "class", tmp_path / "out", SELECTED)()
    reader_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        reader = Reader(reader_fd, SELECTED, 1)
        reader._walk(reader_fd, (), 0)
        entry = next(e for e in reader.entries if e.name == f"{EX01}.py")
        (folder / "ps1").rename(folder / "real")
        os.symlink(folder / "real", folder / "ps1")
        data, problem = reader.read(entry, MAX_EXERCISE_BYTES)
    finally:
        os.close(reader_fd)
    assert data == b"" and "symbolic link" in problem
    folder.rename(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", folder)
    assert "is a symbolic link" in submission.read().refused[EX01]


def test_a_fifo_never_blocks_and_is_refused_even_when_it_replaces_a_listed_file(tmp_path):
    folder = student(tmp_path, {f"{EX02}.py": CODE})
    os.mkfifo(folder / f"{EX01}.py")
    contents = read(folder)
    assert "is a FIFO, not a file" in contents.refused[EX01] and contents.exercises == {EX02: f"{EX02}.py"}
    listed = Entry((f"{EX01}.py",), stat.S_IFREG | 0o644, 10)  # as if it was a file when listed
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with deadline():
            data, problem = Reader(fd, SELECTED, 1).read(listed, MAX_EXERCISE_BYTES)
    finally:
        os.close(fd)
    assert data == b"" and "FIFO" in problem


def test_devices_and_sockets_are_refused(tmp_path, monkeypatch):
    import socket

    folder = student(tmp_path)
    try:
        os.mknod(folder / f"{EX01}.py", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is (as root)
        expected = "is a device, not a file"
    except PermissionError:
        os.symlink("/dev/null", folder / f"{EX01}.py")
        expected = "is a symbolic link"
    monkeypatch.chdir(folder)  # a socket's path must be short
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(f"{EX02}.py")
        contents = read(folder)
    assert expected in contents.refused[EX01] and "is a socket, not a file" in contents.refused[EX02]
    assert contents.files == {}


def test_a_folder_named_like_an_exercise_file_is_refused(tmp_path):
    folder = student(tmp_path)
    (folder / f"{EX01}.py").mkdir()
    assert "is a folder, not a file" in read(folder).refused[EX01]


def test_an_exercise_file_over_the_cap_is_refused_unread(tmp_path):
    folder = student(tmp_path, {f"{EX01}.py": b"#" * (MAX_EXERCISE_BYTES + 1), f"{EX02}.py": CODE})
    contents = read(folder)
    assert "more than the 1024 KiB allowed" in contents.refused[EX01]
    assert contents.files == {f"{EX02}.py": CODE}


def test_the_nbgrader_layout_one_folder_down_is_read_and_a_py_beats_a_notebook(tmp_path):
    notebook = json.dumps({"cells": [{"cell_type": "code", "source": "NOTEBOOK = 1"}]}).encode()
    folder = student(tmp_path, {f"ps1/{EX01}.ipynb": notebook, f"ps2/{EX02}.ipynb": notebook,
                                f"{EX02}.py": CODE, f"a/b/{EX01}.py": CODE, f".hidden/{EX01}.py": CODE})
    contents = read(folder)
    assert contents.files[f"{EX01}.py"] == b"NOTEBOOK = 1\n"  # a/b/ is two folders down: not looked at
    assert contents.files[f"{EX02}.py"] == CODE
    assert set(contents.hashes) == {f"ps1/{EX01}.ipynb", f"{EX02}.py"}
    deep = read_folder(folder, SELECTED)  # Gradescope: at any depth
    assert deep.files[f"{EX01}.py"] == CODE


# --- helper modules ------------------------------------------------------------------------------


def test_helpers_beside_the_exercise_files_are_copied_within_the_caps(tmp_path):
    helpers = {f"h{i}.py": b"X = 1\n" for i in range(MAX_HELPER_FILES)}
    folder = student(tmp_path, {f"ps1/{EX01}.py": CODE, **{f"ps1/{n}": d for n, d in helpers.items()},
                                "not_beside.py": CODE, "ps1/not-a-module.py": CODE, "ps1/data.txt": CODE})
    contents = read(folder)
    assert set(contents.files) == {f"{EX01}.py", *helpers} and contents.notes == []
    (folder / "ps1" / "one_more.py").write_bytes(b"X = 1\n")
    over = read(folder)
    assert set(over.files) == {f"{EX01}.py"} and over.exercises == {EX01: f"{EX01}.py"}
    assert f"more than the {MAX_HELPER_FILES} files" in over.notes[0] and "none of them was copied" in over.notes[0]


def test_helpers_over_the_size_cap_are_not_read(tmp_path):
    half = b"#" * (MAX_HELPER_BYTES // 2 + 1)
    folder = student(tmp_path, {f"{EX01}.py": CODE, "a.py": half, "b.py": half})
    contents = read(folder)
    assert set(contents.files) == {f"{EX01}.py"} and "none of them was copied" in contents.notes[0]
    assert contents.hashes["a.py"].startswith("not read")


def test_what_the_intake_lets_in_always_fits_the_sandbox():
    limits = Limits(wall_seconds=1)
    assert intake.max_total_bytes(len(rubric.exercise_names())) <= limits.scratch_bytes // 2
    assert MAX_NOTEBOOK_BYTES >= MAX_EXERCISE_BYTES


def test_an_exercise_not_selected_is_a_helper_and_a_selected_one_never_is(tmp_path):
    folder = student(tmp_path, {f"{EX01}.py": CODE, f"{EX02}.py": b"Y = 2\n"})
    contents = read(folder, [EX01])
    assert contents.files == {f"{EX01}.py": CODE, f"{EX02}.py": b"Y = 2\n"}
    assert contents.exercises == {EX01: f"{EX01}.py"}


# --- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["grades.csv", "report.html", "run.json", "GRADES.CSV"])
def test_a_folder_named_like_an_output_is_refused_with_a_message_and_the_rest_are_found(tmp_path, name):
    student(tmp_path, {f"{EX01}.py": CODE}, name=name)
    student(tmp_path, {f"{EX01}.py": CODE}, name="ada")
    said = []
    found = FindSubmissions(tmp_path / "class", tmp_path / "out", SELECTED, warn=said.append)()
    assert [s.student for s in found] == ["ada"]
    assert len(said) == 1 and repr(str(tmp_path / "class" / name)) in said[0] and "rename it" in said[0]


def test_every_output_name_grading_writes_is_reserved():
    for name in ("grades.csv", "report.html", shards.RUN):
        assert intake.reserved(name)
    assert not intake.reserved("ada")


def test_names_that_are_not_utf8_stay_apart_and_are_valid_text(tmp_path):
    root = tmp_path / "class"
    root.mkdir()
    for raw in (b"caf\xe9", b"caf\xff", b"caf\xef\xbf\xbd"):  # the last is "caf" + U+FFFD, valid UTF-8
        os.mkdir(os.path.join(os.fsencode(root), raw))
        Path(os.fsdecode(os.path.join(os.fsencode(root), raw, f"{EX01}.py".encode()))).write_bytes(CODE)
    found = FindSubmissions(root, tmp_path / "out", SELECTED)()
    names = [s.student for s in found]
    assert len(set(names)) == 3 and "caf\ufffd" in names
    for s in found:
        s.student.encode("utf-8")  # never raises
        assert s.contents.files == {f"{EX01}.py": CODE}


names = (st.text(st.characters(exclude_characters="/\0", exclude_categories=("Cs",)), min_size=1, max_size=40)
         | st.binary(min_size=1, max_size=40).map(os.fsdecode)).filter(
    lambda n: "/" not in n and "\0" not in n and not n.startswith((".", "_")))  # hidden folders are not students


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_any_name_a_file_system_allows_is_graded_and_written_safely(tmp_path, name):
    raw = os.fsencode(name)
    assume(b"/" not in raw and b"\0" not in raw and raw not in (b".", b"..") and len(raw) <= 255)
    root = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), os.urandom(8).hex().encode())))
    (root / name).mkdir(parents=True)
    (root / name / f"{EX01}.py").write_bytes(CODE)
    found = FindSubmissions(root, tmp_path / "out", SELECTED, warn=lambda _: None)()
    if raw.startswith((b".", b"_")) or intake.reserved(display_name(name)):
        assert found == []
        return
    (submission,) = found
    shown = submission.student
    assert shown == display_name(name) and len(shown.encode("utf-8")) <= 255 and "/" not in shown
    assert shown == name or "\ufffd" in shown or len(raw) > intake.MAX_NAME_BYTES
    assert submission.contents.files == {f"{EX01}.py": CODE}
    assert submission.read().hashes == submission.contents.hashes  # what resume compares
    json.loads(json.dumps({"student": shown, "files": submission.contents.hashes}, ensure_ascii=False))
    csv.writer(open(os.devnull, "w", encoding="utf-8")).writerow([shown])
    escape(shown).encode("utf-8")
    assert 1 <= shards.owner(shown, 7) <= 7
    out = tmp_path / "out" / os.urandom(8).hex() / shown  # the student's folder in OUT can be made
    out.mkdir(parents=True)
    (out / "feedback.md").write_text(f"# Feedback for {shown}\n", encoding="utf-8")


# --- notebooks -------------------------------------------------------------------------------------


def is_notebook_error(code: bytes, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Raise):
        return False
    call = tree.body[0].exc
    return (isinstance(call, ast.Call) and call.func.id == "ImportError"
            and call.args[0].value.startswith(f"{name} is not a readable notebook: "))


def well_formed(document) -> bool:
    """A notebook the intake turns into code: an object whose cells are objects, code cells holding text."""
    return isinstance(document, dict) and isinstance(document.get("cells"), list) and all(
        isinstance(c, dict) and (c.get("cell_type") != "code" or isinstance(c.get("source", ""), str)
                                 or isinstance(c.get("source"), list) and all(isinstance(s, str) for s in c["source"]))
        for c in document["cells"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["cells", "cell_type", "source", "metadata", "nbgrader", "grade", "solution", "x"]),
        inner, max_size=5) | st.fixed_dictionaries({"cell_type": st.just("code"), "source": inner}),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(document=json_values | st.fixed_dictionaries({"cells": st.lists(json_values, max_size=5)}))
def test_any_json_becomes_code_or_the_defined_import_error(document):
    code = notebook_code(json.dumps(document).encode(), "ex.ipynb")
    assert isinstance(code, bytes)
    code.decode("utf-8")
    if well_formed(document):
        assert code.endswith(b"\n") and not code.startswith(b"raise ImportError('ex.ipynb is not")
    else:
        assert is_notebook_error(code, "ex.ipynb")


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200) | st.sampled_from([b"[" * 50_000, b'{"cells": [' * 20_000, b"\xff\xfe{}",
                                                       b'{"cells": [{"cell_type": "code", "source": "\\ud800"}]}']))
def test_any_bytes_become_code_or_the_defined_import_error(data):
    code = notebook_code(data, "ex.ipynb")
    code.decode("utf-8")
    if not is_notebook_error(code, "ex.ipynb"):
        assert well_formed(json.loads(data))


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.tuples(st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
                                st.sampled_from(["solution", "setup", "test", "markdown"])), max_size=6))
def test_solution_and_setup_cells_are_kept_and_autograder_tests_never(cells):
    marks = {"solution": {"solution": True, "grade": False}, "setup": {"solution": False, "grade": False},
             "test": {"solution": False, "grade": True, "points": 1}, "markdown": {}}
    document = {"cells": [{"cell_type": "markdown" if kind == "markdown" else "code",
                           "source": f"{kind.upper()}_{i} = {text!r}", "metadata": {"nbgrader": marks[kind]}}
                          for i, (text, kind) in enumerate(cells)]}
    code = notebook_code(json.dumps(document).encode(), "ex.ipynb").decode()
    for i, (_, kind) in enumerate(cells):
        assert (f"{kind.upper()}_{i} = " in code) == (kind in ("solution", "setup"))


def test_notebook_errors_name_the_file_and_the_problem():
    assert notebook_code(b"[1, 2]", "n.ipynb") == notebook_error("n.ipynb",
                                                                 "the file holds a list, not a notebook object")
    assert b"cell 2 is a number" in notebook_code(b'{"cells": [{}, 3]}', "n.ipynb")
    assert b"source of cell 1 is a number" in notebook_code(b'{"cells": [{"cell_type": "code", "source": 1}]}', "n")
    assert b"not valid UTF-8" in notebook_code(b'{"cells": [{"cell_type": "code", "source": "\\ud800"}]}', "n")
    assert b"not valid UTF-8" in notebook_code(b'{"cells": [{"cell_type": "code", "source": "\xff"}]}', "n")
    huge = json.dumps({"cells": [{"cell_type": "code", "source": "#" * MAX_EXERCISE_BYTES}]}).encode()
    assert b"more than the 1024 KiB" in notebook_code(huge, "n.ipynb")


def test_a_notebook_over_its_cap_is_refused_unread(tmp_path):
    folder = student(tmp_path, {f"{EX01}.ipynb": b" " * (MAX_NOTEBOOK_BYTES + 1)})
    assert "more than the" in read(folder).refused[EX01]


# --- resume ----------------------------------------------------------------------------------------


def test_the_hashes_change_when_a_link_becomes_the_file(tmp_path):
    folder = student(tmp_path)
    os.symlink(ROOT / "reference" / f"{EX01}.py", folder / f"{EX01}.py")
    submission = Submission("ada", folder, (EX01,))
    linked = submission.read().hashes
    (folder / f"{EX01}.py").unlink()
    (folder / f"{EX01}.py").write_bytes(CODE)
    assert submission.read().hashes != linked
    assert json.loads(json.dumps(linked)) == linked


# --- one class run ---------------------------------------------------------------------------------


def test_link_students_score_zero_with_the_reason_and_the_honest_ones_keep_full_marks(tmp_path):
    reference = reference_files([EX01])
    submissions = make_class(tmp_path / "subs", {"honest": reference})
    (submissions / "file_link").mkdir()
    os.symlink(ROOT / "reference" / f"{EX01}.py", submissions / "file_link" / f"{EX01}.py")
    os.symlink(submissions / "honest", submissions / "folder_link")
    make_class(submissions, {"grades.csv": reference})
    accented = Path(os.fsdecode(os.path.join(os.fsencode(submissions), b"Zo\xeb")))  # Latin-1, not UTF-8
    accented.mkdir()
    (accented / f"{EX01}.py").write_text(reference[f"{EX01}.py"])
    out = tmp_path / "out"
    run = run_grader("grade", str(submissions), "--out", str(out), "--only", EX01, "--jobs", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "grades.csv' is named like a file grading writes in OUT" in run.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        book = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    shown = display_name(os.fsdecode(b"Zo\xeb"))
    full = rubric.load(EX01).max_points(hidden=True)
    assert book == {"honest": full, shown: full, "file_link": 0.0, "folder_link": 0.0}
    assert "symbolic link" in (out / "file_link" / "feedback.md").read_text()
    assert "your folder folder_link is a symbolic link" in (out / "folder_link" / "feedback.md").read_text()
    record = json.loads((out / "file_link" / "record.json").read_text())
    assert {e["status"] for e in record["exercises"]} == {"refused"}
    assert "2 refused" in run.stderr
    assert shown in (out / "report.html").read_text(encoding="utf-8")
