"""Fresh inputs: drawn from a seed, the same for the same seed, out of any file's reach, and only their inputs packed."""

import torch
from safetensors.torch import load_file

from grader import data, fresh


def test_the_same_seed_draws_the_same_inputs_and_another_seed_others():
    for draw in (fresh.iris, fresh.sunspots, fresh.mnist, fresh.token_selection):
        a, b, c = draw(7), draw(7), draw(8)
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.answers, b.answers)
        assert not torch.equal(a.inputs, c.inputs)
    assert fresh.task(7) == fresh.task(7) != fresh.task(8)
    assert fresh.task(fresh.PUBLIC_SEED) == fresh.Task()  # what students read in the docstring


def test_fresh_flowers_are_new_flowers_of_each_species():
    draw, real = fresh.iris(11), data.iris_split()
    assert draw.inputs.shape == (fresh.N_FLOWERS, 4) and torch.bincount(draw.answers).tolist() == [50, 50, 50]
    distance = torch.cdist(draw.inputs.double(), torch.cat([real.X_train, real.X_test]).double())
    assert distance.min() > 1e-3  # no flower of the data set itself
    for label in range(3):  # each species near its own training mean
        means = torch.stack([real.X_train[real.y_train == k].mean(0) for k in range(3)])
        own = draw.inputs[draw.answers == label].mean(0)
        assert torch.cdist(own[None], means).argmin() == label


def test_simulated_sunspot_windows_hold_no_observed_year_and_no_other_windows_target():
    draw = fresh.sunspots(3)
    runs, targets = draw.inputs, draw.answers
    assert runs.shape == (fresh.N_WINDOWS, fresh.SEGMENT) and (runs >= 0).all()
    def values(t):  # a year clipped at zero (no spots) is the only value a run shares with the world
        return {round(float(v), 6) for v in t.reshape(-1)} - {0.0}

    assert not values(data.sunspots()[1]) & values(runs)
    assert not values(targets) & values(runs)
    persistence = ((runs[:, -1] - targets) ** 2).mean().sqrt()
    assert 5 < persistence < 60  # sunspot-like: years differ by tens


def test_a_drawn_task_has_noise_that_grows_and_another_shape_than_the_public_one():
    task, public = fresh.task(5), fresh.Task()
    x = torch.linspace(0, 1, 50)
    assert (task.sigma(x).diff() >= 0).all() and (task.sigma(x) > 0).all()
    assert (task.mean(x) - public.mean(x)).abs().max() > 0.1
    sample = fresh.heteroscedastic(5)
    assert sample["x_train"].shape == (fresh.N_TRAIN, 1) and sample["y_fresh"].shape == (fresh.N_FRESH, 1)


def test_perturbed_digits_are_the_held_out_digits_moved_and_never_one_of_them():
    draw, split = fresh.mnist(2), data.mnist_split()
    assert draw.inputs.shape == split.X_test.shape and draw.inputs.min() >= 0 and draw.inputs.max() <= 1
    assert sorted(draw.answers.tolist()) == sorted(split.y_test.tolist())
    flat = split.X_test.reshape(len(split.X_test), -1)
    nearest = torch.cdist(draw.inputs.reshape(len(draw.inputs), -1), flat).min(dim=1).values
    assert (nearest > 0.5).all()


def test_fresh_token_sequences_follow_the_rule_and_are_none_of_the_public_ones():
    from test_data import looked_up

    draw, split = fresh.token_selection(4), data.token_selection_split()
    assert draw.inputs.shape == (fresh.N_SEQUENCES, 9, 2) and torch.equal(looked_up(draw.inputs), draw.answers)
    public = {tuple(x.reshape(-1).tolist()) for x in torch.cat([split.X_train, split.X_test])}
    assert not any(tuple(x.reshape(-1).tolist()) in public for x in draw.inputs)


def test_the_secret_seed_follows_the_reference_and_nothing_a_child_sees(tmp_path, monkeypatch):
    monkeypatch.delenv(fresh.SEED_ENV, raising=False)
    (tmp_path / "ex01_a.py").write_text("x = 1\n")
    first = fresh.secret_seed(tmp_path)
    assert fresh.secret_seed(tmp_path) == first
    (tmp_path / "ex01_a.py").write_text("x = 2\n")
    assert fresh.secret_seed(tmp_path) != first
    monkeypatch.setenv(fresh.SEED_ENV, "42")
    assert fresh.secret_seed(tmp_path) == 42


def test_the_pack_holds_fresh_inputs_never_their_answers(tmp_path, monkeypatch):
    fresh.set_seed(99)
    try:
        pack = tmp_path / "pack.safetensors"
        data.write_pack(pack)
        tensors = load_file(str(pack))
        assert torch.equal(tensors["fresh/iris/X"], fresh.iris().inputs)
        assert torch.equal(tensors["fresh/sunspots/runs"], fresh.sunspots().inputs)
        assert torch.equal(tensors["fresh/token_selection/X"], fresh.token_selection().inputs)
        assert "fresh/heteroscedastic/x_fresh" in tensors and not any("y_fresh" in k or "answer" in k for k in tensors)
        packed_values = {round(float(v), 5) for k, t in tensors.items() if k.startswith("fresh/") for v in t.reshape(-1)[:5000]}
        assert not {round(float(v), 5) for v in fresh.sunspots().answers} <= packed_values
        expected_answers = fresh.iris().answers
    finally:
        fresh.set_seed(None)
    monkeypatch.setenv(data.PACK_ENV, str(pack))
    data.pack.cache_clear()
    try:
        draw = fresh.iris()
        assert draw.answers is None and torch.equal(draw.inputs, tensors["fresh/iris/X"])
        try:
            draw.needed_answers()
            raise AssertionError("a child got the answers")
        except fresh.FreshAnswersUnavailable:
            pass
        assert expected_answers.shape == (fresh.N_FLOWERS,)
    finally:
        data.pack.cache_clear()
