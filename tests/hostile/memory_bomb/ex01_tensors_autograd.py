# Hostile submission: allocates memory without bound in make_grid (100 MB at a time; stops at 30 GB or MemoryError).
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


_HOARD = []  # module-level, so the memory stays in use for the rest of the run


def make_grid(n_rows, n_cols, device):
    chunk = 100 * 2**20
    try:
        while len(_HOARD) * chunk < 30 * 2**30:
            _HOARD.append(b"\x01" * chunk)  # filled, so every page is really touched
    except MemoryError:
        pass
    raise NotImplementedError("ex01.make_grid")
