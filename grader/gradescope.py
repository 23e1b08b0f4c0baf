"""Gradescope: the autograder archive (``setup.sh``, ``run_autograder``, the course) and grading one submission there.

Gradescope unpacks the archive into ``/autograder/source``, runs ``setup.sh`` once when the image
is built (it installs the course and checks the reference there), then ``run_autograder`` per submission with the student's files in
``/autograder/submission`` and expects ``/autograder/results/results.json``. ``run`` grades that
submission with the same sandbox and checks as ``grader grade`` and writes the file. The archive
carries the reference's stored results (``grader.preflight``), so no submission waits for the
reference to run while its key matches the container's.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tempfile
import zipfile
from pathlib import Path

from . import GraderError, deadlines, intake, rubric
from .course import FOLDER, Course
from .preflight import prepare

COURSE_FILES = ("pyproject.toml", "README.md")
COURSE_FOLDERS = ("grader", "reference", "exercises")
SKIPPED = re.compile(r"(__pycache__|\.pyc$|/examples/|/figures/)")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once while building the autograder image.
set -euo pipefail
apt-get update -q && apt-get install -y -q python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet /autograder/source/course
/autograder/venv/bin/pip install --quiet --no-deps recbole==1.2.1
# the reference passes every check here too; its results are stored for run_autograder (kept when the archive's match)
/autograder/venv/bin/grader --course /autograder/source/course preflight {only}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT and GRADER may be set to try it elsewhere.
set -euo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
grader="${{GRADER:-$root/venv/bin/grader}}"
exec "$grader" --course "$root/source/course" gradescope run {only}\\
    --submission "$root/submission" --results "$root/results/results.json"
"""


def build(course: Course, archive: Path, only: str | None = None, deadline: str | None = None,
          late_policy: str | None = None) -> list[str]:
    """Write the autograder zip; returns the names of the exercises it grades. ``deadline`` and ``late_policy``
    are checked here and passed to every run."""
    selected = rubric.select(only)
    exercises = [e.name for e in selected]
    rules = deadlines.Rules.from_options(deadline, late_policy)
    late = f"--deadline {shlex.quote(rules.deadline_text)} --late-policy {shlex.quote(rules.policy.text)} " \
        if rules else ""
    if archive.suffix != ".zip":
        raise GraderError(f"{archive}: the autograder archive must be a .zip file")
    archive.parent.mkdir(parents=True, exist_ok=True)
    stored = prepare(course, selected, "cpu")  # the reference proven on every check, its results kept
    tmp = archive.with_name(f".{archive.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP.format(only=f"--only {','.join(exercises)}")),
                           ("run_autograder", RUN.format(only=f"--only {','.join(exercises)} {late}"))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            z.writestr(info, text)
        for name in COURSE_FILES:
            z.write(course.root / name, f"course/{name}")
        for folder in COURSE_FOLDERS:
            for path in sorted((course.root / folder).rglob("*")):
                rel = path.relative_to(course.root).as_posix()
                if path.is_file() and not SKIPPED.search(f"/{rel}"):
                    z.write(path, f"course/{rel}")
        for record in stored.values():  # run_autograder reads these instead of running the reference
            for path in sorted(record.iterdir()):
                z.write(path, f"course/{FOLDER}/{record.name}/{path.name}")
    tmp.replace(archive)
    return exercises


def _student_name(submission: Path) -> str:
    """The submitter's name from Gradescope's metadata, or ``submission``."""
    try:
        meta = json.loads((submission.parent / "submission_metadata.json").read_text())
        name = meta["users"][0]["name"]
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
        return name if name and not intake.reserved(name) else "submission"
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "submission"


def _explain(document: dict, contents: intake.Contents, exercises: list[str]) -> None:
    """Say in ``document`` what the intake refused or left out, and when nothing was found at all."""
    for test in document.get("tests", []):
        exercise = test["name"].split(": ", 1)[0]
        if exercise in contents.refused:
            test["output"] = contents.refused[exercise]
    said = [*dict.fromkeys(contents.refused.values()), *contents.notes]
    if not contents.exercises and not contents.refused:
        said.insert(0, f"No exercise file was found in your submission; upload any of "
                       f"{', '.join(f'{e}.py' for e in exercises)} (or the .ipynb notebooks)")
    if said:
        document["output"] = ". ".join(line.rstrip(".") for line in said) + ". " + document.get("output", "")


def _metadata(submission: Path) -> bytes | None:
    """Gradescope's ``submission_metadata.json`` beside ``submission`` (Gradescope's own file), within a cap."""
    path = submission.parent / deadlines.GRADESCOPE_FILE
    try:
        if not path.is_file() or path.stat().st_size > deadlines.MAX_METADATA_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def run(course: Course, submission: Path, results: Path, only: str | None = None, device: str = "cpu",
        deadline: str | None = None, late_policy: str | None = None) -> dict:
    """Grade the files in ``submission`` (found at any depth, read by the intake: no link followed, the
    same caps as ``grader grade``) and write Gradescope's ``results.json``. With ``deadline``, the submission
    time is the ``created_at`` of Gradescope's metadata beside ``submission`` (never a file the student sent),
    and the score is after ``late_policy``'s penalty."""
    from .grading import grade_class

    if not submission.is_dir():
        raise GraderError(f"--submission {submission}: no such folder")
    exercises = [e.name for e in rubric.select(only)]
    contents = intake.read_folder(submission, exercises, depth=intake.DEEP_DEPTH)
    student = _student_name(submission)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        folder = Path(tmp, "class", student)
        folder.mkdir(parents=True)
        for name, content in contents.files.items():  # what the intake accepted, as plain files
            (folder / name).write_bytes(content)
        metadata = _metadata(submission) if deadline is not None else None
        if metadata is not None:  # where grade_class looks for a submission time
            (folder / deadlines.GRADESCOPE_FILE).write_bytes(metadata)
        out = Path(tmp, "out")
        code = grade_class(course, folder.parent, out, device=device, only=only, jobs=1, deadline=deadline,
                           late_policy=late_policy)
        document = json.loads((out / student / "results.json").read_text())
    _explain(document, contents, exercises)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {results}: {document['score']:g} / {document['max_score']:g}", file=sys.stderr)
    if code:
        raise GraderError("the grader failed on this submission (see results.json); it has been recorded")
    return document
