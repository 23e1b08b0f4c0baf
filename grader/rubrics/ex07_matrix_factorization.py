"""Rubric for exercise 7: biased matrix factorization on MovieLens-100k, its loss, test RMSE and recommendations."""

import torch
from torch import nn

from grader import data
from grader.checks import Holds, Match, Mistake, Require, like, scaled_by
from grader.thresholds import Threshold, prediction
from grader.probes import Numbers, StudentError, memo, standing_in
from grader.rubric import Check, Exercise, case

EXERCISE = Exercise("ex07_matrix_factorization", "Matrix factorization on MovieLens", time_limit=180)
TABLES = ("user_factors", "item_factors", "user_bias", "item_bias")
SAMPLE_USERS = (0, 10, 100, 500, 942)


# --- inputs ----------------------------------------------------------------------------------------

def mf_inputs(g, n_users=5, n_items=7, k=3, batch=6, lam=0.1, user=2, top=3, global_mean=3.5):
    return {"n_users": n_users, "n_items": n_items, "k": k, "global_mean": global_mean, "lam": lam,
            "P": torch.randn(n_users, k, generator=g) * 0.5, "Q": torch.randn(n_items, k, generator=g) * 0.5,
            "bu": torch.randn(n_users, 1, generator=g) * 0.3, "bi": torch.randn(n_items, 1, generator=g) * 0.3,
            "users": torch.randint(0, n_users, (batch,), generator=g),
            "items": torch.randint(0, n_items, (batch,), generator=g),
            "ratings": torch.randint(1, 6, (batch,), generator=g).float(),
            "user": user, "rated": torch.randperm(n_items, generator=g)[: n_items // 3], "top": top}


def training_inputs(g, n=20, k=3, epochs=2, lr=0.05, lam=0.3, batch_size=8):
    """A few ratings of MovieLens' users and movies, and the hyper-parameters ``train_mf`` is given."""
    return {"users": torch.randint(0, data.N_USERS, (n,), generator=g),
            "items": torch.randint(0, data.N_ITEMS, (n,), generator=g),
            "ratings": torch.randint(1, 6, (n,), generator=g).float(), "k": k, "epochs": epochs, "lr": lr,
            "lam": lam, "batch_size": batch_size}


# --- probes ----------------------------------------------------------------------------------------

def fixed_model(trial):
    i = trial.inputs
    model = trial.target("MatrixFactorization")(i["n_users"], i["n_items"], i["k"], i["global_mean"])
    for name, weights in zip(TABLES, ("P", "Q", "bu", "bi")):
        table = getattr(model, name, None)
        if not isinstance(table, nn.Embedding):
            raise StudentError(f"MatrixFactorization must keep `self.{name}`, an nn.Embedding")
        if table.weight.shape != i[weights].shape:
            raise StudentError(f"self.{name} has shape {tuple(table.weight.shape)}, expected {tuple(i[weights].shape)}")
    model.to(trial.device)  # before the tables are set: inputs on the meta device have no values to copy elsewhere
    with torch.no_grad():
        for name, weights in zip(TABLES, ("P", "Q", "bu", "bi")):
            getattr(model, name).weight.copy_(i[weights])
    return model


def probe_structure(trial):
    i = trial.inputs
    model = trial.target("MatrixFactorization")(i["n_users"], i["n_items"], i["k"], i["global_mean"])
    shapes = {}
    for name in TABLES:
        table = getattr(model, name, None)
        if not isinstance(table, nn.Embedding):
            raise StudentError(f"MatrixFactorization must keep `self.{name}`, an nn.Embedding")
        shapes[f"{name}_shape"] = Numbers(list(table.weight.shape))
    bias_start = torch.cat([model.user_bias.weight.reshape(-1), model.item_bias.weight.reshape(-1)])
    return {**shapes, "biases_start_at_zero": bool((bias_start == 0).all()),
            "global_mean": float(getattr(model, "global_mean", float("nan")))}


def probe_forward(trial):
    i = trial.inputs
    return {"out": fixed_model(trial)(i["users"], i["items"])}


def probe_loss(trial):
    i = trial.inputs
    return {"loss": trial.target("mf_loss")(fixed_model(trial), i["users"], i["items"], i["ratings"], i["lam"])}


def probe_recommend(trial):
    i = trial.inputs
    return {"recommended": trial.target("recommend")(fixed_model(trial), i["user"], i["rated"], i["top"])}


def trained(trial):
    def fit():
        split = data.movielens_split()  # training ratings only reach the student's code
        model = trial.target("train_mf")(split.users_train.to(trial.device), split.items_train.to(trial.device),
                                         split.ratings_train.to(trial.device))
        if not isinstance(model, nn.Module):
            raise StudentError(f"train_mf should return the trained model; it returned a {type(model).__name__}")
        return model
    return memo(trial, "train_mf", fit)


def probe_trained(trial):
    """The trained model's tables (the grader predicts from them) and its forward on the held-out pairs."""
    model = trained(trial)
    split = data.movielens_split()
    model.eval()
    with torch.no_grad():  # held-out (user, movie) pairs; their ratings stay with the grader
        predictions = model(split.users_test.to(trial.device), split.items_test.to(trial.device))
    tables = {name: getattr(model, name, None) for name in TABLES}
    if not all(type(t) is nn.Embedding for t in tables.values()):
        raise StudentError(f"the trained model must keep its tables as nn.Embedding: {', '.join(TABLES)}")
    return {"predictions": predictions, "global_mean": float(getattr(model, "global_mean", float("nan"))),
            **{name: t.weight for name, t in tables.items()}}


def probe_train_arguments(trial):
    """``train_mf`` with the case's k, epochs, lr, lam and batch size: the size of its tables, its global mean, the
    batches and lam it hands ``mf_loss`` (the student's own, recorded on the way), and the largest change of a
    parameter in one full-batch epoch from the same seed (Adam's first step: lr)."""
    i, train, own_loss = trial.inputs, trial.target("train_mf"), trial.target("mf_loss")
    calls = []

    def recorded(model, users, items, ratings, lam, *args, **kwargs):
        calls.append((len(ratings), float(lam)))
        return own_loss(model, users, items, ratings, lam, *args, **kwargs)

    def fit(epochs, batch_size):
        torch.manual_seed(trial.seed)
        model = train(i["users"], i["items"], i["ratings"], k=i["k"], epochs=epochs, lr=i["lr"], lam=i["lam"],
                      batch_size=batch_size)
        if not isinstance(model, nn.Module):
            raise StudentError(f"train_mf should return the trained model; it returned a {type(model).__name__}")
        return model

    with standing_in(trial, "mf_loss", recorded):
        model = fit(i["epochs"], i["batch_size"])
    start = [p.detach().clone() for p in fit(0, len(i["ratings"])).parameters()]
    after = [p.detach() for p in fit(1, len(i["ratings"])).parameters()]
    if not start or [p.shape for p in start] != [p.shape for p in after]:
        raise StudentError("train_mf returned models of different shapes for the same arguments")
    factors = getattr(model, "user_factors", None)
    return {"k": factors.weight.shape[1] if isinstance(factors, nn.Embedding) else None,
            "global_mean": float(getattr(model, "global_mean", float("nan"))),
            "batch_sizes": Numbers([size for size, _ in calls], dtype=torch.int64),
            "lam": Numbers([lam for _, lam in calls], dtype=torch.float64),
            "largest_step": max(float((a - b).abs().max()) for a, b in zip(after, start))}


def probe_recommendations(trial):
    model = trained(trial)
    split = data.movielens_split()
    recs = []
    for user in SAMPLE_USERS:
        rated = split.items_train[split.users_train == user].to(trial.device)
        recs.append(torch.as_tensor(trial.target("recommend")(model, user, rated, 10)).reshape(-1))
    lengths = {len(r) for r in recs}
    if lengths != {10}:
        raise StudentError(f"recommend(model, user, rated_items, 10) should give 10 movies; it gave {sorted(lengths)}")
    return {"recommended": torch.stack(recs)}


# --- measured here ------------------------------------------------------------------------------

def from_tables(values, users, items):
    """mu + b_u + b_i + p_u . q_i, computed here from the tables the trained model holds."""
    n_factors = values["user_factors"].shape[1] if values.get("user_factors") is not None else 0
    P = prediction(values, "user_factors", (data.N_USERS, n_factors))
    Q = prediction(values, "item_factors", (data.N_ITEMS, n_factors))
    bu, bi = prediction(values, "user_bias", (data.N_USERS, 1)), prediction(values, "item_bias", (data.N_ITEMS, 1))
    mu = prediction(values, "global_mean", ())
    return mu + bu[users, 0] + bi[items, 0] + (P[users] * Q[items]).sum(dim=1)


def test_rmse(values, inputs):
    split = data.movielens_split()
    predicted = from_tables(values, split.users_test, split.items_test).clamp(1, 5)
    return float(((predicted - split.ratings_test.double()) ** 2).mean().sqrt())


def forward_is_the_tables(values, inputs):
    split = data.movielens_split()
    forward = prediction(values, "predictions", tuple(split.ratings_test.shape))
    if not torch.allclose(forward, from_tables(values, split.users_test, split.items_test), atol=1e-3, rtol=1e-4):
        return ("the model's forward does not predict mu + b_u + b_i + p_u . q_i from its own tables; the grader "
                "measures that formula on the tables")
    return None


def tables(mean=None, user_bias=None, item_bias=None, k=1):
    """A model that needs no training, as the tables the probe reports."""
    def outputs(inputs):
        split = data.movielens_split()
        mu = float(split.ratings_train.mean())
        return {"global_mean": torch.tensor(mu if mean is None else mean(split), dtype=torch.float64),
                "user_factors": torch.zeros(data.N_USERS, k), "item_factors": torch.zeros(data.N_ITEMS, k),
                "user_bias": (user_bias(split, mu) if user_bias else torch.zeros(data.N_USERS)).reshape(-1, 1),
                "item_bias": (item_bias(split, mu) if item_bias else torch.zeros(data.N_ITEMS)).reshape(-1, 1)}
    return outputs


def mean_by(ids, values, n, shrink=0.0):
    total = torch.zeros(n, dtype=torch.float64).index_add_(0, ids, values.double())
    count = torch.zeros(n, dtype=torch.float64).index_add_(0, ids, torch.ones(len(ids), dtype=torch.float64))
    return (total / (count + shrink)).nan_to_num(0.0)  # an item nobody rated in training: no bias


def item_means(split, mu):
    return mean_by(split.items_train, split.ratings_train - mu, data.N_ITEMS)


def item_then_user_biases(split, mu, shrink=5.0):
    """Closed-form biases: the items' mean residuals, then the users' on what is left, both shrunk toward zero
    (the best of these no-training baselines on this split)."""
    items = mean_by(split.items_train, split.ratings_train - mu, data.N_ITEMS, shrink)
    return mean_by(split.users_train, split.ratings_train - mu - items[split.items_train], data.N_USERS, shrink), items


BASELINES = {"the global mean": tables(),
             "the items' means": tables(item_bias=item_means),
             "closed-form item and user biases": tables(user_bias=lambda s, mu: item_then_user_biases(s, mu)[0],
                                                        item_bias=lambda s, mu: item_then_user_biases(s, mu)[1])}


def never_rated(values, inputs):
    recs = values.get("recommended")
    if recs is None or tuple(recs.shape) != (len(SAMPLE_USERS), 10):
        return f"expected 10 movies for each of {len(SAMPLE_USERS)} users"
    split = data.movielens_split()
    for user, row in zip(SAMPLE_USERS, recs.tolist()):
        rated = set(split.items_train[split.users_train == user].tolist())
        if len(set(row)) != len(row):
            return f"user {user}: the same movie is recommended twice ({row})"
        if any(not 0 <= item < data.N_ITEMS for item in row):
            return f"user {user}: {row} holds ids that are not movies (0 to {data.N_ITEMS - 1})"
        again = sorted(set(row) & rated)
        if again:
            return (f"user {user} already rated movie(s) {again} in training, yet they are recommended: "
                    "exclude rated_items (set their scores to -inf before topk)")
    return None


# --- what wrong answers look like ------------------------------------------------------------------

def parts(i):
    u, it = i["users"], i["items"]
    P, Q, bu, bi = (i[k] for k in ("P", "Q", "bu", "bi"))
    return P[u], Q[it], bu[u, 0], bi[it, 0]


def forward_without_biases(i):
    p, q, _, _ = parts(i)
    return {"out": i["global_mean"] + (p * q).sum(1)}


def forward_without_mean(i):
    p, q, bu, bi = parts(i)
    return {"out": bu + bi + (p * q).sum(1)}


def loss_with(i, penalty):
    p, q, bu, bi = parts(i)
    error = ((i["ratings"] - (i["global_mean"] + bu + bi + (p * q).sum(1))) ** 2).sum()
    return {"loss": error + i["lam"] * penalty(i, p, q, bu, bi)}


def whole_tables(i, p, q, bu, bi):
    return sum((i[k] ** 2).sum() for k in ("P", "Q", "bu", "bi"))


def factors_only(i, p, q, bu, bi):
    return (p ** 2).sum() + (q ** 2).sum()


def rated_again(actual, expected, inputs, name):
    return bool(torch.isin(actual.cpu(), inputs["rated"].cpu()).any())


def same_set_other_order(actual, expected, inputs, name):
    return sorted(actual.tolist()) == sorted(expected.tolist()) and not torch.equal(actual, expected)


# --- checks ----------------------------------------------------------------------------------------

EXERCISE.add(
    Check("MatrixFactorization.__init__", "MatrixFactorization.__init__", 2,
          "four nn.Embedding tables (n_users x k, n_items x k, n_users x 1, n_items x 1), zero biases",
          probe_structure,
          Match(explain={"biases_start_at_zero": "initialise the bias tables to zero (nn.init.zeros_)",
                         "global_mean": "keep the global mean as self.global_mean"}),
          mf_inputs, (case(0),)),
    Check("MatrixFactorization.forward", "MatrixFactorization.forward", 3, "mu + b_u + b_i + p_u . q_i",
          probe_forward,
          Match(rtol=1e-5, atol=1e-6, mistakes=[
              like("the biases b_u and b_i are missing from the prediction", forward_without_biases),
              like("the global mean is missing from the prediction", forward_without_mean)]),
          mf_inputs, (case(1),)),
    Check("mf_loss", "mf_loss", 3, "sum of squared errors plus lam times the batch's squared factors and biases",
          probe_loss,
          Match(rtol=1e-5, atol=1e-5, mistakes=[
              like("you regularised the whole embedding tables; regularise only the rows this batch uses "
                   "(p_u, q_i, b_u, b_i of each rating)", lambda i: loss_with(i, whole_tables)),
              like("the biases are not regularised: add lam * (b_u^2 + b_i^2)", lambda i: loss_with(i, factors_only)),
              like("the regularisation is missing", lambda i: loss_with(i, lambda *a: 0.0)),
              scaled_by(lambda i: 1 / len(i["ratings"]), "your loss is the mean over the batch; the formula is "
                                                         "the sum over the batch's ratings")]),
          mf_inputs, (case(2),)),
    Check("recommend", "recommend", 2, "the top-k unrated movies by predicted rating, best first", probe_recommend,
          Match(mistakes=[
              Mistake("movies the user already rated are recommended: set their scores to -inf before topk",
                      rated_again),
              Mistake("the right movies in the wrong order: best first (torch.topk sorts them)",
                      same_set_other_order)]),
          mf_inputs, (case(3),)),
    Check("test_rmse", "train_mf", 5,
          "the model trained by your train_mf predicts the 20,000 held-out ratings (clipped to 1..5) from its tables",
          probe_trained,
          Threshold("held-out RMSE", test_rmse, threshold=0.93, higher_is_better=False, margin=0.015,
                    hint="check mf_loss and forward first; predicting the global mean for everyone gives 1.12",
                    baselines=BASELINES, baseline_margin=0.01, asked_model=[Require(forward_is_the_tables)]),
          None, (case(0),)),
    Check("recommendations", "recommend", 1,
          "for five users of the trained model: 10 distinct movies, none rated in training",
          probe_recommendations, Holds(Require(never_rated)), None, (case(0),)),
)

### BEGIN HIDDEN TESTS
# Every argument varies (the global mean, and train_mf's k, epochs, lr, lam and batch size); forward, the loss and
# the recommendations also run on the meta device (shapes and dtypes, no data), where their results must stay.
EXERCISE.add(
    EXERCISE.check("MatrixFactorization.__init__").hidden_variant(
        1, case(707, n_users=4, n_items=9, k=2, global_mean=2.75)),
    EXERCISE.check("MatrixFactorization.forward").hidden_variant(
        1, case(701, n_users=9, n_items=4, k=1, batch=1), case(702, k=8, batch=20), case(708, global_mean=2.75),
        case(709, batch=5, device="meta")),
    EXERCISE.check("mf_loss").hidden_variant(
        2, case(703, batch=1, lam=0.5), case(704, n_users=3, n_items=11, k=6, batch=30, lam=0.02),
        case(710, batch=4, device="meta")),
    EXERCISE.check("recommend").hidden_variant(1, case(705, n_items=20, top=5, user=0), case(706, n_items=3, top=1),
                                               case(711, n_items=9, top=2, device="meta")),
    Check("train_mf.arguments", "train_mf", 1, "trains with the k, epochs, lr, lam and batch_size it is given",
          probe_train_arguments,
          Match(rtol=1e-3, atol=1e-7, names={
              "k": "the number of factors of the trained model", "global_mean": "the model's global mean",
              "batch_sizes": "the sizes of the batches handed to mf_loss", "lam": "the lam handed to mf_loss",
              "largest_step": "the largest change of a parameter in one full-batch epoch (Adam's first step is lr)"}),
          training_inputs, (case(712), case(713, n=15, k=5, epochs=1, lr=0.02, lam=0.05, batch_size=4)),
          hidden=True),
)
### END HIDDEN TESTS
