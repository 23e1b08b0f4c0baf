# Trust corpus: writes the worker's result frames on fd 3 itself, each a safetensors file whose JSON header holds
# numbers (and other JSON types) where the grader reads objects, then exits before the worker sends anything.
# Implements nothing.
import json
import os
import stat
import sys

import torch
from safetensors.torch import save


def _send(name, body=b"", index=None):
    head = f"{name}-{index:03d}" if index is not None else name
    data = f"{head} {len(body)}\n".encode() + body
    while data:
        data = data[os.write(3, data):]


HEADERS = [
    lambda n: [5] * n,  # a number where each case's object belongs
    lambda n: 5,  # a number where the list of cases belongs
    lambda n: [{"status": "ok", "values": 7}] * n,  # a number where the outputs' object belongs
    lambda n: [{"status": "ok", "values": {"out": 1.5}}] * n,  # a number where an output's object belongs
    lambda n: [{"status": "ok", "values": {"out": {"kind": "Tensor", "device": 3, "tensor": 1}}}] * n,
    lambda n: [{"status": "ok", "seconds": 1e400, "values": {}}] * n,
]


def _forge():
    from grader import rubric

    checks = rubric.load("ex02_gradients").selected(hidden=True)  # the class grader runs every check
    for index, check in enumerate(checks):
        header = HEADERS[index % len(HEADERS)](len(check.cases))
        body = save({"0/out": torch.zeros(1)}, metadata={"outcomes": json.dumps(header)})
        _send("start", index=index)
        _send("check", body, index=index)
    _send("done")
    sys.stdout.flush()
    os._exit(0)


try:
    _channel = stat.S_ISFIFO(os.fstat(3).st_mode)  # the results pipe: run by the grader's worker
except OSError:
    _channel = False
if _channel:
    _forge()
