"""`grader export`: a graded class as Canvas', Moodle's or a plain CSV import file, students matched through a roster;
whoever is not matched is reported and listed, never dropped silently, never guessed."""

import csv

import pytest
from conftest import ROOT, run_grader

from grader.export import Member, match
from grader.reports import StudentResult, load_record

ROSTER = """Name,ID,Email,Section,Folder
Ana Lima,1001,ana@uni.example,A,
Ben Okafor,1002,b.okafor@uni.example,A,ben
Cleo,1003,cleo.m@uni.example,B,
=HYPERLINK("http://x"),1009,zed@uni.example,B,
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    run = run_grader("grade", str(ROOT / "grader" / "examples"), "--out", str(root / "out"), "--only", "ex01")
    assert run.returncode == 0, run.stderr[-3000:]
    (root / "roster.csv").write_text(ROSTER)
    return root


def rows(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_canvas_gets_its_columns_points_possible_and_each_matched_students_points(graded):
    run = run_grader("export", str(graded / "out"), "--format", "canvas", "--roster", str(graded / "roster.csv"))
    assert run.returncode == 0, run.stderr[-3000:]
    header, possible, *students = rows(graded / "out" / "canvas-import.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ex01_tensors_autograd"]
    ana = load_record(graded / "out" / "ana" / "record.json")
    assert possible[0].strip() == "Points Possible" and float(possible[5]) == ana.max_points
    by_name = {r[0]: r for r in students}
    assert sorted(by_name) == ["Ana Lima", "Ben Okafor", "Cleo"]  # by email's login, by folder, by name
    for name, folder in (("Ana Lima", "ana"), ("Ben Okafor", "ben"), ("Cleo", "cleo")):
        record = load_record(graded / "out" / folder / "record.json")
        assert float(by_name[name][5]) == record.points
    assert by_name["Ana Lima"][1] == "1001" and by_name["Cleo"][4] == "B"
    # dan has no roster row and the formula row no folder: both said and listed, neither dropped silently
    assert "student folder dan: no roster row names this folder" in run.stderr
    assert "roster row 5" in run.stderr and "4 student(s) for canvas" not in run.stderr
    unmatched = rows(graded / "out" / "export-unmatched.csv")
    assert ["student folder", "dan"] == unmatched[1][:2]
    assert unmatched[2][:3] == ["roster row", "'=HYPERLINK(\"http://x\")", "5"]  # a formula made text


@pytest.mark.parametrize("fmt, header", [
    ("moodle", ["Email address", "ID number", "Full name", "ex01_tensors_autograd"]),
    ("csv", ["student", "name", "id", "email", "ex01_tensors_autograd", "total", "max"]),
])
def test_moodle_and_plain_csv_hold_the_same_points(graded, fmt, header, tmp_path):
    target = tmp_path / f"{fmt}.csv"
    run = run_grader("export", str(graded / "out"), "--format", fmt, "--roster", str(graded / "roster.csv"),
                     "--to", str(target))
    assert run.returncode == 0, run.stderr[-3000:]
    first, *students = rows(target)
    assert first == header and len(students) == 3
    points = {r[header.index("ex01_tensors_autograd")] for r in students}
    assert points == {f"{load_record(graded / 'out' / s / 'record.json').points:g}" for s in ("ana", "ben", "cleo")}


def result(name: str) -> StudentResult:
    return StudentResult(name)


def test_a_name_two_rows_share_or_a_row_two_folders_share_matches_nobody():
    roster = [Member(2, {"name": "Kim Lee", "email": "kim@a.example"}),
              Member(3, {"name": "Kim", "email": "kim@b.example"}), Member(4, {"name": "Jo Park"})]
    found = match([result("kim"), result("jo_park"), result("Jo Park")], roster)
    assert found.matched == []
    reasons = dict(found.students)
    assert "matches roster rows 2, 3 (login)" in reasons["kim"]
    assert "roster row 4 also matches" in reasons["jo_park"] and "roster row 4 also matches" in reasons["Jo Park"]
    assert {m.row for m, _ in found.members} == {2, 3, 4}


@pytest.mark.parametrize("roster, message", [
    ("", "empty"),
    ("who,what\nana,1\n", "names none of the columns"),
    (b"\xff\xfename\n", "not UTF-8"),
])
def test_a_bad_roster_or_folder_gets_a_clear_error(graded, tmp_path, roster, message):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster if isinstance(roster, bytes) else roster.encode())
    run = run_grader("export", str(graded / "out"), "--format", "csv", "--roster", str(path))
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr
    nothing = run_grader("export", str(tmp_path), "--format", "csv", "--roster", str(graded / "roster.csv"))
    assert nothing.returncode == 2 and "holds no finished grading run" in nothing.stderr
