"""Student text is data wherever it lands: the gradebook, the terminal, Markdown feedback, the HTML pages."""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader import cli
from grader.checks import CheckResult
from grader.escaping import (UNSAFE_IN_LINE, UNSAFE_IN_TEXT, csv_cell, fence, href, html_text, md_inline, multiline,
                             terminal)
from grader.grading import Progress
from grader.pages import class_report_html, feedback_html
from grader.pytest_plugin import CheckFailed, CheckItem
from grader.reports import ExerciseResult, StudentResult, class_table, feedback_markdown, gradebook_csv
from grader.sandbox import OutputTail

NASTY = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\t=1", "\r=1", " =1", "\u200b=1", "\uff1d1", "a;=1",
         "a,@b", "javascript:alert(1)", "<script>alert(1)</script>", "\n[ 2/9] honest: 100 / 100", "\x1b[31mred",
         "\u202eevil", "a\u2066b\u2069c", "\n# Score: 100 / 100\n**Score: 999**", "```\n# fake\n```", "~~~",
         "- item", "1. item", "> quote", "![x](http://x)", "[x](javascript:alert(1))", "a|b", "\\|", "&amp;",
         "x\x85y\u2028z\u2029", "../x", 'a"b', "a'b", "\x00\x7f\x9b", "Zoë Ångström", "محمد\u200cرضا", "李雷"]
MARKUP = list("=+-@\t\r\n`~#*_[]<>!|\\&$;, .:/\"'") + ["\x1b", "\x85", "\x9b", "\u202e", "\u2066", "\u200b",
                                                       "\ufeff", "\u2028", "\uff1d", "\u061c", "\x00"]
text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY),
                 st.text(alphabet=st.sampled_from(MARKUP + list("ab1")), max_size=40),
                 st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=20)))
names = text.filter(lambda s: s not in ("", ".", ".."))  # what a folder can be named (the file system says the rest)

FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}
JOINERS = {"\u200c", "\u200d"}


def forbidden(ch: str, keep: str = "") -> bool:
    return ch not in keep and ch not in JOINERS and unicodedata.category(ch) in FORBIDDEN


def test_the_unsafe_characters_are_every_control_format_surrogate_and_separator():
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        assert bool(UNSAFE_IN_LINE.match(ch)) >= forbidden(ch), f"U+{code:04X} passes"
        assert bool(UNSAFE_IN_TEXT.match(ch)) == (bool(UNSAFE_IN_LINE.match(ch)) and ch not in "\t\n")
    ordinary = "".join(chr(c) for c in range(0x20, 0x7f)) + "Zoë Ångström 李雷 محمد\u200cرضا"
    assert not UNSAFE_IN_LINE.search(ordinary)


# --- CSV -------------------------------------------------------------------------------------------

