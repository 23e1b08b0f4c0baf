"""What runs in the child process: import one submission file, run its exercise's probes, send plain outcomes.

Nothing here decides a score. Results go to the grader over the pipe on file descriptor 3 as
frames (``NAME[-NNN] LENGTH\\n`` and the bytes: ``importing``, then ``import_error`` or, per check,
``start-NNN`` and ``check-NNN`` holding a safetensors file, and ``done``), each as soon as it is
ready, so a timeout or a crash keeps what was finished. The grader reads them strictly and judges.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

CHANNEL = 3


def send(name: str, body: bytes = b"", index: int | None = None) -> None:
    head = f"{name}-{index:03d}" if index is not None else name
    data = f"{head} {len(body)}\n".encode() + body
    while data:
        written = os.write(CHANNEL, data)
        data = data[written:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.worker")
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hidden", action="store_true")
    args = parser.parse_args(argv)

    import torch  # noqa: F401  (imported before the student's folder joins sys.path)

    from grader import rubric
    from grader.course import import_file
    from grader.payload import Outcome, encode_outcomes
    from grader.probes import describe_import_error, run_check

    checks = rubric.load(args.exercise).selected(hidden=args.hidden)
    sys.path.append(str(args.file.parent))
    send("importing")
    try:
        module = import_file(args.file, args.exercise)
    except BaseException as exc:  # a student file may raise anything while importing
        send("import_error", json.dumps({"message": describe_import_error(exc, args.file)}).encode())
        return 0
    for index, check in enumerate(checks):
        send("start", index=index)
        try:
            body = encode_outcomes(run_check(check, module, args.device))
        except BaseException:  # an exception that cannot be described, a return value that cannot be read
            body = encode_outcomes([Outcome("error", message="the grader could not read what your code returned "
                                            "or raised here") for _ in check.cases])
        send("check", body, index=index)
    send("done")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ and atexit hooks cannot matter now


if __name__ == "__main__":
    sys.exit(main())
