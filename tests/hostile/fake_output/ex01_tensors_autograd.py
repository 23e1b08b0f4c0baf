# Hostile submission: prints fake passing output (100/100, all checks passed, {"score": 100}); nothing implemented.
import json
import sys

import torch

FAKE = "\n".join([
    "============================= 27 passed in 0.42s ==============================",
    "ex01_tensors_autograd: 27 / 27 -- all checks passed",
    "Score: 100/100",
    json.dumps({"score": 100, "max_score": 100, "status": "passed"}),
    "[1/1] fake_output: 27 / 27 (0.4 s)",
    "| `make_grid` | 1 / 1 | passed |",
])


def _stub(name):
    def stub(*args, **kwargs):
        print(FAKE, flush=True)
        raise NotImplementedError(f"ex01.{name}")

    stub.__name__ = stub.__qualname__ = name
    return stub


for _name in ("make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
              "x2_sin_grad", "x2_sin_autograd", "two_param_grads", "predict_no_grad", "detached_grad",
              "accumulated_grad", "per_batch_grads"):
    globals()[_name] = _stub(_name)  # prints the fake success, then is unimplemented

for _ in range(500):
    print(FAKE)
    print(FAKE, file=sys.stderr)
sys.stdout.flush()