def blank(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in FORBIDDEN


def starts_a_formula(cell: str) -> bool:
    """Whether some spreadsheet, splitting at any of , ; tab or a line break, could see a cell start a formula."""
    for piece in re.split(r"[,;\t\r\n]", cell):
        first = next((ch for ch in piece if not blank(ch)), "")
        if first and first in "=+-@\uff1d\uff0b\uff0d\uff20":
            return True
    return cell[:1] in ("\t", "\r", "\n")


def result(name: str, message: str = "", output: str = "", messages=("", "", ""), status: str = "graded",
           figure: bytes | None = b"\x89PNG\r\n\x1a\n") -> StudentResult:
    """A student with two exercises: one whose checks fail, pass and err, one that passes with a figure."""
    first = ExerciseResult("ex01_first", "First steps", status, message, [
        CheckResult("ex01_first", "c0", "f", "the first check", 2, False, "failed", messages[0]),
        CheckResult("ex01_first", "c1", "f", "the second check", 1, True, "passed", messages[1]),
        CheckResult("ex01_first", "c2", "f", "the third check", 1, False, "error", message)], output)
    second = ExerciseResult("ex02_second", "Second steps", "graded", "", [
        CheckResult("ex02_second", "d0", "g", "a plot", 3, False, "passed", messages[2], figure=figure)], output[::-1])
    return StudentResult(name, [first, second], seconds=1.5)


EXERCISES = ["ex01_first", "ex02_second"]


@settings(max_examples=150, deadline=None)
@given(st.lists(names, min_size=1, max_size=4))
@example([f"{n}x" for n in NASTY] + NASTY)
def test_no_gradebook_cell_starts_a_formula_and_every_name_is_recognisable(students):
    rows = list(csv.reader(io.StringIO(gradebook_csv([result(n) for n in students], EXERCISES), newline="")))
    assert len(rows) == len(students) + 1
    for name, row in zip(students, rows[1:]):
        cell = row[0]
        assert not starts_a_formula(cell), (name, cell)
        assert cell.replace("'", "") == terminal(name).replace("'", "")  # the name, its controls visibly replaced
        assert not UNSAFE_IN_LINE.search(cell)  # `cat grades.csv` runs no escape sequence
        assert [float(x) for x in row[1:]] == [1, 3, 4, 7]  # the grader's numbers stay numbers


def test_a_formula_gets_a_quote_and_a_plain_name_none():
    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("+1") == "'+1" and csv_cell(" -1") == "' -1"
    assert csv_cell("a;=1") == "a;'=1"  # a spreadsheet that splits at ; sees a cell start there
    assert csv_cell("Zoë Ångström") == "Zoë Ångström" and csv_cell("a-b=c") == "a-b=c"
    assert csv_cell("\udcff=1") == "\ufffd=1"  # an undecodable byte of a folder name: the file stays UTF-8


# --- the terminal ----------------------------------------------------------------------------------

def clean_line(line: str) -> bool:
    return not any(forbidden(ch) for ch in line)


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=5))
@example(NASTY)
def test_the_class_table_has_one_clean_line_per_student(students):
    table = class_table([result(n) for n in students], EXERCISES)
    assert len(table.split("\n")) == len(table.splitlines()) == len(students) + 1
    assert all(clean_line(line) for line in table.split("\n"))
    for name, line in zip(students, table.split("\n")[1:]):
        assert line.startswith(terminal(name).rstrip()) and line.endswith("4/7")


class Bar:
    def set_postfix_str(self, text):
        self.postfix = text

    def update(self, n):
        pass

    def close(self):
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=5))
@example(NASTY)
def test_the_progress_log_has_one_clean_line_per_student(students):
    err = io.StringIO()
    stderr, sys.stderr = sys.stderr, err
    try:
        progress = Progress(len(students))
        for n in students:
            progress.update(result(n))
        progress.bar = Bar()  # what a terminal shows: the bar's postfix
        progress.update(result(students[0]))
    finally:
        sys.stderr = stderr
    lines = err.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(err.getvalue().splitlines()) == len(students)
    assert all(clean_line(line) and line.endswith("4 / 7 (1.5 s)") for line in lines[:-1])
    assert clean_line(progress.bar.postfix) and "\n" not in progress.bar.postfix


@given(text)
@example("a\x1b[31mb\u202ec\r\nd")
def test_terminal_text_is_one_line_of_the_same_visible_characters(value):
    line = terminal(value)
    assert len(line.splitlines()) <= 1 and clean_line(line) and len(line) == len(value)
    for shown, original in zip(line, value):  # each character is itself, or visibly replaced
        assert shown == original or (shown, original) == (" ", "\t") or shown == "\ufffd"
        assert shown in ("\ufffd", " ") or not forbidden(original)


# --- Markdown --------------------------------------------------------------------------------------

FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")


def fenced(markdown: str) -> tuple[list[str], list[str]]:
    """CommonMark's fenced code blocks: (the lines outside them, each block's text); every block must be closed."""
    outside, blocks, opening, body = [], [], None, []
    for line in re.split(r"\r\n|\r|\n", markdown):
        if opening is None:
            match = FENCE_OPEN.match(line)
            if match and not (match[1][0] == "`" and "`" in match[2]):
                opening, body = match[1], []
            else:
                outside.append(line)
        else:
            match = FENCE_CLOSE.match(line)
            if match and match[1][0] == opening[0] and len(match[1]) >= len(opening):
                blocks.append("\n".join(body))
                opening = None
            else:
                body.append(line)
    assert opening is None, "a fence is never closed"
    return outside, blocks


def unescaped(line: str, char: str) -> int:
    """How many times ``char`` occurs in ``line`` without a backslash escaping it."""
    count, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        count += line[i] == char
        i += 1
    return count


