"""The channel from child to grader: plain values, written as safetensors, read back strictly."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from grader.payload import Outcome, PayloadError, plain, read_outcomes, write_outcomes

LIMIT = 1 << 20


def test_outcomes_round_trip(tmp_path):
    outcomes = [Outcome("ok", {"y": plain(torch.arange(6.0).reshape(2, 3).requires_grad_()), "n": plain(3),
                               "a": plain(np.ones(2)), "flag": plain(True), "none": plain(None)}, seconds=0.5),
                Outcome("not_implemented", message="not implemented yet: ex01.f"),
                Outcome("error", message="RuntimeError: boom")]
    path = tmp_path / "000.safetensors"
    write_outcomes(path, outcomes)
    back = read_outcomes(path, 3, LIMIT)
    assert [o.status for o in back] == ["ok", "not_implemented", "error"]
    y = back[0].values["y"]
    assert y.kind == "Tensor" and y.device == "cpu" and y.requires_grad and torch.equal(y.tensor, torch.arange(6.0).reshape(2, 3))
    assert back[0].values["n"].kind == "int" and back[0].values["a"].kind == "ndarray"
    assert back[0].values["flag"].tensor.item() is True and back[0].values["none"].tensor is None
    assert back[1].message == "not implemented yet: ex01.f"


def forge(path, tensors, header):
    save_file(tensors, str(path), metadata={"outcomes": json.dumps(header)})


OK = {"status": "ok", "message": "", "seconds": 0.0, "values": {"y": {"kind": "Tensor", "tensor": True}}}


@pytest.mark.parametrize("tensors, header, problem", [
    ({"0/y": torch.zeros(1), "1/y": torch.zeros(1)}, [OK, OK], "should describe 1 case"),
    ({}, [OK], "output 'y' of case 0 is missing"),
    ({"0/y": torch.zeros(1), "0/z": torch.zeros(1)}, [OK], "holds tensors nobody asked for"),
    ({"0/y": torch.zeros(1)}, [{**OK, "status": "passed"}], "no valid status"),
    ({"0/y": torch.zeros(1)}, [{**OK, "seconds": "fast"}], "invalid time"),
    ({"0/y": torch.zeros(1)}, [{**OK, "values": {"y": {"kind": "x" * 500, "tensor": True}}}], "kind"),
])
def test_malformed_payloads_fail_closed(tmp_path, tensors, header, problem):
    path = tmp_path / "000.safetensors"
    forge(path, tensors, header)
    with pytest.raises(PayloadError, match=problem):
        read_outcomes(path, 1, LIMIT)


def test_oversized_and_corrupt_files_are_refused(tmp_path):
    path = tmp_path / "000.safetensors"
    forge(path, {"0/y": torch.zeros(1000)}, [OK])
    with pytest.raises(PayloadError, match="more than the 100 allowed"):
        read_outcomes(path, 1, 100)
    path.write_bytes(b"\x80\x04not a safetensors file, maybe a pickle")
    with pytest.raises(PayloadError, match="not a readable safetensors file"):
        read_outcomes(path, 1, LIMIT)
