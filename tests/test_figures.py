"""Figures: what the probe reads off a figure, the verdicts on plots that miss something, and where the PNGs go."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from conftest import make_class, reference_files, run_student_pytest  # noqa: E402

from grader import figures, rubric  # noqa: E402
from grader.payload import Outcome, plain  # noqa: E402
from grader.probes import describe_figure  # noqa: E402


def verdict(check_id, fig, inputs=None):
    exercise, check = check_id.split("::")
    judge = rubric.load(exercise).check(check).judge
    values = {k: plain(v) for k, v in describe_figure(fig, check).items()}
    return judge.verdict(Outcome("ok", values), None, inputs or {}, "cpu")


def test_the_probe_counts_what_a_figure_shows():
    fig, (left, right) = plt.subplots(1, 2)
    left.scatter([0, 1], [1, 2])
    left.plot([0, 1], [1, 2], label="mean")
    left.fill_between([0, 1], [0, 1], [2, 3])
    left.set_xlabel("x"), left.set_ylabel("y"), left.legend()
    right.imshow([[0, 1], [1, 0]])
    right.set_title("predicted 3")
    facts = describe_figure(fig, "test")
    assert {k: int(v) for k, v in facts.items() if k.count("/") == 1 and k != "figure/png"} == {
        "figure/axes": 2, "figure/lines": 1, "figure/bands": 1, "figure/points": 1, "figure/images": 1,
        "figure/titled_axes": 1, "figure/labelled": 1, "figure/legend": 1}
    assert bytes(facts["figure/png"][:8].tolist()) == b"\x89PNG\r\n\x1a\n"


def drawn(fig):
    """What a figure draws, through the payload and back, as the grader reads it."""
    values = {k: plain(v) for k, v in describe_figure(fig, "test").items()}
    return figures.Drawing.of({k: v.tensor for k, v in values.items()})


def test_the_probe_reports_the_data_drawn_and_the_grader_reads_it_back():
    x = np.linspace(0, 1, 7)
    fig, (left, right) = plt.subplots(1, 2)
    left.scatter(x, x ** 2)
    left.plot(x, np.sin(x), label="mean")
    left.fill_between(x, np.sin(x) - 0.5, np.sin(x) + 0.25)
    left.set_xlabel("x"), left.set_ylabel("y"), left.legend()
    right.imshow(np.arange(6.0).reshape(2, 3))
    right.set_title("predicted 3")
    drawing = drawn(fig)
    line = drawing.line_through(torch.tensor(x), torch.tensor(np.sin(x)))
    assert line is not None and line.label == "mean" and drawing.axes[line.axes].legend == ["mean"]
    (band,) = drawing.bands
    assert figures.close(band.x, torch.tensor(x))
    assert figures.close(band.lower, torch.tensor(np.sin(x) - 0.5))
    assert figures.close(band.upper, torch.tensor(np.sin(x) + 0.25))
    ((xy, _),) = drawing.scatters
    assert figures.close(xy, torch.tensor(np.stack([x, x ** 2], 1)))
    (image,) = drawing.images
    assert image.shape == (2, 3) and figures.close(image.data, torch.arange(6.0))
    assert drawing.axes[image.axes].title == "predicted 3" and drawing.axes[0].xlabel == "x"
    assert drawing.line_through(None, torch.tensor(np.cos(x))) is None


def test_the_band_is_judged_on_its_bounds_against_two_sigma():
    from grader.rubrics.ex05_heteroscedastic import band_is_two_sigma

    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    mu, sigma = torch.sin(3 * x), 0.1 + x
    model = {"model/band/0/mu": mu, "model/band/0/sigma": sigma}

    def judged(half):
        fig, ax = plt.subplots()
        ax.fill_between(x, mu - half, mu + half)
        values = {k: plain(v).tensor for k, v in describe_figure(fig, "plot_band").items()}
        return band_is_two_sigma({**values, **model}, {})

    assert judged(2 * sigma) is None
    assert "variance" in judged(2 * sigma ** 2)
    assert "half-width is sigma, not 2 sigma" in judged(sigma)


def test_loss_curves_are_judged_on_the_losses_drawn():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3, 4], [1.1, 0.9, 0.8, 0.7], label="sgd")
    ax.plot([1, 2, 3, 4], [1.0, 0.5, 0.3, 0.25], label="adam")  # the last loss is not the one given
    ax.set_xlabel("epoch"), ax.set_ylabel("loss"), ax.legend()
    curves = {"names": ("sgd", "adam"), "losses": torch.tensor([[1.1, 0.9, 0.8, 0.7], [1.0, 0.5, 0.3, 0.2]])}
    result = verdict("ex04::plot_loss_curves", fig, curves)
    assert not result.passed and "'adam' losses" in result.message


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
