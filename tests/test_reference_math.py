"""The reference agrees with the library routines its docstrings name as equal."""

import torch
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.course import import_file

EX01 = import_file(ROOT / "reference" / "ex01_tensors_autograd.py", "_reference_math_ex01")


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 7), k=st.integers(1, 7), m=st.integers(1, 7), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_broadcast_matmul_is_mm_and_the_at_operator(n, k, m, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    A, B = torch.randn(n, k, generator=g, dtype=dtype), torch.randn(k, m, generator=g, dtype=dtype)
    C = EX01.broadcast_matmul(A, B)
    assert C.dtype == dtype and C.shape == (n, m)
    torch.testing.assert_close(C, torch.mm(A, B))
    torch.testing.assert_close(C, A @ B)


def test_broadcast_matmul_keeps_the_device_and_the_graph():
    A = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    B = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(EX01.broadcast_matmul, (A, B))
    assert EX01.broadcast_matmul(A.detach().to("meta"), B.detach().to("meta")).device.type == "meta"
