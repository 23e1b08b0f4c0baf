"""Deadlines and late work (`grade --deadline --late-policy --timestamps`), and regrading part of a class
(`--students`, `--only`) that keeps the rest of the gradebook as it was."""

import csv
import io
import json
import os
import re
import shutil
import zipfile
from datetime import timedelta

import pytest
from conftest import EXERCISES, ROOT, make_class, reference_files, run_grader, stub_files
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import GraderError, shards
from grader.deadlines import Late, Policy, Rules, Stamp, from_files, parse_time, read_table
from grader.escaping import html_text, md_inline, terminal
from grader.intake import FindSubmissions, read_student
from grader.pages import feedback_html
from grader.reports import ExerciseResult, StudentResult, feedback_markdown, gradebook_csv, load_record

EX01, EX02 = EXERCISES[:2]
DEADLINE = "2026-12-01T23:59+01:00"
POLICY = "10%/day,max=3d,grace=15m"


# --- the policy's arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize("late, status, penalty", [
    (timedelta(0), "on_time", 0.0),
    (timedelta(minutes=-30), "on_time", 0.0),
    (timedelta(minutes=15), "grace", 0.0),  # inside the grace period: on time
    (timedelta(minutes=15, seconds=1), "late", 0.1),  # a started day, counted from the deadline
    (timedelta(days=1), "late", 0.1),
    (timedelta(days=1, minutes=1), "late", 0.2),  # two started days
    (timedelta(days=3), "late", 0.3),
    (timedelta(days=3, seconds=1), "no_credit", 1.0),  # past the cap: nothing
])
def test_ten_percent_a_started_day_none_after_three_days_and_a_grace_period(late, status, penalty):
    found, fraction, _ = Policy.parse(POLICY).judge(late)
    assert (found, fraction) == (status, penalty)


def test_hourly_rates_no_deduction_and_no_credit_for_any_late_work():
    assert Policy.parse("5%/hour").judge(timedelta(hours=2, minutes=1)) == ("late", 0.15, 3)
    assert Policy.parse("40%/day").judge(timedelta(days=3)) == ("late", 1.0, 3)  # never more than everything
    assert Policy.parse("none").judge(timedelta(days=30))[:2] == ("late", 0.0)  # lateness shown, nothing taken
    assert Policy.parse(None).text == "none"  # the default
    assert Policy.parse("none,max=0,grace=1h").judge(timedelta(minutes=61))[:2] == ("no_credit", 1.0)
    assert Policy.parse(" 10 %/DAY , grace = 15m ").text == "10%/day,grace=15m"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10 * 86400), st.integers(0, 10 * 86400), st.sampled_from(["10%/day,max=3d,grace=15m",
                                                                               "2.5%/hour,grace=1h", "none,max=1d"]))
def test_the_penalty_never_falls_as_lateness_grows_and_stays_between_nothing_and_everything(a, b, text):
    policy = Policy.parse(text)
    early, later = sorted((a, b))
    first, second = policy.judge(timedelta(seconds=early))[1], policy.judge(timedelta(seconds=later))[1]
    assert 0 <= first <= second <= 1
    if early <= policy.grace.total_seconds():
        assert first == 0


# --- bad options: a clear message, never a traceback ----------------------------------------------


@pytest.mark.parametrize("deadline, message", [
    ("2026-12-01T23:59", "no UTC offset: add one, e.g. +01:00, or Z for UTC"),
    ("2026-12-01", "a date without a time of day"),
    ("2026-02-30T10:00Z", "not a valid date and time"),
    ("tomorrow", "not a time written as YYYY-MM-DDTHH:MM"),
    ("2026-12-01T23:59+25:00", "is not one"),
    ("2026-12-01T23:59 Europe/Paris", "is not a UTC offset"),  # names are nbgrader's, not the instructor's
])
def test_a_deadline_without_an_offset_or_not_a_time_is_refused_saying_why(deadline, message):
    with pytest.raises(GraderError, match=f"^--deadline {re.escape(deadline)}: .*{re.escape(message)}"):
        Rules.from_options(deadline)


