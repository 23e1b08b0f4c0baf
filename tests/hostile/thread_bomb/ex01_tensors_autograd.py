# Hostile submission: starts up to 10,000 sleeping threads at import.
import threading
import time

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


for _i in range(10_000):
    try:
        threading.Thread(target=time.sleep, args=(90,), name=f"__SENTINEL__-{_i}", daemon=True).start()
    except RuntimeError:  # can't start a new thread: stop
        break
