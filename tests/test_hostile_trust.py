"""The trust corpus (tests/hostile_trust/): whole student folders that reach for what they must not, try to stop
the class, or earn points they did not compute, graded in one class run beside an honest student.

Every member implements nothing of what it attacks correctly, so any point it earns there is an attack
that worked. The run must write its gradebook, report and run record and exit 0; the honest student
keeps full marks; every member scores 0 with the status and reason it should get; no student text
reaches the gradebook, the terminal, the Markdown or the HTML as markup or commands; the grader's
environment reaches no output; and nothing the run starts or writes outlives it or lands outside its
own folders.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import sys
import time
import types
import unicodedata
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT, GraderRun, reference_files, run_grader, sandbox_processes

from grader import data, rubric, sandbox
from grader.escaping import csv_cell, terminal
from grader.intake import display_name

CORPUS = Path(__file__).parent / "hostile_trust"
_spec = importlib.util.spec_from_file_location("hostile_trust_manifest", CORPUS / "manifest.py")
manifest = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = manifest  # its dataclass looks its module up
_spec.loader.exec_module(manifest)
ATTACKS: dict = manifest.ATTACKS
TIME_LIMIT = 90  # per student and exercise: no member loops, so only a grader that blocks would reach it
BOUND_SECONDS = 480  # the whole class on two cores
SECRET_ENV = "COURSE_TEST_SECRET"
HONEST = "honest"

pytestmark = pytest.mark.skipif(not sandbox.detect().namespaces,
                                reason="this machine gives the grader no namespaces: the sandbox is process-only")


def _movielens() -> bool:
    """Whether MovieLens-100k is here without downloading it."""
    try:
        data.movielens(download=False)
    except data.DataUnavailable:
        return False
    return True


def unavailable(attack) -> str:
    """Why a member cannot be built or graded here (empty when it can)."""
    if attack.root_only and os.geteuid() != 0:
        return "needs root to be built"
    if "movielens" in attack.needs and not _movielens():
        return "MovieLens-100k is not available here"
    return ""


SKIPPED = {name: why for name, a in ATTACKS.items() if (why := unavailable(a))}
MEMBERS = {name: a for name, a in ATTACKS.items() if name not in SKIPPED}
EXERCISES = [e for e in rubric.exercise_names() if any(e in a.exercises for a in MEMBERS.values())]
GRADED = [name for name, a in MEMBERS.items() if a.row]


def folder_name(attack: str) -> str:
    """The student folder's name as the file system holds it (undecodable bytes as surrogates)."""
    name = ATTACKS[attack].name or attack
    return os.fsdecode(name) if isinstance(name, bytes) else name


def student(attack: str) -> str:
    """The name the member goes by in OUT, the gradebook and the pages."""
    return display_name(folder_name(attack))


# --- building the class ------------------------------------------------------------------------------------


def load_setup(attack: str):
    """The member's setup.py as a module (run from its source: nothing is cached beside it), or None."""
    path = CORPUS / attack / "setup.py"
    if not path.is_file():
        return None
    module = types.ModuleType(f"hostile_trust_setup_{attack}")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def build_member(submissions: Path, attack: str, tokens: dict[str, str]) -> Path:
    """Copy the member's files into its student folder (tokens replaced), then let its setup.py make the rest."""
    folder = submissions / folder_name(attack)
    folder.mkdir(parents=True)
    for source in sorted((CORPUS / attack).rglob("*")):
        rel = source.relative_to(CORPUS / attack)
        if rel.name == "setup.py" or "__pycache__" in rel.parts or not source.is_file():
            continue
        text = source.read_text()
        for token, value in tokens.items():
            text = text.replace(token, value)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    setup = load_setup(attack)
    if setup is not None:
        setup.build(folder, dict(tokens))
    return folder