def test_the_deadline_takes_an_offset_or_z():
    assert Rules.from_options("2026-12-01T22:59Z").deadline == Rules.from_options(DEADLINE).deadline
    with pytest.raises(GraderError, match="--late-policy and --timestamps need --deadline"):
        Rules.from_options(None, POLICY, ROOT / "x.csv")


@pytest.mark.parametrize("policy, message", [
    ("", "empty"), ("10", "is not a rate"), ("10%/week", "is not a rate"), ("-5%/day", "is not a rate"),
    ("150%/day", "more than 100%"), ("10%/day,max=3x", "max=3x is not a duration"),
    ("10%/day,grace=soon", "grace=soon is not a duration"), ("10%/day,max=1d,max=2d", "max= is given twice"),
    ("max=3d", "no rate"), ("10%/day,none", "two rates"), ("10%/day,cap=3d", "is not a part it knows"),
])
def test_a_bad_late_policy_names_the_option_and_the_problem(policy, message):
    with pytest.raises(GraderError, match=f"^--late-policy.*{re.escape(message)}"):
        Policy.parse(policy)


@pytest.mark.parametrize("text, message", [
    ("name,time\nana,2026-12-01T10:00Z\n", "line 1 must name the columns student and submitted"),
    ("student,submitted\nana,2026-12-01T10:00Z\nben,yesterday\n", "line 3: 'yesterday': not a time"),
    ("student,submitted\nana,2026-12-01T10:00\n", "line 2: '2026-12-01T10:00': no UTC offset"),
    ("student,submitted\nana,2026-12-01T10:00Z\n\nana,2026-12-02T10:00Z\n", "line 4: 'ana' is also on line 2"),
    ("student,submitted\nana,\n", "line 2: no submission time for 'ana'"),
    ("student,submitted\n,2026-12-01T10:00Z\n", "line 2: no student"),
    ("", "empty"),
])
def test_a_bad_timestamps_table_names_its_line(tmp_path, text, message):
    path = tmp_path / "times.csv"
    path.write_text(text)
    with pytest.raises(GraderError, match=f"^{re.escape(f'--timestamps {path}: {message}')}"):
        read_table(path)


def test_a_timestamps_table_that_is_not_text_or_not_there_is_refused(tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"student,submitted\n\xff\xfe\x00")
    with pytest.raises(GraderError, match="not UTF-8 text"):
        read_table(tmp_path / "bin.csv")
    with pytest.raises(GraderError, match="cannot be read"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "ok.csv").write_text("\ufeffSubmitted,Student,section\n2026-12-01 22:00:00 UTC,ana,A\n")
    assert read_table(tmp_path / "ok.csv") == {"ana": (parse_time("2026-12-01T22:00Z"), 2)}


# --- where submission times come from -------------------------------------------------------------


def students(root):
    return {s.student: s for s in FindSubmissions(root, root.parent / "out")()}


def metadata(created_at) -> str:
    return json.dumps({"id": 1, "created_at": created_at, "users": [{"name": "X"}]})


