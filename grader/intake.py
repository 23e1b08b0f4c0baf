"""The intake of submissions: finding students and reading what they submitted, for every entry point."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from . import GraderError

KiB, MiB = 1024, 1024 ** 2
MAX_EXERCISE_BYTES = 1 * MiB  # one exercise's code (a .py file, or a notebook's code cells)
MAX_NOTEBOOK_BYTES = 16 * MiB  # one .ipynb as stored (outputs and images included)
MAX_HELPER_FILES = 32  # helper modules beside the exercise files ...
MAX_HELPER_BYTES = 1 * MiB  # ... and their size in all
MAX_ENTRIES = 10_000  # entries looked at in one student's folder tree
GRADE_DEPTH = 1  # `grader grade`: files in the student's folder or one folder down (nbgrader's layout)
DEEP_DEPTH = 8  # `grader gradescope run`: files found anywhere in the submission, this deep at most
# what a grading run writes at the top of OUT (grading.py, shards.py): no student folder may be named like one
OUTPUT_NAMES = ("grades.csv", "report.html", "run.json")
MAX_NAME_BYTES = 200  # a student's name in OUT, before the suffix that keeps names apart

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
LINKS = "links are not followed; submit the files themselves"


def max_total_bytes(exercises: int) -> int:
    """The most the intake lets into one sandbox for ``exercises`` selected exercises."""
    return exercises * MAX_EXERCISE_BYTES + MAX_HELPER_BYTES


def display_name(name: str) -> str:
    """The name a student goes by in OUT, the gradebook and the pages: the folder's own name when it is
    UTF-8 of a sane length, otherwise a readable form (replacement characters, shortened) with a
    hash of the raw bytes, so two folders never share one."""
    raw = os.fsencode(name)
    try:
        if len(raw) <= MAX_NAME_BYTES:
            return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    readable = raw.decode("utf-8", "replace").encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    return f"{readable}~{hashlib.sha256(raw).hexdigest()[:8]}"


def safe_text(text: str) -> str:
    """``text`` as valid UTF-8: bytes that were not (kept as surrogates) become ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def reserved(name: str) -> bool:
    """Whether a student folder named ``name`` would collide with a file the run writes at the top of OUT."""
    return name.casefold() in {n.casefold() for n in OUTPUT_NAMES}


def _kind(mode: int) -> str:
    for test, words in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return words
    return "not a regular file"


def _refusal(name: str, mode: int) -> str:
    if stat.S_ISLNK(mode):
        return f"{name} is a symbolic link: submit the file itself (links are not followed)"
    return f"{name} is {_kind(mode)}, not a file: submit the file itself"


# --- notebooks ---------------------------------------------------------------------------------


class NotebookError(ValueError):
    """A notebook that cannot become code; the message says what is wrong with it."""


def notebook_error(name: str, problem: str) -> bytes:
    """The code that stands for an unreadable notebook: importing it fails with the reason."""
    return f"raise ImportError({f'{name} is not a readable notebook: {problem}'!r})\n".encode("utf-8",
                                                                                             "backslashreplace")


def _what(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _cells_code(document) -> str:
    """The code of a parsed notebook: solution and set-up cells when it carries nbgrader's metadata
    (never its autograder test cells), otherwise every code cell; IPython magics commented out."""
    if not isinstance(document, dict):
        raise NotebookError(f"the file holds {_what(document)}, not a notebook object")
    cells = document.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"its \"cells\" is {_what(cells)}, not a list" if "cells" in document
                            else "it has no \"cells\"")
    code = []
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"cell {index} is {_what(cell)}, not an object")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookError(f"the source of cell {index} is {_what(source)}, not text")
        metadata = cell.get("metadata")
        marks = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        code.append((source, marks if isinstance(marks, dict) else None))
    if any(marks is not None for _, marks in code):  # nbgrader's autograder test cells never run
        code = [(s, m) for s, m in code if not (m and m.get("grade") and not m.get("solution"))]
    return "\n\n\n".join("\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) else line
                                   for line in source.splitlines()) for source, _ in code) + "\n"


