"""Classes larger than one machine: a deterministic share of the students per shard, and merging the shards back."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from . import GraderError
from .escaping import terminal
from .pages import class_report_html
from .reports import RECORD, StudentResult, atomic_write, class_table, gradebook_csv, load_record

RUN = "run.json"  # what a grading run wrote into OUT: its settings, its shard, its students
# what must be equal for shards to form one gradebook (cores, and so threads per child, may differ between machines)
SAME_ACROSS_SHARDS = ("grader_version", "grader_digest", "device", "exercises", "data_split_seed", "case_seeds",
                      "fresh_inputs")


def parse(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N), with 1 <= I <= N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise GraderError(f"--shard {text}: write it as I/N, e.g. 2/5 for the second of five shards") from None
    if not 1 <= index <= count:
        raise GraderError(f"--shard {text}: I must be between 1 and N")
    return index, count


def owner(student: str, count: int) -> int:
    """The shard (1..count) that grades ``student``: a hash of the name, so adding a student moves no other."""
    return int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big") % count + 1


def comparable(settings: dict) -> dict:
    limits = {name: {k: v for k, v in lim.items() if k in ("wall_seconds", "memory_bytes")}
              for name, lim in settings.get("limits", {}).items()}
    return {**{k: settings.get(k) for k in SAME_ACROSS_SHARDS}, "limits": limits}


def write_run(out: Path, settings: dict, shard: tuple[int, int] | None, students: list[str],
              timing: dict | None = None, late: dict | None = None) -> None:
    """``late``: the run's ``--deadline`` and ``--late-policy`` (None without a deadline); not a setting, since
    it changes no verdict, but shards merged into one gradebook must agree on it."""
    atomic_write(out / RUN, json.dumps({"settings": settings, "shard": list(shard) if shard else None,
                                        "students": students, "timing": timing or {}, "late": late}, indent=1) + "\n")


def read_run(folder: Path) -> dict:
    try:
        run = json.loads((folder / RUN).read_text())
        if not {"settings", "students", "shard"} <= run.keys():
            raise KeyError(RUN)
        return run
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise GraderError(f"{folder} holds no finished grading run ({RUN} is missing or unreadable): "
                          "grade that shard (again) first") from None


def merge(folders: list[Path], out: Path) -> list[StudentResult]:
    """Combine shard outputs into ``out``: one gradebook, every student's folder. Returns the results in order."""
    if not folders:
        raise GraderError("merge: give the output folders of the shards")
    runs = {folder: read_run(folder) for folder in folders}
    first_folder, first = next(iter(runs.items()))
    for folder, run in runs.items():
        a, b = comparable(first["settings"]), comparable(run["settings"])
        differ = [k for k in a if a[k] != b[k]]
        if differ:
            raise GraderError(f"merge: {folder} was graded with other {', '.join(differ)} than {first_folder}; "
                              "grade every shard with the same grader, rubrics, seeds and limits")
        if run.get("late") != first.get("late"):
            raise GraderError(f"merge: {folder} was graded with another --deadline or --late-policy than "
                              f"{first_folder} ({run.get('late')} against {first.get('late')}); grade every shard "
                              "with the same (the students are kept: only the reports are written again)")
    shards = [tuple(run["shard"]) if run["shard"] else (1, 1) for run in runs.values()]
    count = shards[0][1]
    if any(n != count for _, n in shards) or sorted(i for i, _ in shards) != list(range(1, count + 1)):
        raise GraderError(f"merge: the shards given are {', '.join(f'{i}/{n}' for i, n in shards)}; "
                          f"give each of 1/{count} .. {count}/{count} once")
    results: dict[str, StudentResult] = {}
    for folder, run in runs.items():
        for student in run["students"]:
            if student in results:
                raise GraderError(f"merge: {terminal(student)} was graded in two shards")
            result = load_record(folder / student / RECORD)
            if result is None:
                raise GraderError(f"merge: {terminal(folder / student / RECORD)} is missing or unreadable")
            results[student] = result
    out.mkdir(parents=True, exist_ok=True)
    for folder, run in runs.items():
        for student in run["students"]:
            target = out / student
            if target.resolve() != (folder / student).resolve():
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(folder / student, target)
    ordered = [results[name] for name in sorted(results)]
    names = first["settings"]["exercises"]
    atomic_write(out / "grades.csv", gradebook_csv(ordered, names))
    atomic_write(out / "report.html", class_report_html(ordered, names, sum(r.seconds for r in ordered)))
    write_run(out, first["settings"], None, [r.student for r in ordered], late=first.get("late"))
    print(class_table(ordered, names))
    return ordered
