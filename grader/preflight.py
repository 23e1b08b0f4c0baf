"""The reference checked against its own rubric, once: its expected values stored by digest and reused.

``Preflight`` runs the reference on every case of every check of an exercise and refuses to grade when
it fails one of its own checks. What it computed (the expected values, and the reference's Jacobians
that gradient checks anchor on) depends only on the reference, the rubric, the grader's code, the
seeds, the data, the library versions and the device: ``Store`` keeps it under a key made of all of
these (``key``), so the next run, on this machine or in a Gradescope container built from the same
archive, reads it instead of running the reference again. Anything changed gives another key: a
stored record is never served for what it was not computed from, and one that does not read back
exactly as written is ignored and computed again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

import grader

from . import GraderError, calibration, data, fresh, sources
from .checks import GradcheckConsistent, judge_check
from .course import Course, location
from .expected import Expectations
from .payload import Outcome, PayloadError, encode_outcomes, read_outcomes
from .probes import run_check
from .rubric import Exercise
from .torchstate import exclusive

FORMAT = "course-pack stored reference v1"
LIBRARIES = ("torch", "torchvision", "numpy", "statsmodels", "matplotlib", "safetensors", "mlxtend", "recbole")
MAX_RECORD_BYTES = 1 << 30
KEEP = 3  # records kept per exercise (and data packs): this key's and the latest others (another device, seed)


def digest(course: Course, exercises: list[Exercise]) -> str:
    """sha256 of what decides the verdicts: the grader's code, the rubrics, calibration and the references."""
    package = Path(grader.__file__).resolve().parent
    files = [(f"grader/{p.relative_to(package).as_posix()}", p) for p in sorted(
        [*package.glob("*.py"), *package.glob("rubrics/*.py"), package / "calibration.json"])]
    files += [(f"reference/{name}.py", course.reference / f"{name}.py") for name in sorted(e.name for e in exercises)]
    h = hashlib.sha256()
    for name, path in files:  # named from their folders: the same files give the same digest wherever they are
        if path.is_file():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _versions() -> str:
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=absent")
    return f"python={sys.version_info[:3]};" + ";".join(found)


@functools.lru_cache(maxsize=1)
def _data_files() -> bytes:
    """The content of every raw data source the checks read (a few MB), by path."""
    h = hashlib.sha256()
    for source in sources.raw_sources():
        paths = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        for path in paths:
            h.update(str(path.relative_to(source.parent)).encode() + b"\0")
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.digest()


def key(course: Course, exercise: Exercise, device: str) -> str:
    """What the reference's results for ``exercise`` on ``device`` depend on, as one sha256."""
    h = hashlib.sha256(FORMAT.encode() + b"\0")
    for part in (digest(course, [exercise]), exercise.name, str(device), str(fresh.seed()), _versions()):
        h.update(part.encode() + b"\0")
    h.update(_data_files())
    return h.hexdigest()