def build_class(submissions: Path, attacks, out: Path) -> None:
    """The honest student (the reference for every exercise graded) and each member, in ``submissions``."""
    honest = submissions / HONEST
    honest.mkdir(parents=True)
    for name, text in reference_files(EXERCISES).items():
        (honest / name).write_text(text)
    tokens = {"__REFERENCE__": str(ROOT / "reference"), "__SUBMISSIONS__": str(submissions), "__OUT__": str(out)}
    for attack in attacks:
        build_member(submissions, attack, tokens)


def tree(root: Path) -> dict[str, tuple]:
    """Every entry below ``root`` as ``lstat`` sees it: a file's sha256, a link's target, a FIFO or device's kind.
    Nothing is followed or opened but regular files."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                what = os.readlink(path)
            else:
                what = ""
            found[os.path.relpath(path, root)] = (stat.S_IFMT(info.st_mode), what)
    return found


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    submissions, out = root / "submissions", root / "out"
    build_class(submissions, MEMBERS, out)
    before = {"submissions": tree(submissions), "reference": tree(ROOT / "reference")}
    secret = f"secret-{uuid.uuid4().hex}"
    start = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, secret)  # the grader's environment: no output may hold it
        run = run_grader("grade", str(submissions), "--out", str(out), "--only", ",".join(EXERCISES), "--jobs", "2",
                         "--time-limit", str(TIME_LIMIT), timeout=BOUND_SECONDS)
    seconds = time.monotonic() - start
    grader_run = GraderRun.from_log(run.stderr)
    leftovers = sandbox_processes(grader_run)
    print(f"\nthe trust corpus ({len(MEMBERS)} members, {', '.join(EXERCISES)}) was graded in {seconds:.1f} s"
          + (f"; skipped: {SKIPPED}" if SKIPPED else ""))
    yield {"run": run, "grader_run": grader_run, "out": out, "submissions": submissions, "seconds": seconds,
           "before": before, "secret": secret, "leftovers": leftovers}
    shutil.rmtree(root, ignore_errors=True)


def gradebook(out: Path) -> dict[str, dict]:
    """The gradebook's rows by student, under the name each goes by in OUT (a formula's cell has a quote, and
    controls and bidi characters are shown replaced)."""
    names = {csv_cell(terminal(name)): name for name in [HONEST, *(student(a) for a in GRADED)]}
    with (out / "grades.csv").open(newline="") as f:
        return {names.get(row["student"], row["student"]): row for row in csv.DictReader(f)}


def record(out: Path, name: str) -> dict:
    return json.loads((out / name / "record.json").read_text())


def statuses(out: Path, name: str) -> dict[str, str]:
    return {e["exercise"]: e["status"] for e in record(out, name)["exercises"]}


def earned(out: Path, name: str) -> list[str]:
    """The checks a student earned points on, as ``exercise: check (points)``."""
    results = json.loads((out / name / "results.json").read_text())
    return [f"{t['name']} ({t['score']:g})" for t in results["tests"] if t["score"] > 0]


# --- the corpus -------------------------------------------------------------------------------------------------


def test_the_corpus_covers_every_class_and_every_member_is_complete():
    assert len(ATTACKS) >= 20
    assert {a.kind for a in ATTACKS.values()} == set(manifest.CLASSES)
    for name, attack in ATTACKS.items():
        folder = CORPUS / name
        assert folder.is_dir() and attack.what and attack.exercises, name
        assert os.sep not in folder_name(name) and folder_name(name) not in ("", ".", "..", HONEST), name
        assert set(attack.exercises) <= set(rubric.exercise_names()), name
        assert any(p.is_file() for p in folder.iterdir()), name
        files = [p.name for p in folder.rglob("*") if p.is_file() and p.name != "setup.py"]
        assert (folder / "setup.py").is_file() or any(f.startswith(attack.exercises) for f in files), name


def test_the_run_finishes_writes_everything_and_exits_0(trust):
    run = trust["run"]
    assert run.returncode == 0, run.stderr[-4000:]
    assert trust["seconds"] < BOUND_SECONDS
    for name in ("grades.csv", "report.html", "run.json"):
        assert (trust["out"] / name).is_file(), name
    assert sorted(gradebook(trust["out"])) == sorted([HONEST, *(student(a) for a in GRADED)])
    assert "grader failed" not in run.stderr and "grader_failure" not in run.stdout
    assert "Traceback" not in run.stderr, run.stderr[-4000:]


def test_the_honest_student_keeps_full_marks_and_its_files(trust):
    book = gradebook(trust["out"])
    full = sum(rubric.load(e).max_points(hidden=True) for e in EXERCISES)
    assert float(book[HONEST]["total"]) == full, (trust["out"] / HONEST / "feedback.md").read_text()[:3000]
    assert set(statuses(trust["out"], HONEST).values()) == {"graded"}


@pytest.mark.parametrize("attack", GRADED)
def test_every_member_scores_zero(trust, attack):
    row = gradebook(trust["out"])[student(attack)]
    for exercise in ATTACKS[attack].exercises:
        assert float(row[exercise]) == 0, f"{attack} earned points on {earned(trust['out'], student(attack))}"
    assert float(row["total"]) == 0, f"{attack} earned points on {earned(trust['out'], student(attack))}"


@pytest.mark.parametrize("attack", [a for a in GRADED if ATTACKS[a].status or ATTACKS[a].words])
def test_every_member_gets_its_status_and_reason(trust, attack):
    expected = ATTACKS[attack]
    found = statuses(trust["out"], student(attack))
    feedback = (trust["out"] / student(attack) / "feedback.md").read_text()
    if expected.status:
        assert {e: found[e] for e in expected.exercises} == {e: expected.status for e in expected.exercises}, \
            feedback[:3000]
    for words in expected.words:
        assert words in feedback, f"{attack}: {words!r} is not in its feedback:\n{feedback[:3000]}"
    assert "grader_failure" not in found.values()


@pytest.mark.parametrize("attack", [a for a in MEMBERS if not ATTACKS[a].row])
def test_a_folder_named_like_an_output_has_no_row_and_is_named_on_stderr(trust, attack):
    name = folder_name(attack)
    assert name not in gradebook(trust["out"]) and student(attack) not in gradebook(trust["out"])
    assert f"{name}' is named like a file grading writes in OUT" in trust["run"].stderr
    assert not (trust["out"] / name).is_dir()
    for written in ("grades.csv", "report.html", "run.json"):
        assert (trust["out"] / written).is_file()


# --- what students made of themselves never reaches anyone as markup, commands or secrets -------------------------

FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, format characters (bidi), surrogates, line separators


def unsafe(text: str, keep: str = "\n") -> list[str]:
    return sorted({f"U+{ord(ch):04X}" for ch in text
                   if ch not in keep and ch not in "\u200c\u200d" and unicodedata.category(ch) in FORBIDDEN})


def test_the_terminal_shows_no_escapes_and_no_forged_line(trust):
    run = trust["run"]
    for stream in (run.stdout, run.stderr):
        assert unsafe(stream) == []
        for line in stream.splitlines():
            assert not line.startswith(("[ 2\u22159]", "honest: full marks", "# Feedback")), line
    table = [line for line in run.stdout.splitlines() if line.startswith(f"{HONEST} ")]
    assert len(table) == 1  # one row of the class table for the honest student, none forged
    progress = [line for line in run.stderr.splitlines() if re.match(r"\[\s*\d+/\d+\] honest: ", line)]
    assert len(progress) == 1, progress


def test_no_gradebook_cell_starts_a_formula(trust):
    with (trust["out"] / "grades.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    for row in rows:
        for cell in row:
            assert not cell.lstrip().startswith(tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")), row
    names = {row[0] for row in rows[1:]}
    for name in [HONEST, *(student(a) for a in GRADED)]:  # a formula gets a quote; any other name stays itself
        shown = terminal(name)  # controls and bidi characters visibly replaced: `cat grades.csv` runs nothing
        starts_formula = shown.lstrip(" \u200b").startswith(tuple("=+-@\t\r\n"))
        assert ("'" + shown if starts_formula else shown) in names, name


class Page(HTMLParser):
    """The tags, attributes, links (href and text) and each element's text of an HTML page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.links: list[tuple[str, str]] = []  # (href, the link's text)
        self.texts: dict[str, list[str]] = {}
        self.open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        if tag == "a":
            self.links.append((dict(attrs).get("href") or "", ""))
        if tag not in ("br", "img", "meta"):
            self.open.append(tag)
            self.texts.setdefault(tag, []).append("")

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data):
        for tag in set(self.open):
            self.texts[tag][-1] += data
        if "a" in self.open:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)


