"""What runs in the child process: import one submission file, run its exercise's probes, send plain outcomes.

Nothing here decides a score. Results go to the grader over the pipe on file descriptor 3 as
frames (``NAME[-NNN] LENGTH\\n`` and the bytes: ``importing``, then ``import_error`` or, per check,
``start-NNN`` and ``check-NNN`` holding a safetensors file, and ``done``), each as soon as it is
ready, so a timeout or a crash keeps what was finished. The grader reads them strictly and judges.

A worker started with ``--gate`` (the class grader starts the next exercise's child while one runs)
waits, its jail built and its setup done, until the grader writes its go on fd 5, and only then
reads the student's file; a gate closed unopened ends it.

Everything the worker uses after the student's import (the checks, their probes and input
builders, the functions that run them and send results) it takes before it, and it snapshots the
grader's code in the process (``grader/guard.py``). After the import and after each check it
compares the process with the snapshot and puts back what student code changed; from the first
change on, no check runs: each sends an error saying so, and ``done`` carries the list of changes
(``{"changed": [...]}``; an empty body when nothing changed), which the grader turns into a
``tamper`` verdict. Torch's global settings (grad mode, default dtype...) are put back after the
import and after each check; what a check's function left behind is noted on that check's outcomes
(``grader/torchstate.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from grader.jail import GATE  # a gated worker's gate (grader/sandbox.py: Sandbox.start)

CHANNEL = 3


def send(name: str, body: bytes = b"", index: int | None = None) -> None:
    head = f"{name}-{index:03d}" if index is not None else name
    data = f"{head} {len(body)}\n".encode() + body
    while data:
        written = os.write(CHANNEL, data)
        data = data[written:]


def _opened() -> bool:
    """Wait on the gate for the grader's go (a byte); False when it closed the gate unopened."""
    go = os.read(GATE, 1)  # retried by Python when a signal interrupts it
    os.close(GATE)
    return bool(go)


CHANGED = ("your code changed the grader's own code in its process ({what}); the grader put it back, but nothing "
           "that process reports after such a change can be trusted, so this check scores zero")


def describe_changes(changed: tuple[str, ...]) -> str:
    """The first few changes the guard found, for a message."""
    shown = ", ".join(label[:200] for label in changed[:3])
    return shown + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.worker")
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hidden", action="store_true")
    parser.add_argument("--gate", action="store_true", help="wait for the grader's go on fd GATE before the import")
    args = parser.parse_args(argv)

    import torch  # noqa: F401  (imported before the student's folder joins sys.path)

    from dataclasses import replace
    from types import FunctionType

    from grader import guard, rubric, torchstate
    from grader.course import import_file
    from grader.payload import Outcome, encode_outcomes
    from grader.probes import describe_import_error, run_check

    # What runs after the import is taken now, as local names student code cannot rebind: the worker's
    # own copies of the checks, the functions it calls, and the guard's code (called through a function
    # made afresh each time, so that a replaced __code__ or __defaults__ on guard.changes does not matter).
    exercise = rubric.load(args.exercise)
    checks = tuple(replace(check) for check in exercise.selected(hidden=args.hidden))
    device, path, exercise_name, write, describe = args.device, args.file, args.exercise, send, describe_changes
    settings, put_back, note, noted = torchstate.take, torchstate.restore, torchstate.note, torchstate.noted
    tools = (run_check, describe_import_error, encode_outcomes, Outcome, import_file, write, describe,
             settings, put_back, note, noted)
    rubric_module = f"{rubric.RUBRIC_PACKAGE}.{exercise.name}"
    snapshot = guard.take({"grader.worker": globals(), rubric_module: vars(sys.modules[rubric_module]),
                           "the worker's tools": tools, "the worker's checks": checks,
                           "grader.guard.changes": guard.changes})
    fresh, code, defaults = FunctionType, guard.changes.__code__, guard.changes.__defaults__

    if args.gate and not _opened():
        os._exit(0)  # the grader let this child go unused
    sys.path.append(str(path.parent))
    write("importing")
    initial = settings()
    try:
        module = import_file(path, exercise_name)
    except BaseException as exc:  # a student file may raise anything while importing
        write("import_error", json.dumps({"message": describe_import_error(exc, path)}).encode())
        return 0
    changed = fresh(code, {}, "changes", defaults)(snapshot)
    if not changed:
        put_back(initial)  # torch's global settings (grad mode, default dtype...) as the checks expect them
    for index, check in enumerate(checks):
        write("start", index=index)
        if not changed:
            before, outcomes = settings(), None
            try:
                outcomes = run_check(check, module, device)
            except BaseException:  # an exception that cannot be described
                pass
            changed = fresh(code, {}, "changes", defaults)(snapshot)
            try:  # the settings this check's function left behind are put back, and told on its own check
                left = "" if changed else note(f"`{check.target}`", put_back(before))
                body = encode_outcomes(noted(outcomes, left))
            except BaseException:  # a return value that cannot be read
                body = encode_outcomes([Outcome("error", message="the grader could not read what your code returned "
                                                "or raised here") for _ in check.cases])
        if changed:
            message = CHANGED.format(what=describe(changed))
            body = encode_outcomes([Outcome("error", message=message) for _ in check.cases])
        write("check", body, index=index)
    changed = changed or fresh(code, {}, "changes", defaults)(snapshot)
    write("done", json.dumps({"changed": [label[:200] for label in changed[:50]]}).encode() if changed else b"")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ and atexit hooks cannot matter now


if __name__ == "__main__":
    sys.exit(main())
