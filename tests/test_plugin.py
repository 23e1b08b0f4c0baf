"""The student experience: `pytest exercises/` and its plugin."""

import re
import subprocess
import sys

from conftest import EXERCISES, ROOT, make_class, reference_files, run_student_pytest, visible_points

from grader import rubric


def test_reference_earns_every_visible_point(tmp_path):
    code, score = run_student_pytest(tmp_path, "--impl", "reference")
    assert code == 0
    assert score["total"] == score["max_points"] == sum(visible_points(n) for n in EXERCISES)
    assert all(c["status"] == "passed" for c in score["checks"])
    assert {c["exercise"] for c in score["checks"]} == set(EXERCISES)


def test_stubs_score_zero_and_say_not_implemented():
    run = subprocess.run([sys.executable, "-m", "pytest", "exercises/", "-p", "no:cacheprovider"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout[-2000:]
    assert "not implemented yet: ex02.Sigmoid.forward" in run.stdout
    assert "not implemented yet: ex03.LogisticRegression.__init__" in run.stdout
    assert "Traceback" not in run.stdout
    assert re.search(r"^=+ score =+$", run.stdout, re.M)
    total = sum(visible_points(n) for n in EXERCISES)
    assert any(line.split()[:4] == ["total", "0", "/", f"{total:g}"] for line in run.stdout.splitlines())


ONE_FILE = """
import sys, pytest
code = pytest.main(sys.argv[1:])
print("rubrics:", ",".join(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("grader.rubrics.ex"))))
sys.exit(code)
"""


def test_one_exercise_file_loads_its_own_rubric_alone_and_its_markers_are_known():
    """A student running one exercise waits for that exercise's rubric only (all twelve took seconds); its markers
    are still registered (``--strict-markers`` refuses an unknown one), and ``--markers`` lists every exercise's."""
    run = subprocess.run([sys.executable, "-c", ONE_FILE, "exercises/ex02_gradients.py", "--impl", "reference",
                          "-m", "Linear", "--strict-markers", "-p", "no:cacheprovider", "-q"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "3 passed" in run.stdout and run.stdout.splitlines()[-1] == "rubrics: ex02_gradients"
    listed = subprocess.run([sys.executable, "-m", "pytest", "--markers", "-p", "no:cacheprovider"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert all(f"@pytest.mark.{rubric.load(n).key}: the checks of exercise {n}" in listed.stdout for n in EXERCISES)


def test_every_stub_check_is_not_implemented(tmp_path):
    code, score = run_student_pytest(tmp_path)
    assert code == 1 and score["total"] == 0
    for check in score["checks"]:
        assert check["status"] == "not_implemented", check
        assert check["message"].startswith("not implemented yet: ex"), check


def test_one_exercise_or_one_function_by_marker(tmp_path):
    _, by_marker = run_student_pytest(tmp_path, "--impl", "reference", "-m", "ex02")
    assert {c["exercise"] for c in by_marker["checks"]} == {"ex02_gradients"}
    assert len(by_marker["checks"]) == len(rubric.load("ex02").selected(hidden=False))
    _, by_function = run_student_pytest(tmp_path, "--impl", "reference", "-m", "Linear")
    assert {c["check"] for c in by_function["checks"]} == {"Linear.forward", "Linear.backward", "Linear.gradcheck"}
    _, by_keyword = run_student_pytest(tmp_path, "--impl", "reference", "-k", "gradcheck",
                                       target="exercises/ex02_gradients.py")
    assert {c["check"] for c in by_keyword["checks"]} == {f"{f}.gradcheck" for f in ("Sigmoid", "Softplus", "Linear", "LogSumExp")}


def test_a_file_that_does_not_import_fails_its_checks_and_only_those(tmp_path):
    files = reference_files(["ex01_tensors_autograd", "ex03_regression"])
    files["ex02_gradients.py"] = "import torch\n\ndef mse_linear_grad(X, y, w, b)\n    return 0\n"
    impl = make_class(tmp_path / "impl", {"s": files}) / "s"
    code, score = run_student_pytest(tmp_path, "--impl", str(impl))
    assert code == 1
    for check in score["checks"]:
        if check["exercise"] == "ex02_gradients":
            assert check["status"] == "error"
            assert "ex02_gradients.py does not import: SyntaxError" in check["message"]
            assert "line 3" in check["message"]
        elif f"{check['exercise']}.py" in files:
            assert check["status"] == "passed", check
        else:
            assert check["status"] == "error" and check["message"].endswith("is missing"), check


def test_a_missing_file_is_reported(tmp_path):
    impl = make_class(tmp_path / "impl", {"s": reference_files(["ex01_tensors_autograd"])}) / "s"
    _, score = run_student_pytest(tmp_path, "--impl", str(impl), "-m", "ex03")
    assert score["total"] == 0
    assert all("ex03_regression.py is missing" in c["message"] for c in score["checks"])


def test_wrong_values_read_like_assert_close_with_a_hint(tmp_path):
    source = reference_files(["ex02_gradients"])["ex02_gradients.py"]
    wrong = source.replace("return grad_out * s * (1 - s)", "return -grad_out * s * (1 - s)")
    impl = make_class(tmp_path / "impl", {"s": {"ex02_gradients.py": wrong}}) / "s"
    _, score = run_student_pytest(tmp_path, "--impl", str(impl), "-k", "Sigmoid")
    message = {c["check"]: c["message"] for c in score["checks"]}["Sigmoid.backward"]
    assert "Mismatched elements: 12 / 12 (100.0%)" in message
    assert "Greatest absolute difference" in message and "Greatest relative difference" in message
    assert "at index" in message
    assert "Hint: the sign is flipped" in message


def test_each_failure_is_reported_once_with_its_message(tmp_path, capsys):
    checks = rubric.load("ex02").selected(hidden=False)
    code, score = run_student_pytest(tmp_path, "-m", "ex02")
    out = capsys.readouterr().out
    assert code == 1 and len(score["checks"]) == len(checks)
    assert "short test summary info" not in out and not re.search(r"^FAILED ", out, re.M)
    for check in checks:  # one section per failing check, holding its whole message
        header = re.compile(rf"^_+ ex02_gradients::{re.escape(check.id)} _+$", re.M)
        assert len(header.findall(out)) == 1, check.id
    messages = {c["message"] for c in score["checks"]}
    assert sum(out.count(f"\n{m}\n") for m in messages) == len(checks)
    assert out.rindex("= score =") > out.rindex("ex02_gradients::")  # the score table ends the report


def test_a_short_summary_asked_for_is_kept(tmp_path, capsys):
    run_student_pytest(tmp_path, "-m", "ex02", "-rf")
    out = capsys.readouterr().out
    failed = re.findall(r"^FAILED exercises/ex02_gradients.py::(\S+)", out, re.M)
    assert sorted(failed) == sorted(c.id for c in rubric.load("ex02").selected(hidden=False))
    assert out.rindex("= score =") > out.rindex("short test summary info")