def notebook_code(data: bytes, name: str) -> bytes:
    """A notebook's code as a Python file, or, for any other bytes, ``notebook_error``: never an exception."""
    try:
        text = _cells_code(json.loads(data))
        code = text.encode("utf-8")
    except NotebookError as exc:
        return notebook_error(name, str(exc))
    except RecursionError:
        return notebook_error(name, "its JSON is nested too deeply")
    except UnicodeError as exc:  # not UTF-8, or text with lone surrogates
        return notebook_error(name, f"it is not valid UTF-8 text ({str(exc)[:200]})")
    except ValueError as exc:
        return notebook_error(name, f"it is not JSON ({str(exc)[:200]})")
    if len(code) > MAX_EXERCISE_BYTES:
        return notebook_error(name, f"its code is {len(code)} bytes, more than the {MAX_EXERCISE_BYTES // KiB} KiB "
                                    "an exercise may have")
    return code


# --- reading one submission --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """Something found in a submission, as ``lstat`` saw it (links are never followed)."""

    parts: tuple[str, ...]  # the path below the submission's folder
    mode: int
    size: int
    to_folder: bool = False  # a link whose target is a folder

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def rel(self) -> str:
        return safe_text("/".join(self.parts))


@dataclass
class Contents:
    """What one submission gives the sandbox, and what was refused and why."""

    files: dict[str, bytes] = field(default_factory=dict)  # name in the sandbox -> bytes
    exercises: dict[str, str] = field(default_factory=dict)  # exercise -> its file's name in the sandbox
    refused: dict[str, str] = field(default_factory=dict)  # exercise -> why it is not graded
    notes: list[str] = field(default_factory=list)  # what the student should know about their helper files
    hashes: dict[str, str] = field(default_factory=dict)  # path below the folder -> sha256, or why it was not read

    @property
    def size(self) -> int:
        return sum(len(content) for content in self.files.values())

    @classmethod
    def refuse_all(cls, exercises: Sequence[str], reason: str) -> "Contents":
        return cls(refused={e: reason for e in exercises}, hashes={".": f"refused: {reason}"})


