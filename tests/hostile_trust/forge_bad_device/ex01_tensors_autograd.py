# Trust corpus: writes the worker's result frames on fd 3 itself: well-formed outcomes whose every output claims
# the device "not-a-device" (which torch.device() cannot parse), then exits. Implements nothing.
import os
import stat
import sys

import torch


def _send(name, body=b"", index=None):
    head = f"{name}-{index:03d}" if index is not None else name
    data = f"{head} {len(body)}\n".encode() + body
    while data:
        data = data[os.write(3, data):]


def _forge():
    from grader import rubric
    from grader.payload import Outcome, Value, encode_outcomes

    checks = rubric.load("ex01_tensors_autograd").selected(hidden=True)  # the class grader runs every check
    for index, check in enumerate(checks):
        outcomes = [Outcome("ok", {"out": Value("Tensor", torch.zeros(2, 3), "not-a-device"),
                                   "grad": Value("Tensor", torch.ones(3), "cuda:not-a-device")})
                    for _ in check.cases]
        _send("start", index=index)
        _send("check", encode_outcomes(outcomes), index=index)
    _send("done")
    sys.stdout.flush()
    os._exit(0)


try:
    _channel = stat.S_ISFIFO(os.fstat(3).st_mode)  # the results pipe: run by the grader's worker
except OSError:
    _channel = False
if _channel:
    _forge()
