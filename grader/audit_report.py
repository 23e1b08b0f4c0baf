"""What ``grader audit`` writes: the table per exercise, ``audit.json`` and the self-contained ``audit.html``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .audit import GRADED, STATUSES, Audit, Verdict
from .escaping import href, html_text, multiline, terminal
from .operators import KINDS
from .reports import atomic_write, fmt

COLUMNS = ("mutants", "killed", "survived", "equivalent", "timed_out", "error", "not_run")
HEADINGS = {"timed_out": "timed out", "error": "errors", "not_run": "not run"}


def counts(verdicts: list[Verdict]) -> dict[str, int]:
    """How many mutants had each status, and how many there were."""
    found = {status: 0 for status in STATUSES}
    for verdict in verdicts:
        found[verdict.status] += 1
    return {"mutants": len(verdicts), **found}


def killed_percent(row: dict[str, int]) -> float | None:
    """Killed (timed out included: it lost points too) of the mutants run that are not likely equivalent."""
    caught = row["killed"] + row["timed_out"]
    return None if caught + row["survived"] == 0 else 100.0 * caught / (caught + row["survived"])


def rows(audit: Audit) -> list[tuple[str, dict[str, int]]]:
    found = [(e.name, counts(audit.of(e.name))) for e in audit.exercises]
    return found + [("all", counts(audit.verdicts))]


def table(audit: Audit) -> str:
    """The table per exercise, as plain text for a terminal."""
    names = [name for name, _ in rows(audit)]
    width = max(len(n) for n in names)
    heads = [HEADINGS.get(c, c) for c in COLUMNS] + ["% killed"]
    lines = ["  ".join([f"{'exercise':<{width}}", *(f"{h:>9}" for h in heads)])]
    for name, row in rows(audit):
        percent = killed_percent(row)
        lines.append("  ".join([f"{terminal(name):<{width}}", *(f"{row[c]:>9}" for c in COLUMNS),
                                f"{'-' if percent is None else f'{percent:.1f}':>9}"]))
    lines.append("% killed = (killed + timed out) / (killed + timed out + survived): likely equivalent mutants, "
                 "errors and those not run are left out.")
    return "\n".join(lines + [f"note: {terminal(n)}" for n in audit.notes])


def mutant_json(verdict: Verdict, reference: str) -> dict:
    m = verdict.mutant
    return {"id": m.id, "exercise": m.exercise, "kind": m.kind, "function": m.function, "line": m.line,
            "description": m.description, "status": verdict.status, "points": verdict.points,
            "max_points": verdict.max_points, "seconds": round(verdict.seconds, 3), "message": verdict.message,
            "failed": verdict.failed, "passed": [p["id"] for p in verdict.passed], "difference": verdict.difference,
            "folder": verdict.folder, "diff": m.diff(reference)}


def audit_json(audit: Audit) -> str:
    summary = {}
    for name, row in rows(audit):
        percent = killed_percent(row)
        summary[name] = {**row, "killed_percent": None if percent is None else round(percent, 2)}
    return json.dumps({"settings": audit.settings, "seconds": round(audit.seconds, 1), "notes": audit.notes,
                       "interrupted": audit.interrupted, "exercises": summary,
                       "mutants": [mutant_json(v, audit.references[v.mutant.exercise]) for v in audit.verdicts]},
                      indent=1) + "\n"


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 75em; padding: 0 1em; color: #222; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; } h3 { margin: 1.2em 0 .2em; font-size: 1.05em; }
table { border-collapse: collapse; margin: .6em 0; } th, td { padding: .3em .7em; border-bottom: 1px solid #eee;
text-align: left; vertical-align: top; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; margin: .3em 0; } .add { color: #176b2c; }
.del { color: #a4161a; } .hunk { color: #555; } .note { color: #555; } code { background: #f3f3f3; }
"""