def _read_bytes(fd: int, limit: int) -> bytes:
    chunks, left = [], limit + 1
    while left > 0:
        chunk = os.read(fd, min(left, MiB))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Reader:
    """Read one submission's folder tree through directory file descriptors, never following a link."""

    def __init__(self, root_fd: int, exercises: Sequence[str], depth: int):
        self.root_fd, self.exercises, self.depth = root_fd, list(exercises), depth
        self.entries: list[Entry] = []
        self.truncated = False

    def __call__(self) -> Contents:
        self._walk(self.root_fd, (), 0)
        contents = Contents()
        if self.truncated:
            contents.notes.append(f"your submission holds more than {MAX_ENTRIES} files and folders: only the "
                                  "first were looked at")
        chosen: list[Entry] = []
        for exercise in self.exercises:
            entry = self._exercise_entry(exercise)
            if entry is None:
                links = [e for e in self.entries if e.to_folder]  # the file may be in there: say why it is not read
                if links:
                    shown = ", ".join(e.rel for e in links[:3]) + (" ..." if len(links) > 3 else "")
                    contents.refused[exercise] = (f"{exercise}.py was not found: {shown} is a symbolic link to a "
                                                  f"folder, and {LINKS}")
                    contents.hashes.update({e.rel: "symbolic link" for e in links})
                continue
            self._take_exercise(exercise, entry, contents)
            if exercise in contents.exercises:
                chosen.append(entry)
        self._take_helpers({e.parts[:-1] for e in chosen}, contents)
        return contents

    def _walk(self, fd: int, parts: tuple[str, ...], depth: int) -> None:
        try:
            with os.scandir(fd) as listing:
                found = []
                for item in listing:
                    if len(self.entries) + len(found) >= MAX_ENTRIES:
                        self.truncated = True
                        break
                    if not item.name.startswith("."):
                        found.append(item)
                for item in sorted(found, key=lambda i: i.name):
                    if len(self.entries) >= MAX_ENTRIES:  # sub-folders filled the count
                        self.truncated = True
                        break
                    try:
                        info = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    to_folder = stat.S_ISLNK(info.st_mode) and _is_folder(item.name, fd)
                    self.entries.append(Entry((*parts, item.name), info.st_mode, info.st_size, to_folder))
                    if stat.S_ISDIR(info.st_mode) and depth < self.depth and not item.name.startswith("_"):
                        self._descend(fd, (*parts, item.name), depth + 1)
        except OSError:  # an unreadable folder: what it holds is not there
            return

    def _descend(self, fd: int, parts: tuple[str, ...], depth: int) -> None:
        try:
            sub = os.open(parts[-1], _DIRECTORY, dir_fd=fd)
        except OSError:
            return
        try:
            self._walk(sub, parts, depth)
        finally:
            os.close(sub)

    def _exercise_entry(self, exercise: str) -> Entry | None:
        """The file an exercise is graded from: a ``.py`` before a notebook, the shallowest first."""
        names = (f"{exercise}.py", f"{exercise}.ipynb")
        candidates = [e for e in self.entries if e.name in names]
        return min(candidates, key=lambda e: (e.name.endswith(".ipynb"), len(e.parts), e.parts), default=None)

    def _take_exercise(self, exercise: str, entry: Entry, contents: Contents) -> None:
        notebook = entry.name.endswith(".ipynb")
        limit = MAX_NOTEBOOK_BYTES if notebook else MAX_EXERCISE_BYTES
        data, problem = self.read(entry, limit)
        if problem:
            contents.refused[exercise] = problem
            contents.hashes[entry.rel] = f"refused: {problem}"
            return
        contents.hashes[entry.rel] = hashlib.sha256(data).hexdigest()
        contents.files[f"{exercise}.py"] = notebook_code(data, entry.name) if notebook else data
        contents.exercises[exercise] = f"{exercise}.py"

    def _take_helpers(self, folders: set[tuple[str, ...]], contents: Contents) -> None:
        """The other ``*.py`` files beside the exercise files, within the caps, or none of them."""
        graded = {f"{e}.py" for e in self.exercises}
        helpers: dict[str, Entry] = {}
        for entry in sorted(self.entries, key=lambda e: (len(e.parts), e.parts)):
            stem, dot, suffix = entry.name.rpartition(".")
            if (entry.parts[:-1] in folders and dot and suffix == "py" and stem.isidentifier()
                    and entry.name not in graded and safe_text(entry.name) == entry.name):
                helpers.setdefault(entry.name, entry)
        plain = []
        for entry in helpers.values():
            if stat.S_ISREG(entry.mode):
                plain.append(entry)
            else:
                contents.notes.append(f"{entry.rel} was not copied: it is {_kind(entry.mode)} (only files are)")
                contents.hashes[entry.rel] = _kind(entry.mode)
        total = sum(e.size for e in plain)
        if len(plain) > MAX_HELPER_FILES or total > MAX_HELPER_BYTES:
            contents.notes.append(
                f"your {len(plain)} helper file(s) beside the exercise files ({total / KiB:.0f} KiB) are more than "
                f"the {MAX_HELPER_FILES} files and {MAX_HELPER_BYTES // KiB} KiB allowed: none of them was copied, "
                "so importing them fails; keep only the modules your exercises import")
            contents.hashes.update({e.rel: f"not read: {e.size} bytes" for e in plain})
            return
        budget = MAX_HELPER_BYTES
        for entry in plain:
            data, problem = self.read(entry, budget)
            if problem:
                contents.notes.append(f"{entry.rel} was not copied: {problem}")
                contents.hashes[entry.rel] = f"refused: {problem}"
                continue
            budget -= len(data)
            contents.files[entry.name] = data
            contents.hashes[entry.rel] = hashlib.sha256(data).hexdigest()

    def read(self, entry: Entry, limit: int) -> tuple[bytes, str]:
        """The bytes of a regular file at ``entry`` (no link on its way), or b"" and why it was refused."""
        if not stat.S_ISREG(entry.mode):
            return b"", _refusal(entry.rel, entry.mode)
        opened: list[int] = []
        fd = self.root_fd
        try:
            for part in entry.parts[:-1]:
                fd = os.open(part, _DIRECTORY, dir_fd=fd)
                opened.append(fd)
            fd = os.open(entry.name, _FILE, dir_fd=fd)
            opened.append(fd)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return b"", _refusal(entry.rel, info.st_mode)
            data = b"" if info.st_size > limit else _read_bytes(fd, limit)
            if info.st_size > limit or len(data) > limit:
                return b"", (f"{entry.rel} is {max(info.st_size, len(data)) / KiB:.0f} KiB, more than the "
                             f"{limit / KiB:.0f} KiB allowed: submit a smaller file")
            return data, ""
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):  # a link put in place after the listing
                return b"", f"{entry.rel} is a symbolic link, or a folder on its way is: {LINKS}"
            return b"", f"{entry.rel} could not be read ({exc.strerror or exc})"
        finally:
            for descriptor in opened:
                os.close(descriptor)


