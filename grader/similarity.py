"""``grader similarity``: per exercise, the pairs of students whose code is most alike, for a person to look at.

Each student's file (read by the same intake as grading: no link followed, notebooks as their code) is
tokenised with variable, function and class names, strings and comments abstracted away, then cut
into k-grams whose hashes make a fingerprint (copydetect, the MOSS method; every k-gram kept). What the
released stub gives everyone is boilerplate: its fingerprints are left out. A pair's score is the
larger of the two shares of each file's fingerprinted tokens found in the other, so renamed
variables, reordered functions and new comments do not hide a copy, and a small file wholly inside
a larger one still ranks high. Nothing here changes a grade.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

from . import GraderError, rubric
from .course import Course
from .escaping import csv_cell, href, html_text, terminal
from .intake import FindSubmissions
from .reports import atomic_write

NOISE, GUARANTEE = 25, 25  # copydetect's defaults: every 25-token k-gram kept (a window of 1), so the fingerprints
# never depend on which hashes str.__hash__ draws (a random seed per process): the same class ranks the same always
TOP = 10  # pairs listed per exercise on the terminal and the page


@dataclass
class Pair:
    """Two students' files for one exercise and how much of each is found in the other."""

    exercise: str
    first: str
    second: str
    shares: tuple[float, float]  # of each file's fingerprinted tokens, the share found in the other
    tokens: int  # tokens of the first file in matched regions
    slices: tuple  # per file, 2xN arrays of [start, end) character offsets of the matched regions
    code: tuple[str, str]

    @property
    def score(self) -> float:
        return max(self.shares)


def _fingerprint(code: str, name: str, boilerplate):
    from copydetect.detector import CodeFingerprint

    return CodeFingerprint(name, NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate, fp=io.StringIO(code),
                           language="python")


def exercise_pairs(exercise: str, files: dict[str, str], stub: str) -> tuple[list[Pair], dict[str, str]]:
    """Every pair of ``files`` (student -> code), best first; and the students whose file could not be read."""
    from copydetect.detector import compare_files

    import numpy as np

    boilerplate = np.array(sorted(_fingerprint(stub, f"{exercise}.py", []).hashes)) if stub else []
    prints, unreadable = {}, {}
    for student, code in files.items():
        try:
            prints[student] = _fingerprint(code, f"{exercise}.py", boilerplate)
        except Exception as exc:  # the tokeniser failing on one file leaves the rest of the class
            unreadable[student] = f"{type(exc).__name__}: {str(exc)[:200]}"
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        tokens, shares, slices = compare_files(prints[a], prints[b])
        if tokens:
            pairs.append(Pair(exercise, a, b, (float(shares[0]), float(shares[1])), int(tokens), slices,
                              (files[a], files[b])))
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.first, p.second))
    return pairs, unreadable


def class_files(submissions: Path, out: Path, exercises: list[str]) -> dict[str, dict[str, str]]:
    """exercise -> student -> code, read through the intake; refused or missing files are left out."""
    found: dict[str, dict[str, str]] = {e: {} for e in exercises}
    for submission in FindSubmissions(submissions, out, exercises)():
        contents = submission.read()
        for exercise, filename in contents.exercises.items():
            if exercise in found and filename in contents.files:
                found[exercise][submission.student] = contents.files[filename].decode("utf-8", errors="replace")
    return found


def _highlighted(code: str, slices) -> str:
    """The code as HTML, every matched region in a ``<mark>``; the student's text escaped throughout."""
    parts, at = [], 0
    for start, end in sorted(zip(map(int, slices[0]), map(int, slices[1]))):
        start = max(start, at)
        if end <= start:
            continue
        parts += [html_text(code[at:start]), "<mark>", html_text(code[start:end]), "</mark>"]
        at = end
    parts.append(html_text(code[at:]))
    return "".join(parts)


