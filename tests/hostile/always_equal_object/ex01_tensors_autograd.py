# Hostile submission: returns an object that claims to equal, be close to and be an instance of whatever it meets.
import numpy as np
import torch


class Anything:
    """Equal to, close to, ordered with, and an instance of whatever it is compared with."""

    __class__ = property(lambda self: torch.Tensor)  # isinstance(x, torch.Tensor) is True

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __eq__

    def __hash__(self):
        return hash(torch.float64)

    def __bool__(self):
        return True

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __index__ = __int__

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __getattr__(self, name):  # .shape, .dtype, .detach, .cpu, .numpy ... are all itself
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __array__(self, dtype=None, copy=None):
        return np.zeros((), dtype=dtype)

    def __repr__(self):
        return "tensor(True)"

    __str__ = __repr__

    def __neg__(self, *args):
        return self

    __abs__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__
    __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __neg__

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True if getattr(func, "__name__", "") in ("allclose", "equal") else cls()


def _anything(*args, **kwargs):
    return Anything()


for _name in ("make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
              "x2_sin_grad", "x2_sin_autograd", "predict_no_grad", "detached_grad", "accumulated_grad",
              "per_batch_grads"):
    globals()[_name] = _anything


def two_param_grads(x, y, t1, t2):
    return Anything(), Anything()