def _is_folder(name: str, dir_fd: int) -> bool:
    """Whether a link's target is a folder (a ``stat`` of the target; nothing is opened)."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd).st_mode)
    except (OSError, ValueError):
        return False


def read_folder(folder: Path, exercises: Sequence[str], depth: int = DEEP_DEPTH) -> Contents:
    """Read a submission whose folder is given by the grader's own configuration (it may itself be reached
    through a link, e.g. Gradescope's ``/autograder/submission``); below it no link is followed."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        return Contents.refuse_all(exercises, f"the submission's folder could not be read ({exc.strerror or exc})")
    try:
        return Reader(fd, exercises, depth)()
    finally:
        os.close(fd)


def read_student(parent: Path, name: str, exercises: Sequence[str], depth: int = GRADE_DEPTH) -> Contents:
    """Read the student folder ``name`` inside ``parent``; the folder itself must not be a link."""
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        return Contents.refuse_all(exercises, f"the submissions folder could not be read ({exc.strerror or exc})")
    try:
        fd = os.open(name, _DIRECTORY, dir_fd=parent_fd)
    except OSError as exc:
        reason = (f"your folder {safe_text(name)} is a symbolic link: {LINKS}" if exc.errno in (errno.ELOOP,
                  errno.ENOTDIR) else f"your folder {safe_text(name)} could not be read ({exc.strerror or exc})")
        return Contents.refuse_all(exercises, reason)
    finally:
        os.close(parent_fd)
    try:
        return Reader(fd, exercises, depth)()
    finally:
        os.close(fd)


def side_files(parent: Path, name: str, filename: str, limit: int,
               depth: int = GRADE_DEPTH) -> list[tuple[str, bytes, str]]:
    """Every plain file named ``filename`` in the student folder ``name`` of ``parent`` or down to ``depth``
    folders below, shallowest first, as (path below the folder, its bytes, why it was not read). What the
    submission systems leave beside the code (nbgrader's ``timestamp.txt``, Gradescope's
    ``submission_metadata.json``): read as data here, never copied into the sandbox, never hashed as code."""
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        fd = os.open(name, _DIRECTORY, dir_fd=parent_fd)
    except OSError:
        return []
    finally:
        os.close(parent_fd)
    try:
        reader = Reader(fd, (), depth)
        reader._walk(fd, (), 0)
        found = sorted((e for e in reader.entries if e.name == filename), key=lambda e: (len(e.parts), e.parts))
        return [(e.rel, *reader.read(e, limit)) for e in found]
    finally:
        os.close(fd)


# --- the students of a class -------------------------------------------------------------------


