"""What runs in the child process: import one submission file, run its exercise's probes, write plain outcomes.

Nothing here decides a score. The grading process reads the files this writes (one safetensors
file per check, as each finishes, so a timeout keeps what was done) and judges them itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.worker")
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hidden", action="store_true")
    args = parser.parse_args(argv)

    import torch  # noqa: F401  (imported before the student's folder joins sys.path)

    from grader import rubric
    from grader.course import import_file
    from grader.payload import write_outcomes
    from grader.probes import describe_import_error, run_check

    out: Path = args.out
    checks = rubric.load(args.exercise).selected(hidden=args.hidden)
    sys.path.append(str(args.file.parent))
    (out / "importing").write_text("")
    try:
        module = import_file(args.file, args.exercise)
    except BaseException as exc:  # a student file may raise anything while importing
        (out / "import_error.json").write_text(json.dumps({"message": describe_import_error(exc, args.file)}))
        return 0
    for index, check in enumerate(checks):
        (out / "current").write_text(str(index))
        write_outcomes(out / f"{index:03d}.safetensors", run_check(check, module, args.device))
    (out / "done").write_text(str(len(checks)))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ and atexit hooks cannot matter now


if __name__ == "__main__":
    sys.exit(main())