def _prose(text: str) -> str:
    """One line of text with its `code` spans set as code, escaped."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html_text(terminal(text)))


def _diff_html(diff: str) -> str:
    lines = []
    for line in multiline(diff).splitlines():
        css = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "")
        text = html_text(line)
        lines.append(f'<span class="{css}">{text}</span>' if css else text)
    return "<pre>" + "\n".join(lines) + "</pre>"


def _own_checks(verdict: Verdict) -> tuple[list[dict], int]:
    """The passed checks that call the mutated function or class directly, and how many others it passed."""
    owner = verdict.mutant.function.split(".")[0]
    own = [c for c in verdict.passed if c["target"] == verdict.mutant.function or c["target"].split(".")[0] == owner]
    return own, len(verdict.passed) - len(own)


def _mutant_html(verdict: Verdict, reference: str, with_checks: bool) -> list[str]:
    m = verdict.mutant
    link = href([GRADED, verdict.folder, "feedback.html"])
    body = [f'<h3 id="{html_text(m.id)}">{html_text(m.id)} <span class="note">({html_text(m.kind)}, '
            f'<code>{html_text(m.function)}</code>, line {m.line})</span></h3>',
            f"<p>{_prose(m.description)}. <a href=\"{link}\">its feedback</a></p>"]
    if verdict.difference:
        body.append(f"<p class=\"note\">{_prose(verdict.difference)}</p>")
    if verdict.status in ("timed_out", "error", "not_run") and verdict.message:
        body.append(f"<p class=\"note\">{html_text(terminal(verdict.message))}</p>")
    body.append(_diff_html(m.diff(reference)))
    if with_checks:
        own, others = _own_checks(verdict)
        items = "".join(f"<li><code>{html_text(c['id'])}</code>{' (hidden)' if c['hidden'] else ''}: "
                        f"{html_text(c['description'])} ({fmt(c['points'])} pt)</li>" for c in own)
        body.append(f"<p>Checks it passed{' of ' + html_text(m.function.split('.')[0]) if own else ''}:</p>"
                    + (f"<ul>{items}</ul>" if items else "<p class=\"note\">none calls it directly</p>")
                    + f"<p class=\"note\">and {others} other check(s) of the exercise</p>")
    return body


def audit_html(audit: Audit) -> str:
    """The table, then per exercise each survivor's diff and the checks it passed; equivalents, timeouts, errors."""
    heads = "".join(f"<th>{html_text(HEADINGS.get(c, c))}</th>" for c in COLUMNS)
    body = ["<h1>Rubric audit: mutants of the reference</h1>",
            f"<p class=\"note\">{len(audit.verdicts)} mutant(s), {audit.seconds / 60:.1f} min; settings: "
            f"<code>{html_text(json.dumps({k: v for k, v in audit.settings.items() if k != 'kinds'}))}</code></p>",
            *(f"<p><strong>{html_text(terminal(n))}</strong></p>" for n in audit.notes),
            f"<table><tr><th>exercise</th>{heads}<th>% killed</th></tr>"]
    for name, row in rows(audit):
        percent = killed_percent(row)
        cells = "".join(f'<td class="num">{row[c]}</td>' for c in COLUMNS)
        body.append(f"<tr><td>{html_text(name)}</td>{cells}<td class=\"num\">"
                    f"{'-' if percent is None else f'{percent:.1f}'}</td></tr>")
    body.append("</table><p class=\"note\">% killed = (killed + timed out) / (killed + timed out + survived). A "
                "mutant is <em>likely equivalent</em> when it kept full marks and every output of every check, "
                "visible and hidden, at every case equals the reference's (a few units in the last place); that "
                "proves nothing about inputs the rubric never tries.</p>")
    body.append("<h2>Kinds of mutant</h2><table>" + "".join(
        f"<tr><td><code>{html_text(k)}</code></td><td>{_prose(v)}</td></tr>" for k, v in KINDS.items()) + "</table>")
    for exercise in audit.exercises:
        verdicts = audit.of(exercise.name)
        reference = audit.references[exercise.name]
        survivors = [v for v in verdicts if v.status == "survived"]
        body.append(f"<h2>{html_text(exercise.name)}: {len(survivors)} survivor(s)</h2>")
        for verdict in survivors:
            body += _mutant_html(verdict, reference, with_checks=True)
        for status, title in (("equivalent", "likely equivalent"), ("timed_out", "timed out"),
                              ("error", "errors of the grader's own")):
            group = [v for v in verdicts if v.status == status]
            if group:
                body.append(f"<details><summary>{len(group)} {title}</summary>")
                for verdict in group:
                    body += _mutant_html(verdict, reference, with_checks=False)
                body.append("</details>")
        missing = [v.mutant.id for v in verdicts if v.status == "not_run"]
        if missing:
            body.append(f"<p class=\"note\">not run: {html_text(', '.join(missing))}</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rubric audit</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(audit: Audit, out: Path) -> None:
    """``OUT/audit.json`` and ``OUT/audit.html``."""
    atomic_write(Path(out) / "audit.json", audit_json(audit))
    atomic_write(Path(out) / "audit.html", audit_html(audit))