STYLE = ("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
         "padding:.3em .6em;text-align:left}.side{display:flex;gap:1em}.side>div{flex:1;min-width:0}"
         "pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:85%}mark{background:#ffd54f}")


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html_text(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def _pair_page(pair: Pair) -> str:
    columns = "".join(f"<div><h2>{html_text(name)}: {share:.0%} found in the other</h2>"
                      f"<pre>{_highlighted(code, slices)}</pre></div>"
                      for name, share, code, slices in zip((pair.first, pair.second), pair.shares, pair.code,
                                                           pair.slices))
    return _page(f"{pair.exercise}: {pair.first} and {pair.second}",
                 f"<h1>{html_text(pair.exercise)}: {html_text(pair.first)} and {html_text(pair.second)}</h1>"
                 f"<p>Matched regions are marked. A match is a run of at least {NOISE} tokens alike once names, "
                 f"strings and comments are set aside; the released stub's code is not counted.</p>"
                 f"<div class=\"side\">{columns}</div>")


def write(out: Path, ranked: dict[str, list[Pair]], unreadable: dict[str, dict[str, str]], top: int) -> None:
    """``OUT/similarity.csv`` (every pair), ``OUT/similarity.html`` (the best ``top`` per exercise) and a
    side-by-side page per listed pair, ``OUT/<exercise>/pair-NNN.html``."""
    rows = io.StringIO()
    table = csv.writer(rows)
    table.writerow(["exercise", "rank", "first", "second", "score", "first_share", "second_share", "tokens"])
    sections = []
    for exercise, pairs in ranked.items():
        (out / exercise).mkdir(parents=True, exist_ok=True)
        for rank, pair in enumerate(pairs, 1):
            table.writerow([exercise, rank, csv_cell(pair.first), csv_cell(pair.second), f"{pair.score:.3f}",
                            f"{pair.shares[0]:.3f}", f"{pair.shares[1]:.3f}", pair.tokens])
        lines = []
        for rank, pair in enumerate(pairs[:top], 1):
            name = f"pair-{rank:03d}.html"
            atomic_write(out / exercise / name, _pair_page(pair))
            lines.append(f"<tr><td>{rank}</td><td><a href=\"{href([exercise, name])}\">{html_text(pair.first)} and "
                         f"{html_text(pair.second)}</a></td><td>{pair.score:.0%}</td><td>{pair.shares[0]:.0%} / "
                         f"{pair.shares[1]:.0%}</td><td>{pair.tokens}</td></tr>")
        skipped = "".join(f"<li>{html_text(s)}: {html_text(why)}</li>" for s, why in unreadable[exercise].items())
        sections.append(f"<h2>{html_text(exercise)}</h2>" + (
            "<table><tr><th>rank</th><th>students</th><th>score</th><th>shares</th><th>tokens</th></tr>"
            + "".join(lines) + "</table>" if lines else "<p>No pair shares a match.</p>")
            + (f"<p>Not compared (unreadable):</p><ul>{skipped}</ul>" if skipped else ""))
    atomic_write(out / "similarity.csv", rows.getvalue())
    atomic_write(out / "similarity.html", _page("Similarity", "<h1>Similarity across the class</h1><p>Pairs to "
                                                "look at, most alike first. A high score is a reason to read both "
                                                "files, not a verdict; grades are unchanged.</p>" + "".join(sections)))


def run(course: Course, submissions: Path, out: Path, only: str | None = None, top: int = TOP) -> dict[str, list[Pair]]:
    """Rank every exercise's pairs, write the reports, print the best ``top`` per exercise."""
    try:
        import copydetect  # noqa: F401
    except ImportError:
        raise GraderError("grader similarity needs copydetect: pip install -e '.[instructor]'") from None
    if top < 1:
        raise GraderError(f"--top {top}: give at least 1")
    exercises = [e.name for e in rubric.select(only)]
    files = class_files(submissions, out, exercises)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraderError(f"cannot create --out {out}: {exc}") from None
    ranked, unreadable = {}, {}
    for exercise in exercises:
        stub = course.exercises / f"{exercise}.py"
        ranked[exercise], unreadable[exercise] = exercise_pairs(
            exercise, files[exercise], stub.read_text() if stub.is_file() else "")
        print(f"{exercise}: {len(files[exercise])} file(s), {len(ranked[exercise])} pair(s) sharing a match",
              file=sys.stderr)
        for rank, pair in enumerate(ranked[exercise][:top], 1):
            print(f"  {rank:>2}. {pair.score:4.0%}  {terminal(pair.first)} / {terminal(pair.second)}  "
                  f"({pair.shares[0]:.0%} / {pair.shares[1]:.0%}, {pair.tokens} tokens)")
    write(out, ranked, unreadable, top)
    return ranked
