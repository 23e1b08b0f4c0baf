"""HTML pages: each student's ``feedback.html`` and the class's ``report.html``, self-contained (no network, images inlined)."""

from __future__ import annotations

import base64
import statistics
from collections import Counter

from .escaping import href, html_text, multiline, terminal
from .deadlines import counts, percent
from .reports import MISSING, STATUS_WORDS, StudentResult, fmt, late_cells, late_columns

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; } th, td { padding: .3em .7em; border-bottom: 1px solid #eee;
text-align: left; vertical-align: top; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.passed { color: #176b2c; } .failed, .error { color: #a4161a; } .not_implemented { color: #8a6d00; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; white-space: pre-wrap; margin: .3em 0; }
.bar { fill: #4a78b5; } .axis { font-size: 11px; fill: #444; } img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #555; }
"""


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html_text(title)}</title><style>{STYLE}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")


def _known(status: str) -> str:
    """A check's status as a CSS class: one of the statuses the grader gives, whatever a record holds."""
    return status if status in STATUS_WORDS else "error"


def _pre(text: str) -> str:
    """Multi-line student text (a message, what the code printed): escaped, its controls and bidi overrides
    replaced (``multiline``), so it can neither add markup nor reorder what a reader sees."""
    return f"<pre>{html_text(multiline(text).rstrip())}</pre>" if text.strip() else ""


def _line(text: str) -> str:
    """One line of student text (a name, the first line of a message): escaped and cleaned as ``terminal``."""
    return html_text(terminal(text))


def feedback_html(result: StudentResult) -> str:
    """Every check with its verdict, points and diagnostic; the student's figures; what their code printed."""
    body = [f"<h1>Feedback for {_line(result.student)}</h1>",
            f"<p><strong>Score: {fmt(result.points)} / {fmt(result.max_points)}</strong></p>"]
    if result.late is not None:
        if result.late.penalty:
            body[-1] = (f"<p><strong>Score: {fmt(result.final_points)} / {fmt(result.max_points)}</strong> "
                        f"(raw {fmt(result.points)}, late penalty -{percent(result.late.penalty)})</p>")
        body.append(f"<p class=\"note\">{_line(result.late_sentence())}</p>")
    body.append("<table><tr><th>exercise</th><th>points</th><th>status</th></tr>")
    for ex in result.exercises:
        note = ("" if ex.status == "graded" else MISSING if ex.status == "missing"
                else _line(ex.message.splitlines()[0] if ex.message else ex.status))
        body.append(f"<tr><td>{html_text(ex.exercise)}</td><td class=\"num\">{fmt(ex.points)} / "
                    f"{fmt(ex.max_points)}</td><td>{note}</td></tr>")
    body.append("</table>")
    for ex in result.exercises:
        body.append(f"<h2>{html_text(ex.exercise)}: {html_text(ex.title)} "
                    f"({fmt(ex.points)} / {fmt(ex.max_points)})</h2>")
        if ex.status == "missing":  # one line, not a verdict per check of code that was never there
            body.append(f"<p><strong>missing</strong>: {_line(ex.message or 'not submitted')}</p>")
            continue
        if ex.status != "graded" and ex.message:
            body.append(f"<p><strong>{html_text(multiline(ex.message))}</strong></p>")
        body.append("<table><tr><th>check</th><th>points</th><th>verdict</th><th>diagnostic</th></tr>")
        for c in ex.checks:
            hidden = " (hidden)" if c.hidden else ""
            detail = "" if ex.status != "graded" and c.message == ex.message else _pre(c.message)
            body.append(f"<tr><td><code>{html_text(c.check)}</code>{hidden}<br><span class=\"note\">"
                        f"{html_text(c.description)}</span></td><td class=\"num\">{fmt(c.points)} / {fmt(c.max_points)}"
                        f"</td><td class=\"{_known(c.status)}\">{STATUS_WORDS[_known(c.status)]}</td>"
                        f"<td>{detail}</td></tr>")
        body.append("</table>")
        for c in ex.checks:
            if c.figure:
                data = base64.b64encode(c.figure).decode()
                body.append(f"<figure><img alt=\"{html_text(ex.exercise)} {html_text(c.check)}\" "
                            f"src=\"data:image/png;base64,{data}\">"
                            f"<figcaption>{html_text(c.check)}</figcaption></figure>")
        if ex.output.strip():
            body.append(f"<details><summary>What your code printed</summary>{_pre(ex.output)}</details>")
    return _page(f"Feedback for {terminal(result.student)}", body)


def _histogram(percents: list[float], width: int = 600, height: int = 180, pad: int = 16) -> str:
    """An SVG bar chart of scores in ten bins of 10 percentage points (``pad`` leaves room for the counts)."""
    counts = [0] * 10
    for p in percents:
        counts[min(int(p // 10), 9)] += 1
    top = max(counts) or 1
    bar = width / 10
    parts = [f"<svg role=\"img\" aria-label=\"score histogram\" width=\"{width}\" height=\"{height + pad + 30}\" "
             f"xmlns=\"http://www.w3.org/2000/svg\"><g transform=\"translate(0 {pad})\">"]
    for i, n in enumerate(counts):
        h = height * n / top
        parts.append(f"<rect class=\"bar\" x=\"{i * bar + 2:.1f}\" y=\"{height - h:.1f}\" width=\"{bar - 4:.1f}\" "
                     f"height=\"{h:.1f}\"><title>{i * 10}-{i * 10 + 10}%: {n}</title></rect>")
        parts.append(f"<text class=\"axis\" x=\"{i * bar + bar / 2:.1f}\" y=\"{height + 14}\" "
                     f"text-anchor=\"middle\">{i * 10}%</text>")
        if n:
            parts.append(f"<text class=\"axis\" x=\"{i * bar + bar / 2:.1f}\" y=\"{height - h - 3:.1f}\" "
                         f"text-anchor=\"middle\">{n}</text>")
    parts.append("</g></svg>")
    return "".join(parts)


REASON_COLUMNS = ("graded", "missing", "refused", "import_error", "timeout", "memory", "crashed", "tamper",
                  "grader_failure")


def class_report_html(results: list[StudentResult], exercises: list[str], seconds: float) -> str:
    """Score histogram, per-check pass rates from the hardest, per-exercise failure reasons, grading time."""
    percents = [100 * r.points / r.max_points if r.max_points else 0.0 for r in results]
    body = ["<h1>Class report</h1>",
            f"<p>{len(results)} student(s); median score "
            f"{fmt(round(statistics.median(percents), 1)) if percents else '-'}%; "
            f"graded in {seconds:.1f} s ({seconds / max(1, len(results)):.1f} s per student on average).</p>",
            "<h2>Scores</h2>", _histogram(percents)]
    late = late_columns(results)
    with_late = [r.late for r in results if r.late is not None]
    if with_late:
        body.insert(2, f"<p>Deadline {html_text(with_late[0].deadline)}, late policy "
                       f"<code>{html_text(with_late[0].policy)}</code>: {html_text(counts(with_late))}. The scores "
                       "below are raw; the late penalty is shown beside them.</p>")

    attempts: Counter = Counter()
    passes: Counter = Counter()
    about: dict[tuple[str, str], tuple[str, bool]] = {}
    reasons = {e: Counter() for e in exercises}
    wrong = Counter()
    for r in results:
        for ex in r.exercises:
            reasons.setdefault(ex.exercise, Counter())[ex.status] += 1
            if ex.status == "missing":
                continue
            if any(c.status == "failed" for c in ex.checks):
                wrong[ex.exercise] += 1
            for c in ex.checks:
                key = (ex.exercise, c.check)
                attempts[key] += 1
                passes[key] += c.passed
                about[key] = (c.description, c.hidden)
    body.append("<h2>Checks, hardest first</h2><p class=\"note\">Pass rate among the students who submitted the "
                "exercise: the checks at the top are what to teach again.</p>")
    body.append("<table><tr><th>exercise</th><th>check</th><th>pass rate</th><th>passed</th></tr>")
    for key in sorted(attempts, key=lambda k: (passes[k] / attempts[k], k)):
        description, hidden = about[key]
        body.append(f"<tr><td>{html_text(key[0])}</td><td><code>{html_text(key[1])}</code>"
                    f"{' (hidden)' if hidden else ''}"
                    f"<br><span class=\"note\">{html_text(description)}</span></td>"
                    f"<td class=\"num\">{100 * passes[key] / attempts[key]:.0f}%</td>"
                    f"<td class=\"num\">{passes[key]} / {attempts[key]}</td></tr>")
    body.append("</table>")
    body.append("<h2>Exercises: what happened</h2><table><tr><th>exercise</th>"
                + "".join(f"<th>{c.replace('_', ' ')}</th>" for c in REASON_COLUMNS)
                + "<th>a wrong value</th><th>mean time</th></tr>")
    for name in exercises:
        times = [ex.seconds for r in results for ex in r.exercises if ex.exercise == name and ex.status != "missing"]
        mean = f"{statistics.mean(times):.1f} s" if times else "-"
        body.append(f"<tr><td>{html_text(name)}</td>"
                    + "".join(f"<td class=\"num\">{reasons[name][c]}</td>" for c in REASON_COLUMNS)
                    + f"<td class=\"num\">{wrong[name]}</td><td class=\"num\">{mean}</td></tr>")
    body.append("</table>")
    body.append("<h2>Students</h2><table><tr><th>student</th><th>score</th>"
                + ("<th>submitted</th><th>late</th><th>penalty</th><th>final</th>" if late else "")
                + "<th>time</th></tr>")
    for r in results:
        link = href([r.student, "feedback.html"])  # relative, each name percent-encoded whole
        submitted, how, penalty, final = late_cells(r)
        body.append(f"<tr><td><a href=\"{html_text(link)}\">{_line(r.student)}</a></td>"
                    f"<td class=\"num\">{fmt(r.points)} / {fmt(r.max_points)}</td>"
                    + (f"<td>{html_text(submitted)}</td><td>{html_text(how)}</td><td class=\"num\">"
                       f"{html_text(penalty)}</td><td class=\"num\">{html_text(final)} / {fmt(r.max_points)}</td>"
                       if late else "")
                    + f"<td class=\"num\">{r.seconds:.1f} s</td></tr>")
    body.append("</table>")
    return _page("Class report", body)