def test_times_come_from_the_table_then_timestamp_txt_then_gradescopes_metadata(tmp_path):
    root = make_class(tmp_path / "subs", {
        "both": {"timestamp.txt": "2026-12-01 20:00:00.000001 UTC", "submission_metadata.json":
                 metadata("2026-12-05T00:00:00.000000-08:00")},
        "gradescope": {"submission_metadata.json": metadata("2026-12-02T00:10:00.365935+01:00")},
        "nbgrader": {"ps1/timestamp.txt": "2026-12-01 22:10:00.5 UTC", "ps1/ex01_tensors_autograd.ipynb": "{}"},
        "listed": {"timestamp.txt": "2026-12-01 20:00:00 UTC"},
        "nothing": {"ex01_tensors_autograd.py": "x = 1\n"}})
    (tmp_path / "times.csv").write_text("student,submitted\nlisted,2026-12-03T09:00:00+01:00\n")
    rules = Rules.from_options(DEADLINE, POLICY, tmp_path / "times.csv")
    found = students(root)
    stamps = {name: rules.stamp(s) for name, s in found.items()}
    assert stamps["both"] == Stamp(parse_time("2026-12-01T20:00:00.000001Z"), "timestamp.txt")
    assert stamps["gradescope"].source == "submission_metadata.json"
    assert stamps["gradescope"].time == parse_time("2026-12-01T23:10:00.365935Z")
    assert stamps["nbgrader"] == Stamp(parse_time("2026-12-01T22:10:00.5Z"), "ps1/timestamp.txt")
    assert stamps["listed"] == Stamp(parse_time("2026-12-03T08:00Z"), "--timestamps line 2")  # the table first
    assert stamps["nothing"].time is None and "no timestamp.txt" in stamps["nothing"].note
    lates = {name: rules.assess(stamp) for name, stamp in stamps.items()}
    assert {n: late.status for n, late in lates.items()} == {
        "both": "on_time", "gradescope": "grace", "nbgrader": "on_time", "listed": "late", "nothing": "unknown"}
    assert lates["listed"].penalty == 0.2 and lates["listed"].short == "1 day 9 h 1 min"


def test_timestamp_files_are_never_code_for_the_sandbox_nor_part_of_what_was_graded(tmp_path):
    files = {"ex01_tensors_autograd.py": "x = 1\n", "timestamp.txt": "2026-12-01 20:00:00 UTC",
             "submission_metadata.json": metadata("2026-12-01T20:00Z")}
    root = make_class(tmp_path / "subs", {"ana": files})
    contents = read_student(root, "ana", [EX01])
    assert set(contents.files) == {"ex01_tensors_autograd.py"}
    assert set(contents.hashes) == {"ex01_tensors_autograd.py"}


HOSTILE = {
    "huge": {"timestamp.txt": "2026-12-01 20:00:00 UTC" + " " * 10_000},
    "binary": {"timestamp.txt": b"\xff\xfe\x00\x01 2026-12-01"},
    "lines": {"timestamp.txt": "2026-12-01 20:00:00 UTC\nrm -rf /\n"},
    "markup": {"timestamp.txt": "2026-12-01 20:00:00 <img src=x onerror=alert(1)>"},
    "zone": {"timestamp.txt": "2026-12-01 20:00:00 Mars/Olympus"},
    "list": {"submission_metadata.json": "[1, 2]"},
    "number": {"submission_metadata.json": json.dumps({"created_at": 5})},
    "deep": {"submission_metadata.json": "[" * 100_000},
    "notjson": {"submission_metadata.json": "created_at: today"},
    "bigjson": {"submission_metadata.json": json.dumps({"created_at": "2026-12-01T20:00Z", "x": "y" * (2 << 20)})},
}


def test_hostile_timestamp_and_metadata_files_give_an_unknown_time_and_a_note(tmp_path):
    root = tmp_path / "subs"
    for student, files in HOSTILE.items():
        for name, content in files.items():
            (root / student).mkdir(parents=True, exist_ok=True)
            path = root / student / name
            path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    (root / "link").mkdir()
    (tmp_path / "elsewhere.txt").write_text("2026-12-01 20:00:00 UTC")
    os.symlink(tmp_path / "elsewhere.txt", root / "link" / "timestamp.txt")
    (root / "fifo").mkdir()
    os.mkfifo(root / "fifo" / "timestamp.txt")  # reading it would wait for ever
    notes = {name: from_files(s) for name, s in students(root).items()}
    assert all(stamp.time is None for stamp in notes.values()), notes
    assert "KiB allowed" in notes["huge"].note and "KiB allowed" in notes["bigjson"].note
    assert "not UTF-8" in notes["binary"].note and "one line" in notes["lines"].note
    assert "not a UTC offset" in notes["markup"].note and "not one this machine knows" in notes["zone"].note
    assert "no \"created_at\" text" in notes["list"].note and "no \"created_at\" text" in notes["number"].note
    assert "nested too deeply" in notes["deep"].note and "is not JSON" in notes["notjson"].note
    assert "symbolic link" in notes["link"].note and "FIFO" in notes["fifo"].note