@dataclass
class Submission:
    """One student: ``student`` is the name used in OUT and every report (``display_name`` of the folder's),
    ``folder`` the folder on disk. ``exercises`` are the selected exercises; ``refusal`` refuses them all."""

    student: str
    folder: Path
    exercises: tuple[str, ...] = ()
    refusal: str = ""

    def read(self) -> Contents:
        """Read the folder now (nothing kept)."""
        if self.refusal:
            return Contents.refuse_all(self.exercises, self.refusal)
        return read_student(self.folder.parent, self.folder.name, self.exercises)

    @cached_property
    def contents(self) -> Contents:
        """What is graded: read once, so the files graded are the files hashed."""
        return self.read()


def file_hashes(submission: Submission) -> dict[str, str]:
    """The sha256 of every file of the submission that is graded (or why one was not read), by path."""
    return submission.contents.hashes


def _warn(message: str) -> None:
    print(f"grader: {message}", file=sys.stderr, flush=True)


class FindSubmissions:
    """One folder per student inside ``SUBMISSIONS``; hidden folders (``.``, ``_``) and caches are not students.

    A student folder that is a link is graded as refused (zero, with the reason, and a gradebook row). A
    folder named like a file the run writes in OUT (``OUTPUT_NAMES``), or shown under the same name as an
    earlier one, cannot have an OUT folder: it is reported on stderr and not graded (no gradebook row).
    """

    def __init__(self, folder: Path, out: Path, exercises: Sequence[str] = (),
                 warn: Callable[[str], None] = _warn):
        self.folder, self.out = folder.resolve(), out.resolve()
        self.exercises, self.warn = tuple(exercises), warn

    def __call__(self) -> list[Submission]:
        if not self.folder.is_dir():
            raise GraderError(f"{self.folder} is not a folder of submissions")
        if self.out == self.folder or self.folder in self.out.parents:
            raise GraderError(f"--out {self.out} is inside the submissions folder {self.folder}: "
                              "the next run would grade it as a student; choose another folder")
        folders = self._folders()
        if not folders:
            loose = [p.name for p in self.folder.glob("ex*.py")]
            hint = f" (it holds {', '.join(loose)} directly: put each student's files in a folder of their own)" \
                if loose else ""
            raise GraderError(f"{self.folder} holds no student folders{hint}")
        students: list[Submission] = []
        taken: set[str] = set()
        for name, linked in folders:
            student, where = display_name(name), self.folder / name
            if reserved(student) or student in taken:
                why = ("is named like a file grading writes in OUT" if reserved(student)
                       else "shows under the same name as another student folder")
                self.warn(f"the student folder {str(where)!r} {why}: it is not graded and has no gradebook row; "
                          "rename it and run the same command again (the others are kept)")
                continue
            taken.add(student)
            refusal = f"your folder {safe_text(name)} is a symbolic link: {LINKS}" if linked else ""
            students.append(Submission(student, where, self.exercises, refusal))
        return students

    def _folders(self) -> list[tuple[str, bool]]:
        """(name, is a link) of every student folder, sorted by name; links are looked at, never entered."""
        found = []
        try:
            with os.scandir(self.folder) as listing:
                for item in listing:
                    if item.name.startswith((".", "_")):
                        continue
                    try:
                        if item.is_dir(follow_symlinks=False):
                            found.append((item.name, False))
                        elif item.is_symlink() and item.is_dir(follow_symlinks=True):
                            found.append((item.name, True))
                    except OSError:
                        continue
        except OSError as exc:
            raise GraderError(f"{self.folder}: cannot list the submissions ({exc.strerror or exc})") from None
        return sorted(found, key=lambda f: os.fsencode(f[0]))


def select_students(students: Sequence[Submission], text: str, folder: Path) -> set[str]:
    """The students a comma-separated ``--students`` names, each the name of a student folder in ``folder``; an
    unknown name is an error listing the names closest to it."""
    import difflib

    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise GraderError(f"--students {text!r}: give one or more student folder names, comma-separated")
    known = [s.student for s in students]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = (f"close: {', '.join(close)}" if close else
                    f"the students are {', '.join(known[:8])}{' ...' if len(known) > 8 else ''}")
            raise GraderError(f"--students {text}: no student folder named {name!r} in {folder} ({hint})")
    return set(names)
