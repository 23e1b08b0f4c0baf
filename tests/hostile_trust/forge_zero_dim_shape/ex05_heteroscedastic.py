# Trust corpus: writes the worker's result frames on fd 3 itself: the structure check's shapes as 0-dim tensors
# (and an empty one) with its facts claimed true, errors elsewhere; then exits. Implements nothing.
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

    checks = rubric.load("ex05_heteroscedastic").selected(hidden=True)  # the class grader runs every check
    for index, check in enumerate(checks):
        if check.id.startswith("HeteroscedasticNet"):
            outcomes = [Outcome("ok", {"mu_head_is_linear_to_1": Value("bool", torch.tensor(True)),
                                       "logvar_head_is_linear_to_1": Value("bool", torch.tensor(True)),
                                       "mu_shape": Value("Tensor", torch.tensor(5.0)),
                                       "logvar_shape": Value("Tensor", torch.zeros(0))})
                        for _ in check.cases]
        else:
            outcomes = [Outcome("error", message="forged") for _ in check.cases]
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