def test_late_text_from_a_students_file_is_escaped_where_it_lands():
    late = Rules.from_options(DEADLINE, POLICY).assess(Stamp(None, "timestamp.txt",
                                                             "timestamp.txt: '<img src=x>|*x*' is not a UTC offset"))
    result = StudentResult("ana", [], late=late)
    assert "<img" not in feedback_html(result) and "&lt;img src=x&gt;" in feedback_html(result)
    assert "\\<img src=x\\>\\|\\*x\\*" in feedback_markdown(result)
    assert Late.from_record(late.record(3.0)) == late  # what record.json keeps reads back
    good = Rules.from_options(DEADLINE, "2.5%/hour").assess(Stamp(parse_time("2026-12-02T02:00+01:00"), "x"))
    assert good.penalty == 0.075 and "-7.5%: raw 8 / 10, final 7.4 / 10." in good.sentence(8, 10)
    assert Late.from_record(good.record(8)) == good
    for damage in ({"deadline": "soon"}, {"policy": "5%/week"}, {"penalty": 2}, {"penalty": "0.1"},
                   {"status": "unknown"}, {"submitted": None}, {"seconds_late": True}, {"note": 5}):
        assert Late.from_record({**good.record(8), **damage}) is None, damage  # no late result, and no crash


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60), st.text(max_size=20))
def test_any_note_or_folder_name_in_a_late_sentence_is_one_escaped_line(note, folder):
    late = Rules.from_options(DEADLINE, POLICY).assess(Stamp(None, f"{folder}/timestamp.txt", f"{folder}: {note}"))
    result = StudentResult("ana", [], late=late)
    lines = feedback_markdown(result).splitlines()
    assert lines[4] == md_inline(result.late_sentence()) and lines[5] == ""  # one line, the grader's own
    assert lines[6] == "| exercise | points | |"
    page = feedback_html(result)
    assert f"<p class=\"note\">{html_text(terminal(result.late_sentence()))}</p>" in page
    assert page.count("<p") == 2


def test_without_a_deadline_the_gradebook_is_as_it_always_was():
    result = StudentResult("ana", [ExerciseResult(EX01, "t", "graded", "", [])])
    assert gradebook_csv([result], [EX01]).splitlines()[0] == f"student,{EX01},total,max"


# --- a class graded with a deadline ---------------------------------------------------------------


TIMES = "student,submitted\neve,2026-12-06T10:00:00+01:00\nzed,2026-12-01T10:00:00Z\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("deadlines")
    both = reference_files([EX01, EX02])
    subs = make_class(root / "subs", {
        "ana": {**both, "timestamp.txt": "2026-12-01 18:03:27.512345 UTC"},
        "ben": {**reference_files([EX01]), **stub_files([EX02]), "timestamp.txt": "2026-12-02 23:00:00.000000 UTC"},
        "cleo": {**reference_files([EX01]), "submission_metadata.json": metadata("2026-12-01T15:10:00.000000-08:00")},
        "dan": stub_files([EX01]),
        "eve": {**both, "timestamp.txt": "2026-11-30 10:00:00 UTC"},  # the table says otherwise, and comes first
        "fay": {**stub_files([EX01]), "timestamp.txt": "\x00\x1b[31m<b>2026</b>"},
    })
    (root / "times.csv").write_text(TIMES)
    out = root / "out"
    run = run_grader("grade", str(subs), "--out", str(out), "--only", f"{EX01},{EX02}", "--deadline", DEADLINE,
                     "--late-policy", POLICY, "--timestamps", str(root / "times.csv"))
    return root, subs, out, run


