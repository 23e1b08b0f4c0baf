"""Calibration: the reference's training results over several seeds, each threshold's margin, and the baselines.

``grader calibrate`` runs every check judged by a ``Threshold`` (a trained model measured on
held-out data and on fresh inputs) against the reference at several seeds (each seed also draws
the fresh inputs), and records per measure the reference's worst, median and best result, how far
the worst lies beyond the threshold, and how each no-training baseline scores (its best seed). The
record is committed (``grader/calibration.json``); a test fails when a recorded margin is smaller
than the margin the rubric declares, when a threshold does not sit beyond every baseline (unless
the check verifies the asked model), or when the record no longer matches the rubric.
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

from . import GraderError, __version__, fresh, rubric
from .course import Course
from .payload import read_document
from .probes import run_case
from .rubric import Check, Exercise
from .thresholds import NOT_ASKED, Threshold

FORMAT = "course-pack calibration v2"
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
MIN_SEEDS = 5
FRESH_OFFSET = 1000  # calibration seed s draws the fresh inputs of seed 1000 + s


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


def _tensors(values: dict) -> dict:
    return {k: torch.as_tensor(v) if v is not None else None for k, v in values.items()}


def _score_or_none(measure, tensors: dict, inputs: dict) -> float | None:
    try:
        return measure.score(tensors, inputs)
    except ValueError:  # e.g. a constant sigma has no rank correlation: the baseline fails this measure
        return None


def calibrate_check(exercise: Exercise, check: Check, reference, device: str, seeds: list[int]) -> dict:
    """The reference's result on one training check at each seed (which also draws the fresh inputs, at
    ``FRESH_OFFSET`` + seed), the margin of the worst, and each baseline's results at the same seeds."""
    judge: Threshold = check.judge
    results, seconds, baselines = [], [], {name: [] for name in judge.baselines}
    previous = fresh.seed()
    try:
        for seed in seeds:
            fresh.set_seed(FRESH_OFFSET + seed)  # drawn as when grading: never the public draw students see
            case = replace(check.cases[0], seed=seed)
            inputs = check.make_inputs(case, device)
            outcome = run_case(check, case, reference, device)
            if not outcome.ok:
                raise GraderError(f"the reference fails to run {exercise.name}::{check.id} at seed {seed}: "
                                  f"{outcome.message}")
            verdict = judge.verdict(outcome, None, inputs, torch.device(device))
            if verdict.message.startswith(NOT_ASKED):
                raise GraderError(f"the reference is not the model {exercise.name}::{check.id} asks for at seed "
                                  f"{seed}: {verdict.message}")
            results.append(judge.scores(outcome.values, inputs))
            seconds.append(outcome.seconds)
            for name, baseline in judge.baselines.items():
                tensors = _tensors(baseline(inputs))
                baselines[name].append({m.metric: _score_or_none(m, tensors, inputs) for m in judge.measures})
    finally:
        fresh.set_seed(previous)
    measures = {}
    for m in judge.measures:
        values = [r[m.metric] for r in results]
        ordered = sorted(values, key=m.margin_of)
        scored = {}
        for name, runs in baselines.items():
            measured = [r[m.metric] for r in runs if r[m.metric] is not None]
            best = max(measured, key=m.margin_of) if measured else None  # None: it cannot even be measured
            scored[name] = {"values": [r[m.metric] for r in runs], "best": best,
                            "margin": None if best is None else m.margin_of(best)}
        measures[m.metric] = {"threshold": m.threshold, "higher_is_better": m.higher_is_better,
                              "required_margin": m.margin, "values": values, "worst": ordered[0],
                              "median": statistics.median(values), "best": ordered[-1],
                              "margin": m.margin_of(ordered[0]), "baselines": scored}
    return {"seeds": seeds, "seconds": seconds, "measures": measures, "baseline_margin": judge.baseline_margin,
            "asked_model": bool(judge.asked_model), "reference_sha256": file_sha256(reference.__file__)}


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
            for metric, m in entry["measures"].items():
                log(f"{exercise.name}::{check.id}: {metric}: worst {m['worst']:.4g}, threshold {m['threshold']:.4g}, "
                    f"margin {m['margin']:.4g} ({time.monotonic() - start:.1f} s)")
    return entries