def test_report_links_are_relative_percent_encoded_paths_to_each_feedback(trust):
    out = trust["out"]
    page = Page((out / "report.html").read_text())
    assert "img" not in page.tags and "script" not in page.tags
    assert not [k for k, _ in page.attrs if k.startswith("on")]

    names = {terminal(name): name for name in [HONEST, *(student(a) for a in GRADED)]}  # as a reader sees it
    assert sorted(text for _, text in page.links) == sorted(names)
    for href, text in page.links:
        text = names[text]
        assert not urlsplit(href).scheme and not href.startswith(("/", "\\")) and "?" not in href and "#" not in href
        segments = href.split("/")
        assert [unquote(s, errors="strict") for s in segments] == [text, "feedback.html"], href
        assert all(re.fullmatch(r"[A-Za-z0-9._~%-]+", s) for s in segments), href
        assert (out / text / "feedback.html").is_file()


def test_feedback_has_the_graders_heading_and_score_once(trust):
    mistune = pytest.importorskip("mistune")
    full = sum(rubric.load(e).max_points(hidden=True) for e in EXERCISES)
    for attack in ("forged_heading_exception", "output_controls", "name_terminal_forgery", "name_html"):
        feedback = (trust["out"] / student(attack) / "feedback.md").read_text()
        page = Page(mistune.html(feedback))
        assert page.texts["h1"] == [f"Feedback for {terminal(student(attack))}".strip()], attack
        assert "script" not in page.tags and "img" not in page.tags, attack
        assert [t for t in page.texts["strong"] if t.startswith("Score")] == [f"Score: 0 / {full:g}"], attack
        assert "Feedback for honest" not in page.texts.get("h2", []) + page.texts.get("h3", []), attack