def book(out):
    with (out / "grades.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def by_student(out):
    return {row["student"]: row for row in book(out)}


def test_the_gradebook_shows_the_penalty_beside_the_raw_total(graded):
    _, _, out, run = graded
    assert run.returncode == 0, run.stderr[-3000:]
    assert (out / "grades.csv").read_text().splitlines()[0] == \
        f"student,{EX01},{EX02},total,submitted,late,penalty,final,max"
    rows = by_student(out)
    for name, row in rows.items():
        record = load_record(out / name / "record.json")
        assert float(row["total"]) == record.points == float(row[EX01]) + float(row[EX02])  # raw, untouched
    ana, ben, cleo, dan, eve = (rows[n] for n in ("ana", "ben", "cleo", "dan", "eve"))
    assert (ana["late"], ana["penalty"], ana["final"]) == ("on time", "0%", ana["total"])
    assert ana["submitted"] == "2026-12-01T19:03:27+01:00"
    assert ben["late"] == "1 day 1 min" and ben["penalty"] == "20%"
    assert float(ben["final"]) == pytest.approx(0.8 * float(ben["total"])) and float(ben["total"]) > 0
    assert cleo["late"] == "grace (11 min)" and cleo["final"] == cleo["total"] != "0"
    assert (dan["late"], dan["submitted"], dan["penalty"]) == ("unknown", "", "0%")
    assert (eve["late"], eve["penalty"], eve["final"]) == ("4 days 10 h 1 min", "100%", "0") and eve["total"] != "0"


def test_unknown_times_and_table_rows_naming_nobody_are_said_on_stderr(graded):
    _, _, out, run = graded
    assert "submission time unknown for 2 student(s), graded without a late penalty: dan, fay" in run.stderr
    assert "--timestamps line 3: no student folder named 'zed'" in run.stderr
    assert "fay: submission time unknown: timestamp.txt is not UTF-8" not in run.stderr  # it is UTF-8 ...
    assert "fay: submission time unknown: timestamp.txt: not a time" in run.stderr  # ... but not a time
    assert "\x1b" not in run.stderr and "\x1b" not in (out / "fay" / "feedback.md").read_text()
    assert "<b>" not in (out / "fay" / "feedback.html").read_text()
    assert "1 on time, 1 in the grace period, 1 late, 1 too late for credit, 2 with no known time" in run.stdout


def test_the_feedback_says_when_how_late_and_what_it_cost(graded):
    _, _, out, _ = graded
    ben = (out / "ben" / "feedback.md").read_text()
    record = load_record(out / "ben" / "record.json")
    raw, top = record.points, record.max_points
    assert f"**Score: {0.8 * raw:g} / {top:g}** (raw {raw:g}, late penalty -20%)" in ben
    assert ("Submitted 2026-12-03 00:00 +01:00, 1 day 1 min after the deadline 2026-12-01 23:59 +01:00. "
            "Late policy 10%/day,max=3d,grace=15m") in ben.replace("\\", "")
    assert f"2 started days late, -20%: raw {raw:g} / {top:g}, final {0.8 * raw:g} / {top:g}." in ben
    assert "within the grace period: on time" in (out / "cleo" / "feedback.md").read_text()
    assert "Submission time unknown" in (out / "dan" / "feedback.md").read_text()
    assert "-20%" in (out / "ben" / "feedback.html").read_text()


def test_results_json_scores_after_the_penalty_and_keeps_each_tests_raw_points(graded):
    _, _, out, _ = graded
    document = json.loads((out / "ben" / "results.json").read_text())
    raw = sum(t["score"] for t in document["tests"])
    assert raw == load_record(out / "ben" / "record.json").points > 0
    assert document["score"] == pytest.approx(0.8 * raw)
    assert document["extra_data"]["raw_score"] == raw and document["extra_data"]["late"]["penalty"] == 0.2
    assert document["output"].startswith("Submitted 2026-12-03 00:00 +01:00, 1 day 1 min after the deadline")
    record = json.loads((out / "ben" / "record.json").read_text())
    assert record["points"] == raw and record["late"]["points_after_penalty"] == pytest.approx(0.8 * raw)
    assert record["late"]["source"] == "timestamp.txt" and record["late"]["seconds_late"] == 86460


def test_the_class_report_lists_the_late_columns(graded):
    _, _, out, _ = graded
    page = (out / "report.html").read_text()
    assert "<th>penalty</th><th>final</th>" in page and "1 day 1 min" in page and "late policy <code>" in page


def test_export_sends_the_points_after_the_penalty_and_says_so(graded, tmp_path):
    _, _, out, _ = graded
    (tmp_path / "roster.csv").write_text("folder,name\nben,Ben O\neve,Eve P\nana,Ana L\n")
    run = run_grader("export", str(out), "--format", "csv", "--roster", str(tmp_path / "roster.csv"), "--to",
                     str(tmp_path / "x.csv"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "the points exported are after the late penalty (2 student(s) penalised: ben, eve)" in run.stderr
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO((tmp_path / "x.csv").read_text()))}
    raw = by_student(out)
    assert float(rows["ben"][EX01]) == pytest.approx(0.8 * float(raw["ben"][EX01]))
    assert float(rows["ben"]["total"]) == pytest.approx(float(raw["ben"]["final"]))
    assert rows["ben"]["raw_total"] == raw["ben"]["total"] and rows["ben"]["penalty"] == "20%"
    assert rows["eve"]["total"] == "0" and rows["ana"]["total"] == raw["ana"]["total"]


def copy(graded, name):
    root, subs, out, _ = graded
    target = root / name
    shutil.copytree(out, target)
    return subs, target


def records(out) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in sorted(out.glob("*/record.json"))}