def load(path: Path = CALIBRATION_FILE) -> dict:
    """The committed calibration record (an empty one when there is none)."""
    if not path.is_file():
        return {"format": FORMAT, "devices": {}}
    return read_document(path, FORMAT, "grader calibrate")


def save(entries: dict[str, dict], device: str, path: Path = CALIBRATION_FILE) -> None:
    """Record ``entries`` for ``device``, keeping the other devices' and exercises' records."""
    try:
        document = load(path)
    except GraderError:  # a record in an older format: calibrated again from scratch
        document = {"format": FORMAT, "devices": {}}
    record = document["devices"].setdefault(device, {})
    record.setdefault("checks", {}).update(entries)
    record["checks"] = dict(sorted(record["checks"].items()))
    record.update(torch=torch.__version__, grader=__version__, threads=torch.get_num_threads(),
                  date=time.strftime("%Y-%m-%d"))
    path.write_text(json.dumps(document, indent=1) + "\n")


def matches(record: dict | None, check: Check, reference_file: Path) -> bool:
    """Whether ``record`` calibrated this very check (same measures and thresholds) of this very reference file,
    with every margin the rubric asks for."""
    judge = check.judge
    if not record or not isinstance(judge, Threshold) or record.get("reference_sha256") != file_sha256(reference_file):
        return False
    measures = record.get("measures", {})
    return set(measures) == {m.metric for m in judge.measures} and all(
        (measures[m.metric]["threshold"], measures[m.metric]["higher_is_better"]) == (m.threshold, m.higher_is_better)
        and measures[m.metric]["margin"] >= m.margin for m in judge.measures)


def proven(exercise: Exercise, check: Check, reference_file: Path, device: str) -> bool:
    """Whether the committed calibration already shows the reference passing this training check on ``device``."""
    if not isinstance(check.judge, Threshold):
        return False
    try:
        record = load()["devices"].get(device, {}).get("checks", {}).get(f"{exercise.name}::{check.id}")
    except GraderError:
        return False
    return matches(record, check, reference_file)


def shortfalls(entries: dict[str, dict]) -> list[str]:
    """What the calibration shows wrong with the rubric: a reference too close to a threshold, or a threshold that a
    no-training baseline reaches (where the check does not verify the asked model)."""
    found = []
    for name, e in entries.items():
        for metric, m in e["measures"].items():
            if m["margin"] < m["required_margin"]:
                found.append(f"the reference's worst {metric} on {name} is {m['worst']:.4g}: only {m['margin']:.4g} "
                             f"beyond the threshold, less than the {m['required_margin']:.4g} the rubric requires")
            for baseline, b in m["baselines"].items():
                if not e["asked_model"] and b["margin"] is not None and b["margin"] > -e["baseline_margin"]:
                    found.append(f"{baseline} reaches {b['best']:.4g} on the {metric} of {name}: the threshold "
                                 f"{m['threshold']:.4g} must lie beyond it by {e['baseline_margin']:.4g}, or the check "
                                 "must verify the asked model")
    return found


def table(entries: dict[str, dict]) -> str:
    """The calibration as a text table: one row per measure of each training check, with its best baseline."""
    rows = [["check", "metric", "threshold", "worst", "median", "best", "margin", "required", "best baseline"]]
    for name, e in entries.items():
        for metric, m in e.get("measures", {}).items():
            op = ">=" if m["higher_is_better"] else "<="
            scored = {b: v for b, v in m.get("baselines", {}).items() if v["margin"] is not None}
            top = max(scored, key=lambda b: scored[b]["margin"]) if scored else None
            baseline = f"{top} {scored[top]['best']:.4g}" if top else "-"
            rows.append([name, metric, f"{op} {m['threshold']:.4g}", f"{m['worst']:.4g}", f"{m['median']:.4g}",
                         f"{m['best']:.4g}", f"{m['margin']:.4g}", f"{m['required_margin']:.4g}", baseline])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