def test_what_the_code_printed_and_raised_loses_its_controls(trust):
    folder = trust["out"] / student("output_controls")
    feedback = (folder / "feedback.md").read_text()  # printed output and exception messages, fenced and cleaned
    assert unsafe(feedback, keep="\n\t") == []
    assert "OVERWRITTEN" in feedback and "evil" in feedback  # shown, made harmless
    printed = Page((folder / "feedback.html").read_text()).texts["details"]  # what the code printed, on the page
    assert len(printed) == 1 and "OVERWRITTEN" in printed[0] and unsafe(printed[0], keep="\n\t") == []


def test_the_graders_environment_reaches_no_output(trust):
    secret = trust["secret"].encode()
    run = trust["run"]
    assert secret.decode() not in run.stdout + run.stderr
    for path in trust["out"].rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    feedback = (trust["out"] / student("link_helper_environ") / "feedback.md").read_text()
    assert "root:" not in feedback  # /etc/shadow's first line


# --- nothing left behind -----------------------------------------------------------------------------------


def test_nothing_outlives_the_run_or_lands_outside_its_folders(trust):
    assert trust["leftovers"] == []
    assert trust["grader_run"].scratch() == []  # every sandbox folder of the run was removed
    assert tree(trust["submissions"]) == trust["before"]["submissions"]  # links, FIFOs and files untouched
    assert tree(ROOT / "reference") == trust["before"]["reference"]  # nothing was written through a link
    out = trust["out"]
    top = {p.name for p in out.iterdir()}
    assert top == {"grades.csv", "report.html", "run.json", HONEST, *(student(a) for a in GRADED)}
    for name in [HONEST, *(student(a) for a in GRADED)]:
        assert {p.name for p in (out / name).iterdir()} <= {"feedback.md", "feedback.html", "results.json",
                                                            "record.json", "figures"}, name