def exercises_text(record: str) -> list[str]:
    return [json.dumps(e, sort_keys=True) for e in json.loads(record)["exercises"]]


def test_another_deadline_grades_nobody_again_and_only_rewrites_the_reports(graded):
    subs, out = copy(graded, "redeadline")
    before = records(out)
    run = run_grader("grade", str(subs), "--out", str(out), "--only", f"{EX01},{EX02}", "--deadline",
                     "2026-12-02T23:59+01:00", "--late-policy", "5%/hour")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "kept 6 student(s) graded by an earlier run" in run.stderr and "grading " not in run.stderr
    after = records(out)
    assert all(exercises_text(after[n]) == exercises_text(before[n]) for n in before)  # the results as they were
    rows = by_student(out)
    assert rows["ben"]["late"] == "1 min" and rows["ben"]["penalty"] == "5%"
    assert rows["cleo"]["late"] == "on time" and "-5%" in (out / "ben" / "feedback.md").read_text()
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/*") if p.is_file()}
    again = run_grader("grade", str(subs), "--out", str(out), "--only", f"{EX01},{EX02}", "--deadline",
                       "2026-12-02T23:59+01:00", "--late-policy", "5%/hour")
    assert again.returncode == 0 and {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # nothing to rewrite
    plain = run_grader("grade", str(subs), "--out", str(out), "--only", f"{EX01},{EX02}")
    assert plain.returncode == 0 and "grading " not in plain.stderr
    assert (out / "grades.csv").read_text().splitlines()[0] == f"student,{EX01},{EX02},total,max"
    assert all("late" not in json.loads(text) for text in records(out).values())
    assert "Submitted" not in (out / "ben" / "feedback.md").read_text()


def test_regrading_one_student_and_one_exercise_keeps_everything_else_byte_for_byte(graded):
    subs, out = copy(graded, "regrade")
    before = records(out)
    (subs / "ben" / f"{EX02}.py").write_text(reference_files([EX02])[f"{EX02}.py"])  # ben fixed his ex02
    try:
        run = run_grader("grade", str(subs), "--out", str(out), "--only", EX02, "--students", "ben", "--deadline",
                         DEADLINE, "--late-policy", POLICY, "--timestamps", str(out.parent / "times.csv"))
    finally:
        (subs / "ben" / f"{EX02}.py").write_text(stub_files([EX02])[f"{EX02}.py"])
    assert run.returncode == 0, run.stderr[-3000:]
    assert "grading 1 student(s)" in run.stderr and "kept 5 student(s) not named by --students" in run.stderr
    after = records(out)
    assert {n: t for n, t in after.items() if n != "ben"} == {n: t for n, t in before.items() if n != "ben"}
    old, new = json.loads(before["ben"]), json.loads(after["ben"])
    assert [e["exercise"] for e in new["exercises"]] == [EX01, EX02]
    assert json.dumps(new["exercises"][0]) == json.dumps(old["exercises"][0])  # ex01 kept exactly
    assert new["exercises"][1]["checks"] != old["exercises"][1]["checks"]
    assert all(c["status"] == "passed" for c in new["exercises"][1]["checks"])
    rows = by_student(out)
    assert list(rows) == ["ana", "ben", "cleo", "dan", "eve", "fay"]  # the whole class, every exercise
    assert float(rows["ben"][EX02]) == load_record(out / "ana" / "record.json").exercises[1].max_points
    assert float(rows["ben"]["final"]) == pytest.approx(0.8 * float(rows["ben"]["total"]))
    # his ex02 file is back as it was: the next full run grades that exercise of his again, and nothing else
    full = run_grader("grade", str(subs), "--out", str(out), "--only", f"{EX01},{EX02}")
    assert full.returncode == 0, full.stderr[-3000:]
    assert "kept 5 student(s) graded by an earlier run" in full.stderr and "grading 1 student(s)" in full.stderr
    assert "kept 1 earlier exercise result(s) of the 1 student(s) graded now" in full.stderr
    assert json.loads(records(out)["ben"])["exercises"][0] == old["exercises"][0]


def test_only_one_exercise_again_keeps_the_other_exercises_column(graded):
    subs, out = copy(graded, "only")
    before = records(out)
    same = run_grader("grade", str(subs), "--out", str(out), "--only", EX02)  # nothing changed: nothing to grade
    assert same.returncode == 0 and "kept 6 student(s) graded by an earlier run" in same.stderr
    assert "grading " not in same.stderr and list(by_student(out)["ana"])[:4] == ["student", EX01, EX02, "total"]
    run = run_grader("grade", str(subs), "--out", str(out), "--only", EX01, "--force", "--deadline", DEADLINE,
                     "--late-policy", POLICY, "--timestamps", str(out.parent / "times.csv"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "grading 6 student(s)" in run.stderr and "kept 6 earlier exercise result(s)" in run.stderr
    after = records(out)
    for name in before:
        assert json.loads(after[name])["exercises"][1] == json.loads(before[name])["exercises"][1]  # ex02 as it was
    rows = by_student(out)
    assert list(rows["ana"])[:4] == ["student", EX01, EX02, "total"] and float(rows["ana"][EX02]) > 0
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["exercises"] == [EX01, EX02] and set(settings["grader_digest"]) == {EX01, EX02}


def test_an_unknown_student_is_an_error_naming_the_closest(graded):
    _, subs, out, _ = graded
    run = run_grader("grade", str(subs), "--out", str(out.parent / "none"), "--students", "ana,bne")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--students ana,bne: no student folder named 'bne'" in run.stderr and "(close: ben)" in run.stderr


@pytest.mark.parametrize("args, message", [
    (["--deadline", "2026-12-01 23:59"], "--deadline 2026-12-01 23:59: no UTC offset"),
    (["--deadline", DEADLINE, "--late-policy", "10%"], "--late-policy 10%: '10%' is not a rate"),
    (["--late-policy", POLICY], "--late-policy needs --deadline"),
    (["--deadline", DEADLINE, "--timestamps", "/nonexistent.csv"], "--timestamps /nonexistent.csv: cannot be read"),
])
def test_bad_deadline_options_stop_the_run_before_grading_with_a_clear_error(graded, args, message):
    _, subs, out, _ = graded
    run = run_grader("grade", str(subs), "--out", str(out.parent / "none"), *args)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr
    assert not (out.parent / "none").exists()


def test_shards_graded_with_other_deadlines_are_not_merged(graded, tmp_path):
    _, _, out, _ = graded
    names = json.loads((out / "run.json").read_text())["students"]
    for index, late in ((1, {"deadline": DEADLINE, "policy": POLICY}), (2, None)):
        part = tmp_path / f"part{index}"
        shutil.copytree(out, part)
        run = json.loads((part / "run.json").read_text())
        run.update(shard=[index, 2], late=late, students=[n for n in names if shards.owner(n, 2) == index])
        (part / "run.json").write_text(json.dumps(run))
    with pytest.raises(GraderError, match="another --deadline or --late-policy"):
        shards.merge([tmp_path / "part1", tmp_path / "part2"], tmp_path / "merged")


def test_gradescope_takes_the_time_from_its_metadata_beside_the_submission(tmp_path):
    submission = tmp_path / "autograder" / "submission"
    submission.mkdir(parents=True)
    (submission / f"{EX01}.py").write_text(reference_files([EX01])[f"{EX01}.py"])
    (submission / "submission_metadata.json").write_text(metadata("2026-11-01T10:00Z"))  # the student's: ignored
    (submission.parent / "submission_metadata.json").write_text(metadata("2026-12-02T12:00:00.000000+01:00"))
    results = tmp_path / "autograder" / "results" / "results.json"
    run = run_grader("gradescope", "run", "--submission", str(submission), "--results", str(results), "--only",
                     EX01, "--deadline", DEADLINE, "--late-policy", POLICY)
    assert run.returncode == 0, run.stderr[-3000:]
    document = json.loads(results.read_text())
    raw = sum(t["score"] for t in document["tests"])
    assert raw > 0 and document["score"] == pytest.approx(0.9 * raw)
    assert document["extra_data"]["late"]["source"] == "submission_metadata.json"
    assert "12 h 1 min after the deadline" in document["output"]


def test_gradescope_build_checks_the_deadline_and_writes_it_into_run_autograder(tmp_path):
    bad = run_grader("gradescope", "build", str(tmp_path / "bad.zip"), "--only", EX01, "--deadline", "soon")
    assert bad.returncode == 2 and "--deadline soon: not a time" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad.zip").exists()
    good = run_grader("gradescope", "build", str(tmp_path / "a.zip"), "--only", EX01, "--deadline", DEADLINE,
                      "--late-policy", POLICY)
    assert good.returncode == 0, good.stderr[-3000:]
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        script = z.read("run_autograder").decode()
    assert f"--deadline 2026-12-01T23:59:00+01:00 --late-policy {POLICY}" in script


def test_the_readmes_deadline_command_shows_the_example_class_late_student(tmp_path):
    readme = (ROOT / "README.md").read_text()
    (line,) = [line.strip() for line in readme.splitlines()
               if line.strip().startswith("grader grade grader/examples --out grades --deadline")]
    args = line.split()[1:]  # what follows `grader`
    args[args.index("--out") + 1] = str(tmp_path / "grades")
    run = run_grader(*args, "--only", f"{EX01},{EX02}")  # the README's class, its first two exercises
    assert run.returncode == 0, run.stderr[-3000:]
    rows = by_student(tmp_path / "grades")
    assert [rows[n]["late"] for n in ("ana", "ben", "cleo", "dan")] == ["on time", "22 h 31 min", "grace (6 min)",
                                                                        "unknown"]
    assert rows["ben"]["penalty"] == "10%"
    assert float(rows["ben"]["final"]) == pytest.approx(0.9 * float(rows["ben"]["total"]))
    assert float(rows["ben"]["total"]) > 0
    assert "submission time unknown for 1 student(s), graded without a late penalty: dan" in run.stderr
