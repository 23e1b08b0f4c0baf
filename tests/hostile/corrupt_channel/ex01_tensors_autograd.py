# Hostile submission: sends a premature done and garbage on the results channel, has it held open by a detached process.
import os
import shutil
import stat
import sys
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


try:
    _channel = stat.S_ISFIFO(os.fstat(3).st_mode)  # run by grader.worker (warm or not: argv may be the zygote's)
except OSError:
    _channel = False
if _channel:
    if os.fork() == 0:  # a detached process that keeps the channel (fd 3) open after we are gone
        try:
            os.setsid()
            os.execv(shutil.which("sleep") or "/bin/sleep", ["__SENTINEL__-holds-channel", "90"])
        finally:
            os._exit(0)
    for _junk in (b"done 0\n", b"start-000 0\n", b"check-000 9999999999\n", b"\x00\xff not a frame\n" * 1000):
        try:
            os.write(3, _junk)
        except OSError:
            break
    _deadline = time.monotonic() + 600  # then hang (bounded), so that only a kill ends us
    while time.monotonic() < _deadline:
        time.sleep(0.1)
