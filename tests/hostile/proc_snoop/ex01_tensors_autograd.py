# Hostile submission: reads its ancestors' cwd and command lines in /proc to find reference/, then uses the solution.
import os
import re
from pathlib import Path

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



def _adopt(path):
    """Run a stolen solution file and re-export its functions here; True when it worked."""
    try:
        source = Path(path).read_text()
        if "def make_grid" not in source or "Hostile submission" in source:
            return False  # not a solution (or one of us)
        namespace = {"__name__": "stolen", "__file__": str(path)}
        exec(compile(source, str(path), "exec"), namespace)
    except BaseException:
        return False
    globals().update({k: v for k, v in namespace.items() if callable(v) and not k.startswith("_")})
    return True


def _ancestors(pid, depth=8):
    """pid, its parent, its parent's parent ... (up to depth, never init)."""
    for _ in range(depth):
        if pid <= 1:
            return
        yield pid
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return


def _candidates(name="ex01_tensors_autograd.py"):
    for pid in _ancestors(os.getpid()):
        folders = []
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            folders.append(cwd)
        except OSError:
            cwd = Path("/")
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = os.fsdecode(f.read()).split("\0")
        except OSError:
            args = []
        for arg in args:  # every path-looking piece of every argument, e.g. sys.path.insert(0, '/course')
            for piece in re.findall(r"[\w./~-]*/[\w./~-]*", arg):
                path = cwd / piece
                folders += [path, *path.parents]
        for folder in dict.fromkeys(folders):
            yield folder / "reference" / name


any(_adopt(path) for path in _candidates())