def pack_key(course: Course) -> str:
    """What the children's data pack depends on (the grader's code, the fresh seed, the data, the libraries)."""
    h = hashlib.sha256(FORMAT.encode() + b"\0data pack\0")
    for part in (digest(course, []), str(fresh.seed()), _versions()):
        h.update(part.encode() + b"\0")
    h.update(_data_files())
    return h.hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """Records of the reference's results, one folder per exercise and key, and the children's data pack by
    its key; each written whole or not at all.

    A record is ``manifest.json`` (the key, and per check which cases have values) beside one safetensors
    file per check for the expected values and one for the anchors, read back as strictly as a child's
    results (``payload.read_outcomes``). The pack (inputs only, never answers) is used again only when its
    bytes hash as recorded.
    """

    def __init__(self, root: Path | None):
        self.root = root

    @classmethod
    def opened(cls, root: Path | None) -> "Store":
        """The store at ``root``, its folder made (owner-only); without one where it cannot be made."""
        if root is not None:
            try:
                root.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                print(f"note: no store of the reference's results at {root} ({exc}); it is checked every run",
                      file=sys.stderr)
                root = None
        return cls(root)

    def folder(self, exercise: Exercise, digest_key: str) -> Path:
        return self.root / f"{exercise.name}-{digest_key[:24]}"

    def load(self, exercise: Exercise, digest_key: str, device: str,
             reference: Callable[[], object]) -> Expectations | None:
        """The stored expectations under ``digest_key``, or None (none stored, or not readable as written)."""
        if self.root is None:
            return None
        folder = self.folder(exercise, digest_key)
        if not folder.is_dir():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("format") != FORMAT or manifest.get("key") != digest_key \
                    or manifest.get("exercise") != exercise.name:
                raise PayloadError("its manifest is for something else")
            expectations = Expectations(exercise, device, reference=reference)
            checks = {c.id: (i, c) for i, c in enumerate(exercise.selected(hidden=True))}
            for check_id, entry in manifest["checks"].items():
                index, check = checks[check_id]
                present = entry["expected"]
                if not isinstance(present, list) or len(present) != len(check.cases):
                    raise PayloadError(f"check {check_id!r} has the wrong number of cases")
                read = iter(read_outcomes(folder / f"expected-{index:03d}", sum(map(bool, present)), MAX_RECORD_BYTES))
                expectations.preset(check_id, [next(read).values if p else None for p in present])
                if entry.get("anchors"):
                    anchors = read_outcomes(folder / f"anchors-{index:03d}", len(check.cases), MAX_RECORD_BYTES)
                    expectations.anchors[check_id] = [o.values for o in anchors]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, PayloadError) as exc:
            print(f"note: the stored results in {folder} are not usable ({type(exc).__name__}: {str(exc)[:200]}); "
                  "computing them again", file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)  # so that this run's record takes its place
            return None
        return expectations

    def save(self, exercise: Exercise, digest_key: str, expectations: Expectations, seconds: float) -> None:
        """Write the record (a failure to write costs only the next run's time: it is said, not raised)."""
        if self.root is None:
            return

        def fill(tmp: Path) -> dict:
            checks = {}
            for index, check in enumerate(exercise.selected(hidden=True)):
                computed = expectations.computed(check.id)
                if computed is None:
                    continue
                (tmp / f"expected-{index:03d}").write_bytes(
                    encode_outcomes([Outcome(values=v) for v in computed if v is not None]))
                anchors = expectations.anchors.get(check.id)
                if anchors is not None:
                    (tmp / f"anchors-{index:03d}").write_bytes(encode_outcomes([Outcome(values=v) for v in anchors]))
                checks[check.id] = {"expected": [v is not None for v in computed], "anchors": anchors is not None}
            return {"exercise": exercise.name, "key": digest_key, "device": str(expectations.device),
                    "grader_version": grader.__version__, "seconds": round(seconds, 3),
                    "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "checks": checks}

        self._keep(self.folder(exercise, digest_key), fill)

    def write_pack(self, path: Path, pack_digest_key: str) -> Path | None:
        """The children's data pack at ``path`` (``data.write_pack``): the stored one under the same key when its
        bytes are those recorded, else written here and stored. Returns the stored pack's folder (None: no store)."""
        folder = self.root / f"data-{pack_digest_key[:24]}" if self.root is not None else None
        if folder is not None and folder.is_dir():
            try:
                manifest = json.loads((folder / "manifest.json").read_text())
                stored = folder / "pack.safetensors"
                if manifest.get("format") != FORMAT or manifest.get("key") != pack_digest_key \
                        or manifest.get("sha256") != _sha256_file(stored):
                    raise ValueError("its bytes are not the ones recorded")
                shutil.copyfile(stored, path)
                return folder
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                print(f"note: the stored data pack in {folder} is not usable ({exc}); writing it again",
                      file=sys.stderr)
                shutil.rmtree(folder, ignore_errors=True)
        data.write_pack(path)
        if folder is not None:
            def fill(tmp: Path) -> dict:
                shutil.copyfile(path, tmp / "pack.safetensors")
                return {"key": pack_digest_key, "sha256": _sha256_file(path)}

            self._keep(folder, fill)
        return folder

    def _keep(self, folder: Path, fill: Callable[[Path], dict]) -> None:
        """Store ``folder``, whole or not at all: ``fill`` writes its files into a new folder and returns its
        manifest, then the folder is renamed into place."""
        tmp = None
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=self.root))
            manifest = fill(tmp)
            (tmp / "manifest.json").write_text(json.dumps({"format": FORMAT, **manifest}, indent=1) + "\n")
            try:
                os.rename(tmp, folder)
                tmp = None
            except OSError:  # another run stored it first
                pass
            self._prune(folder.name.rsplit("-", 1)[0])
        except OSError as exc:
            print(f"note: could not store {folder.name} in {self.root} ({exc}); the next run computes it again",
                  file=sys.stderr)
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    def _prune(self, kind: str) -> None:
        """Keep the ``KEEP`` newest records of a kind (an exercise, or the data pack): older keys are never asked
        for again once the grader, the references or the libraries moved on, and a pack is 20 MB."""
        records = sorted((p for p in self.root.glob(f"{kind}-*") if p.is_dir() and len(p.name) == len(kind) + 25),
                         key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in records[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)


class Preflight:
    """The reference's expected values for every check, computed once; the reference must earn full marks.

    A training check is not re-run when the committed calibration shows this very reference file
    passing it on this device over several seeds (``grader calibrate``). With a ``store``, a record
    under the same key is used instead of running the reference (``records``: each exercise's folder).
    """

    def __init__(self, course: Course, device: str, store: Store | None = None):
        self.course, self.device, self.store = course, device, store or Store(None)
        self.records: dict[str, Path] = {}

    def __call__(self, exercise: Exercise) -> Expectations:
        begin = time.monotonic()
        digest_key = key(self.course, exercise, self.device) if self.store.root is not None else ""
        if self.store.root is not None:
            self.records[exercise.name] = self.store.folder(exercise, digest_key)
        found = self.store.load(exercise, digest_key, self.device, lambda: self.course.reference_module(exercise.name))
        if found is not None:
            print(f"reference: {exercise.name} was checked by an earlier run with the same reference, rubric, "
                  f"grader, data and libraries; its stored results are used", file=sys.stderr)
            return found
        reference = self.course.reference_module(exercise.name)
        expectations = Expectations(exercise, self.device, reference=reference)
        for check in exercise.selected(hidden=True):
            if calibration.proven(exercise, check, Path(reference.__file__), self.device):
                continue
            expected = expectations.for_check(check)
            if not check.judge.needs_reference:
                with exclusive(self.device):  # the reference runs here, in a thread beside the students' judges
                    outcomes = run_check(check, reference, self.device)
                if isinstance(check.judge, GradcheckConsistent):  # the student's Jacobians meet the reference's here
                    expectations.anchors[check.id] = [o.values for o in outcomes]
                result = judge_check(exercise.name, check, outcomes, expected, self.device,
                                     expectations.anchors.get(check.id))
                if not result.passed:
                    raise GraderError(f"the reference fails its own check {exercise.name}::{check.id}: "
                                      f"{result.message}\nFix reference/ or the rubric before grading.")
        self.store.save(exercise, digest_key, expectations, time.monotonic() - begin)
        return expectations


def prepare(course: Course, exercises: list[Exercise], device: str = "cpu") -> dict[str, Path]:
    """Check the reference on every check of ``exercises`` as a grading run does (its secret fresh inputs) and
    store its results and the children's data pack; returns each exercise's record folder and the pack's
    (under ``"data"``), where the store is kept."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise GraderError("--device cuda: no CUDA device is available here")
    store = Store.opened(location(course))
    previous = fresh.seed()
    fresh.set_seed(fresh.secret_seed(course.reference))
    try:
        preflight = Preflight(course, device, store)
        for exercise in exercises:
            print(f"checking the reference on {device} for {exercise.name} ...", file=sys.stderr)
            preflight(exercise)
        folders = dict(preflight.records)
        if store.root is not None:
            pack = Path(tempfile.mkdtemp(prefix=".pack-", dir=store.root))
            try:
                folders["data"] = store.write_pack(pack / "pack.safetensors", pack_key(course))
            finally:
                shutil.rmtree(pack, ignore_errors=True)
        return folders
    finally:
        fresh.set_seed(previous)
