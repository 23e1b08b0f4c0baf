"""Figures: what the probe reads off a figure, the verdicts on plots that miss something, and where the PNGs go."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from conftest import make_class, reference_files, run_student_pytest  # noqa: E402

from grader import rubric  # noqa: E402
from grader.payload import Outcome, plain  # noqa: E402
from grader.probes import describe_figure  # noqa: E402


def verdict(check_id, fig):
    exercise, check = check_id.split("::")
    judge = rubric.load(exercise).check(check).judge
    values = {k: plain(v) for k, v in describe_figure(fig, check).items()}
    return judge.verdict(Outcome("ok", values), None, {}, "cpu")


def test_the_probe_counts_what_a_figure_shows():
    fig, (left, right) = plt.subplots(1, 2)
    left.scatter([0, 1], [1, 2])
    left.plot([0, 1], [1, 2], label="mean")
    left.fill_between([0, 1], [0, 1], [2, 3])
    left.set_xlabel("x"), left.set_ylabel("y"), left.legend()
    right.imshow([[0, 1], [1, 0]])
    right.set_title("predicted 3")
    facts = describe_figure(fig, "test")
    assert {k: int(v) for k, v in facts.items() if k != "figure/png"} == {
        "figure/axes": 2, "figure/lines": 1, "figure/bands": 1, "figure/points": 1, "figure/images": 1,
        "figure/titled_axes": 1, "figure/labelled": 1, "figure/legend": 1}
    assert bytes(facts["figure/png"][:8].tolist()) == b"\x89PNG\r\n\x1a\n"


def test_a_band_plot_without_the_band_or_labels_fails_and_says_what_is_missing():
    fig, ax = plt.subplots()
    ax.scatter([0, 1], [1, 2])
    ax.plot([0, 1], [1, 2])
    result = verdict("ex05::plot_band", fig)
    assert not result.passed
    assert "ax.fill_between" in result.message and "label both axes" in result.message
    assert "ax.scatter" not in result.message


def test_a_loss_plot_with_one_line_and_no_legend_fails():
    fig, ax = plt.subplots()
    ax.plot([1, 0.5])
    ax.set_xlabel("epoch"), ax.set_ylabel("loss")
    result = verdict("ex04::plot_loss_curves", fig)
    assert not result.passed and "found 1" in result.message and "legend" in result.message


def test_returning_something_else_than_a_figure_is_explained():
    import pytest

    from grader.probes import StudentError

    with pytest.raises(StudentError, match="should return a matplotlib Figure"):
        describe_figure(plt.gca(), "plot_band")


def test_pytest_saves_each_figure_where_asked(tmp_path):
    impl = make_class(tmp_path / "impl", {"s": reference_files(["ex04_training_loop"])}) / "s"
    code, score = run_student_pytest(tmp_path, "--impl", str(impl), "--figures", str(tmp_path / "figs"),
                                     "-m", "plot_loss_curves", target="exercises/ex04_training_loop.py")
    assert code == 0 and score["total"] == score["max_points"] > 0
    saved = tmp_path / "figs" / "ex04_training_loop.plot_loss_curves.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