def unescape(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


GRADER_LINES = ("", "# Feedback for ", "**Score: ", "| ", "|---", "## ", "### `", "![", "<details><summary>",
                "</details>")
HEADINGS = {"## ex01_first: First steps (1 / 4)", "## ex02_second: Second steps (3 / 3)", "### `c0`: the first check",
            "### `c1`: the second check", "### `c2`: the third check", "### `d0`: a plot"}


@settings(max_examples=150, deadline=None)
@given(names, text, text, st.tuples(text, text, text), st.sampled_from(["graded", "import_error", "timeout", "tamper"]))
@example("\n# Score: 100 / 100\n**Score: 999**", "\n# Score: 100 / 100\n**Score: 999**", "```\n# x\n````\n~~~",
         ("| a | b |\n### `c9`: x", "x\n\n## ex", "<details>"), "import_error")
def test_feedback_markdown_keeps_student_text_in_escaped_cells_or_closed_fences(name, message, output, messages,
                                                                               status):
    markdown = feedback_markdown(result(name, message, output, messages, status))
    outside, blocks = fenced(markdown)
    assert all(line.startswith(GRADER_LINES) for line in outside)
    headings = [line for line in outside if line.startswith("#")]
    assert headings[0] == f"# Feedback for {md_inline(name)}" and unescape(headings[0][15:]) == terminal(name)
    assert len(headings) == len(set(headings)) and set(headings[1:]) <= HEADINGS
    assert [line for line in outside if line.startswith(("*", "**Score"))] == ["**Score: 4 / 7**"]
    for line in outside:
        if line.startswith("|"):
            assert unescaped(line, "|") == 4, line  # three cells: nothing a student wrote opens a fourth
        if not line.startswith(("<details>", "</details>")):
            assert unescaped(line, "<") == 0 and unescaped(line, ">") == 0, line
        assert clean_line(line)
    if output.strip():
        assert multiline(output).rstrip() in blocks
    if status != "graded" and message.strip():
        assert multiline(message).rstrip() in blocks
    if messages[0].strip():
        assert multiline(messages[0]).rstrip() in blocks


@settings(max_examples=60, deadline=None)
@given(names, text, st.tuples(text, text, text))
@example("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", ("[x](javascript:alert(1))", "*a* _b_", "~~s~~"))
@example("\xa0", "", ("", "", ""))
@example(" \u2003x\u2003 ", "", ("", "", ""))
def test_rendered_feedback_markdown_has_only_the_graders_markup(name, message, messages):
    mistune = pytest.importorskip("mistune")
    page = mistune.html(feedback_markdown(result(name, message, message, messages, "import_error")))
    parsed = Page(page)
    assert set(parsed.tags) <= {"h1", "h2", "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code",
                                "pre", "img", "details", "summary"}, parsed.tags
    assert parsed.tags.count("h1") == 1 and parsed.tags.count("h2") == 2 and parsed.tags.count("img") == 1
    # a heading's text is stripped of spaces and tabs only (CommonMark): a name ending in another space stays whole
    assert parsed.texts["h1"] == [f"Feedback for {terminal(name)}".strip(" \t")]
    assert parsed.urls == [] and parsed.sources == ["figures/ex02_second.d0.png"]


@given(text)
@example("````\n```\n~~~~")
def test_a_fence_holds_any_text_and_nothing_inside_closes_it(value):
    outside, blocks = fenced(fence(value))
    assert outside == [] and blocks == [multiline(value).rstrip()]


@given(text)
def test_md_inline_is_one_line_that_reads_back_as_the_terminal_text(value):
    line = md_inline(value)
    assert len(line.splitlines()) <= 1 and unescape(line) == terminal(value)
    assert not re.match(r"\s*([-+=>#]|\d+[.)])", line)  # never a list item, heading or quote


# --- HTML --------------------------------------------------------------------------------------------

class Page(HTMLParser):
    """Every start tag, every link and image address, every class, and the text inside each kind of tag."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.urls, self.sources, self.classes, self.stack = [], [], [], set(), []
        self.texts: dict[str, list[str]] = {}
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        if "href" in attributes:
            self.urls.append(attributes["href"])
        if "src" in attributes:
            self.sources.append(attributes["src"])
        self.classes.update((attributes.get("class") or "").split())
        if tag not in ("br", "img", "meta"):
            self.stack.append(tag)
            self.texts.setdefault(tag, []).append("")

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.stack:
            self.texts[self.stack[-1]][-1] += data


HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "strong", "table", "tr", "th", "td",
             "code", "br", "span", "pre", "details", "summary", "figure", "img", "figcaption", "svg", "g", "rect",
             "title", "text", "a"}
CLASSES = {"num", "note", "bar", "axis", "passed", "failed", "error", "not_implemented"}


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=4, unique=True), text, text)
@example(["javascript:alert(1)", "../x", 'a"b', "<script>", "//evil.example", "a\\b", "%2e%2e", "?q#f"], "<b>", "&lt;")
def test_html_links_are_relative_and_student_text_reads_back_cleaned(students, message, output):
    results = [result(n, message, output, (message, message, message), "import_error") for n in students]
    report = Page(class_report_html(results, EXERCISES, 3.0))
    assert set(report.tags) <= HTML_TAGS and report.classes <= CLASSES
    assert len(report.urls) == len(students)
    for name, url in zip(students, report.urls):
        assert not urlsplit(url).scheme and not url.startswith(("/", "\\")) and ":" not in url.split("/")[0]
        segments = url.split("/")
        assert [unquote(s, errors="strict") for s in segments] == [name, "feedback.html"]
        assert not {unquote(s) for s in segments} & {".", ".."}
    assert report.texts["a"] == [terminal(n) for n in students]  # what a reader sees: no bidi, no controls

    for name, r in zip(students, results):
        page = Page(feedback_html(r))
        assert set(page.tags) <= HTML_TAGS and page.classes <= CLASSES and page.urls == []
        assert all(src.startswith("data:image/png;base64,") for src in page.sources)
        shown = f"Feedback for {terminal(name)}"
        assert page.texts["h1"] == [shown] and page.texts["title"] == [shown]
        if message.strip():
            assert multiline(message).rstrip() in page.texts["pre"] and multiline(message) in page.texts["strong"]
        if output.strip():
            assert multiline(output).rstrip() in page.texts["pre"]
            assert multiline(output[::-1]).rstrip() in page.texts["pre"]


def test_a_status_no_grader_gives_is_never_a_class():
    r = result("ada")
    r.exercises[0].checks[0].status = 'x" onmouseover="alert(1)'
    page = Page(feedback_html(r))
    assert page.classes <= CLASSES


def test_a_link_leads_to_the_folder_of_any_name_and_nowhere_else():
    assert href(["javascript:alert(1)", "feedback.html"]) == "javascript%3Aalert%281%29/feedback.html"
    assert href(["../x"]) == "..%2Fx" and href(['a"b']) == "a%22b" and href(["a b"]) == "a%20b"
    undecodable = b"caf\xe9".decode("utf-8", "surrogateescape")  # a Latin-1 folder name on a UTF-8 system
    assert unquote_to_bytes(href([undecodable])) == b"caf\xe9"
    assert html_text(undecodable) == "caf\ufffd"
    for part in ("", ".", ".."):
        with pytest.raises(ValueError, match="href"):
            href([part])


# --- what a child printed, the student's own terminal, the instructor's errors ---------------------

@settings(max_examples=100, deadline=None)
@given(text)
@example("ok\x1b[31m\x9b31m\u202eevil\u2066\u200b\ufeff\u061c\u200e\x85\n\tend\r\n")
def test_captured_output_drops_c1_controls_and_bidi_and_keeps_lines_and_tabs(value):
    tail = OutputTail(limit=10_000)
    tail.feed(value.encode())
    shown = tail.text()
    assert shown == multiline(value)
    assert not any(forbidden(ch, keep="\n\t") for ch in shown)
    assert shown.count("\n") == value.replace("\r\n", "\n").count("\n") + value.replace("\r\n", "").count("\r")


def test_the_students_own_pytest_shows_a_message_without_escapes():
    shown = CheckItem.repr_failure(None, SimpleNamespace(value=CheckFailed("wrong:\n\x1b[2J\x1b]0;pwned\x07\u202eok")))
    assert shown == "wrong:\n\ufffd[2J\ufffd]0;pwned\ufffd\ufffdok"


def test_an_error_naming_a_folder_reaches_the_terminal_without_escapes(tmp_path, capsys):
    folder = tmp_path / "shard\x1b[31m\u202e"
    folder.mkdir()
    assert cli.main(["merge", str(folder), "--out", str(tmp_path / "out")]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "grader: error:" in err and "holds no finished grading run" in err
    assert "\x1b" not in err and "\u202e" not in err and "shard\ufffd[31m\ufffd" in err


def test_names_of_digits_and_commas_are_not_formulas_and_stay_as_they_are():
    for name in ("2024_alice", "a,1x", "a-b", "x.y", "3", "r2d2", "a;b", "O'Brien"):
        assert csv_cell(name) == name, name
