"""Device-agnostic checks: `--device cuda` runs everything on a GPU, and says so clearly when there is none."""

import pytest
import torch
from conftest import EXERCISES, make_class, reference_files, run_grader, run_student_pytest, visible_points

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
without_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")


@without_cuda
def test_asking_for_cuda_without_one_is_a_clear_error(tmp_path):
    submissions = make_class(tmp_path / "subs", {"ada": {}})
    run = run_grader("grade", str(submissions), "--out", str(tmp_path / "out"), "--device", "cuda")
    assert run.returncode == 2 and "no CUDA device is available" in run.stderr and "Traceback" not in run.stderr


@needs_cuda
def test_the_reference_earns_every_visible_point_on_cuda(tmp_path):
    code, score = run_student_pytest(tmp_path, "--impl", "reference", "--device", "cuda")
    assert code == 0 and score["total"] == sum(visible_points(n) for n in EXERCISES)


@needs_cuda
def test_the_grader_gives_the_reference_full_marks_on_cuda(tmp_path):
    submissions = make_class(tmp_path / "subs", {"ada": reference_files()})
    run = run_grader("grade", str(submissions), "--out", str(tmp_path / "out"), "--device", "cuda")
    assert run.returncode == 0, run.stderr
    total, most = (tmp_path / "out" / "grades.csv").read_text().splitlines()[1].split(",")[-2:]
    assert float(total) == float(most)


@needs_cuda
def test_a_result_left_on_the_cpu_is_caught_on_cuda(tmp_path):
    source = reference_files(["ex01_tensors_autograd"])["ex01_tensors_autograd.py"].replace(
        "return X @ w\n", "return (X @ w).cpu()\n", 1)
    impl = make_class(tmp_path / "impl", {"s": {"ex01_tensors_autograd.py": source}}) / "s"
    _, score = run_student_pytest(tmp_path, "--impl", str(impl), "--device", "cuda", "-m", "predict_no_grad")
    assert "is on cpu but the inputs were on cuda" in score["checks"][0]["message"]
