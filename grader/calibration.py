"""Calibration: the reference's training results over several seeds, and each threshold's margin.

``grader calibrate`` runs every check judged by a ``Threshold`` (a trained model measured on
held-out data) against the reference at several seeds, and records per check the reference's
worst, median and best result and how far the worst lies beyond the threshold. The record is
committed (``grader/calibration.json``); a test fails when a recorded margin is smaller than the
margin the rubric declares, or when the record no longer matches the rubric.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from . import GraderError, __version__, rubric
from .checks import Threshold
from .course import Course
from .payload import read_document
from .probes import run_case
from .rubric import Check, Exercise

FORMAT = "course-pack calibration v1"
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
MIN_SEEDS = 5


def training_checks(exercise: Exercise) -> list[Check]:
    """The checks of an exercise whose verdict is a calibrated threshold."""
    return [c for c in exercise.checks if isinstance(c.judge, Threshold)]


def seeds_for(check: Check, n: int) -> list[int]:
    """The check's own seeds first, then 0, 1, 2, ... until there are ``n``."""
    seeds = list(dict.fromkeys(c.seed for c in check.cases))
    candidate = 0
    while len(seeds) < n:
        if candidate not in seeds:
            seeds.append(candidate)
        candidate += 1
    return seeds


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def calibrate_check(exercise: Exercise, check: Check, reference, device: str, seeds: list[int]) -> dict:
    """The reference's result on one training check at each seed, and the margin of the worst."""
    judge: Threshold = check.judge
    values, seconds = [], []
    for seed in seeds:
        case = replace(check.cases[0], seed=seed)
        outcome = run_case(check, case, reference, device)
        if not outcome.ok:
            raise GraderError(f"the reference fails to run {exercise.name}::{check.id} at seed {seed}: "
                              f"{outcome.message}")
        values.append(judge.score(outcome.values, check.make_inputs(case, device)))
        seconds.append(outcome.seconds)
    ordered = sorted(values, key=judge.margin_of)
    return {
        "metric": judge.metric, "threshold": judge.threshold, "higher_is_better": judge.higher_is_better,
        "required_margin": judge.margin, "seeds": seeds, "values": values,
        "worst": ordered[0], "median": statistics.median(values), "best": ordered[-1],
        "margin": judge.margin_of(ordered[0]), "seconds": seconds,
        "reference_sha256": file_sha256(reference.__file__),
    }


def calibrate(course: Course, device: str = "cpu", n_seeds: int = MIN_SEEDS, only: str | None = None,
              log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, dict]:
    """Calibrate every training check of the selected exercises; returns entries by ``exercise::check``."""
    if device == "cuda" and not torch.cuda.is_available():
        raise GraderError("--device cuda: no CUDA device is available here")
    if n_seeds < MIN_SEEDS:
        raise GraderError(f"--seeds {n_seeds}: calibration needs at least {MIN_SEEDS} seeds")
    entries = {}
    for exercise in rubric.select(only):
        checks = training_checks(exercise)
        if not checks:
            continue
        reference = course.reference_module(exercise.name)
        for check in checks:
            start = time.monotonic()
            entry = calibrate_check(exercise, check, reference, device, seeds_for(check, n_seeds))
            entries[f"{exercise.name}::{check.id}"] = entry
            log(f"{exercise.name}::{check.id}: worst {entry['worst']:.4g}, threshold {entry['threshold']:.4g}, "
                f"margin {entry['margin']:.4g} ({time.monotonic() - start:.1f} s)")
    return entries


def load(path: Path = CALIBRATION_FILE) -> dict:
    """The committed calibration record (an empty one when there is none)."""
    if not path.is_file():
        return {"format": FORMAT, "devices": {}}
    return read_document(path, FORMAT, "grader calibrate")


def save(entries: dict[str, dict], device: str, path: Path = CALIBRATION_FILE) -> None:
    """Record ``entries`` for ``device``, keeping the other devices' and exercises' records."""
    document = load(path)
    record = document["devices"].setdefault(device, {})
    record.setdefault("checks", {}).update(entries)
    record["checks"] = dict(sorted(record["checks"].items()))
    record.update(torch=torch.__version__, grader=__version__, threads=torch.get_num_threads(),
                  date=time.strftime("%Y-%m-%d"))
    path.write_text(json.dumps(document, indent=1) + "\n")


def matches(record: dict | None, check: Check, reference_file: Path) -> bool:
    """Whether ``record`` calibrated this very check (same threshold and metric) of this very reference file."""
    judge = check.judge
    return bool(record) and isinstance(judge, Threshold) \
        and (record["threshold"], record["higher_is_better"], record["metric"]) == \
        (judge.threshold, judge.higher_is_better, judge.metric) \
        and record.get("reference_sha256") == file_sha256(reference_file) and record["margin"] >= judge.margin


def proven(exercise: Exercise, check: Check, reference_file: Path, device: str) -> bool:
    """Whether the committed calibration already shows the reference passing this training check on ``device``."""
    if not isinstance(check.judge, Threshold):
        return False
    try:
        record = load()["devices"].get(device, {}).get("checks", {}).get(f"{exercise.name}::{check.id}")
    except GraderError:
        return False
    return matches(record, check, reference_file)


def table(entries: dict[str, dict]) -> str:
    """The calibration as a text table: one row per training check."""
    rows = [["check", "metric", "threshold", "worst", "median", "best", "margin", "required"]]
    for name, e in entries.items():
        op = ">=" if e["higher_is_better"] else "<="
        rows.append([name, e["metric"], f"{op} {e['threshold']:.4g}", f"{e['worst']:.4g}", f"{e['median']:.4g}",
                     f"{e['best']:.4g}", f"{e['margin']:.4g}", f"{e['required_margin']:.4g}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
