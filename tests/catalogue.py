"""The mistake catalogue: realistic wrong solutions, each the reference with one edit.

Each entry names the checks that must lose their points and, where the rubric claims to
recognise the mistake, words the feedback of the first of them must contain. ``visible=False`` marks a mistake only
the grader's hidden checks can catch (the visible checks pass it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mistake:
    name: str
    exercise: str
    old: str
    new: str
    checks: tuple[str, ...]
    hint: str | None = None
    visible: bool = True

    def source(self, reference: Path) -> str:
        text = (reference / f"{self.exercise}.py").read_text()
        if text.count(self.old) != 1:
            raise AssertionError(f"{self.name}: the snippet to replace occurs {text.count(self.old)} times "
                                 f"in reference/{self.exercise}.py (it must occur once)")
        return text.replace(self.old, self.new)


EX01 = "ex01_tensors_autograd"
EX02 = "ex02_gradients"
EX03 = "ex03_regression"

CATALOGUE = [
    # --- ex01: tensors and autograd
    Mistake("x2sin_no_product_rule", EX01, "return 2 * x * torch.sin(x) + x**2 * torch.cos(x)",
            "return 2 * x * torch.cos(x)", ("x2_sin_grad",), "product rule"),
    Mistake("per_batch_forgot_zero_grad", EX01, "        w.grad = None\n", "", ("per_batch_grads",), "running sums"),
    Mistake("pairwise_took_sqrt", EX01, ".sum(dim=-1)\n", ".sum(dim=-1).sqrt()\n", ("pairwise_sq_dists",),
            "square"),
    Mistake("standardize_sample_std", EX01, "X.std(dim=0, correction=0)", "X.std(dim=0)", ("standardize",),
            "population standard deviation"),
    Mistake("predict_without_no_grad", EX01, "    with torch.no_grad():\n        return X @ w",
            "    return X @ w", ("predict_no_grad",), "torch.no_grad()"),
    Mistake("detach_forgotten", EX01, "(leaf**2 * leaf.detach()).sum()", "(leaf**2 * leaf).sum()",
            ("detached_grad",), ".detach()"),
    Mistake("grid_float64", EX01, "dtype=torch.float32, device=device", "dtype=torch.float64, device=device",
            ("make_grid",), "dtype"),
    Mistake("two_param_prediction_grads", EX01, "loss = (x * t1 * t2 - y) ** 2", "loss = x * t1 * t2",
            ("two_param_grads",), "gradients of the prediction"),
    Mistake("from_numpy_copies", EX01, "return torch.from_numpy(a)", "return torch.tensor(a)",
            ("from_numpy_shared",), "copy"),
    Mistake("matmul_by_a_product_routine", EX01, "return (A[:, :, None] * B[None, :, :]).sum(dim=1)",
            "return A @ B", ("broadcast_matmul",), "matrix-product routine"),
    Mistake("matmul_by_einsum", EX01, "return (A[:, :, None] * B[None, :, :]).sum(dim=1)",
            'return torch.einsum("ik,kj->ij", A, B)', ("broadcast_matmul",), "matrix-product routine"),
    Mistake("matmul_summed_over_the_wrong_axis", EX01, "return (A[:, :, None] * B[None, :, :]).sum(dim=1)",
            "return (A[:, :, None] * B[None, :, :]).sum(dim=0)", ("broadcast_matmul",), "wrong axis"),
    Mistake("matmul_with_b_transposed", EX01, "return (A[:, :, None] * B[None, :, :]).sum(dim=1)",
            "return (A[:, None, :] * B[None, :, :]).sum(dim=2)", ("broadcast_matmul",)),
    # --- ex02: gradients by hand
    Mistake("linear_grad_W_transposed", EX02, "g.T @ x.reshape(-1, W.shape[1])", "x.reshape(-1, W.shape[1]).T @ g",
            ("Linear.backward",), "transpose"),
    Mistake("sigmoid_grad_s_only", EX02, "return grad_out * s * (1 - s)", "return grad_out * s",
            ("Sigmoid.backward", "Sigmoid.gradcheck"), "s * (1 - s)"),
    Mistake("softmax_ce_not_divided_by_n", EX02, "return (torch.softmax(logits, dim=1) - onehot) / logits.shape[0]",
            "return torch.softmax(logits, dim=1) - onehot", ("softmax_ce_grad",), "divide by n"),
    Mistake("logsumexp_without_max_shift", EX02,
            "out = m.squeeze(-1) + torch.log(torch.exp(x - m).sum(dim=-1))", "out = torch.log(torch.exp(x).sum(dim=-1))",
            ("LogSumExp.forward",), "overflow"),
    Mistake("mse_grad_missing_factor_2", EX02, "return 2.0 / n * (X.T @ residual), 2.0 / n * residual.sum()",
            "return (X.T @ residual) / n, residual.sum() / n", ("mse_linear_grad",), "factor 2"),
    Mistake("logistic_grad_sign_flipped", EX02, "error = torch.sigmoid(X @ w + b) - y",
            "error = y - torch.sigmoid(X @ w + b)", ("logistic_nll_grad",), "sign is flipped"),
    Mistake("linear_forward_without_bias", EX02, "        return x @ W.T + b\n", "        return x @ W.T\n",
            ("Linear.forward",), "bias"),
    Mistake("softplus_overflows", EX02, "torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))",
            "torch.log(1 + torch.exp(x))", ("Softplus.forward",), "overflow"),
    Mistake("softplus_grad_without_denominator", EX02, "return grad_out * torch.sigmoid(x)",
            "return grad_out * torch.exp(x)", ("Softplus.backward", "Softplus.gradcheck"), "denominator"),
    Mistake("linear_backward_2d_only", EX02, "return grad_out @ W, g.T @ x.reshape(-1, W.shape[1]), g.sum(dim=0)",
            "return grad_out @ W, grad_out.T @ x, grad_out.sum(dim=0)", ("Linear.backward.hidden",), visible=False),
    # --- ex03: regression by autograd
    Mistake("logistic_fit_without_intercept", EX03,
            "binary_cross_entropy_with_logits(X @ w + b, y), [w, b])", "binary_cross_entropy_with_logits(X @ w, y), [w, b])",
            ("fit_logistic_regression",), "without an intercept"),
    Mistake("ols_fit_without_intercept", EX03, "minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])",
            "minimize(lambda: ((X @ w - y) ** 2).mean(), [w, b])", ("fit_linear_regression",), "without an intercept"),
    Mistake("forward_applies_sigmoid", EX03, "return self.linear(x).squeeze(-1)",
            "return torch.sigmoid(self.linear(x)).squeeze(-1)", ("LogisticRegression.forward",), "return the logits"),
    Mistake("sigmoid_before_bce_with_logits", EX03, "return nn.BCEWithLogitsLoss()(model(X), y)",
            "return nn.BCEWithLogitsLoss()(torch.sigmoid(model(X)), y)", ("logistic_loss",), "sigmoid before"),
    Mistake("forward_keeps_last_dim", EX03, "return self.linear(x).squeeze(-1)", "return self.linear(x)",
            ("LogisticRegression.forward",), "shape"),
    Mistake("loss_sum_not_mean", EX03, "return nn.BCEWithLogitsLoss()(model(X), y)",
            "return nn.BCEWithLogitsLoss(reduction='sum')(model(X), y)", ("logistic_loss",), "mean"),
    Mistake("lbfgs_stops_early", EX03, "optimizer = torch.optim.LBFGS(params, lr=1, max_iter=max_iter,",
            "optimizer = torch.optim.LBFGS(params, lr=1, max_iter=4,",
            ("minimize", "fit_linear_regression", "fit_logistic_regression"), None),
]

EX04 = "ex04_training_loop"
EX05 = "ex05_heteroscedastic"
EX06 = "ex06_cnn_mnist"
EX07 = "ex07_matrix_factorization"
EX08 = "ex08_rnn_sunspots"

CATALOGUE += [
    # --- ex04: the training loop
    Mistake("epoch_without_zero_grad", EX04, "        optimizer.zero_grad()\n        loss = loss_fn(model(xb), yb)\n",
            "        loss = loss_fn(model(xb), yb)\n", ("train_epoch",), "never zeroed"),
    Mistake("epoch_mean_of_batch_means", EX04, "        total += loss.item() * len(yb)\n        count += len(yb)\n",
            "        total += loss.item()\n        count += 1\n", ("train_epoch",), "weight each batch"),
    Mistake("evaluate_in_train_mode", EX04, "    model.eval()\n    total, correct, count = 0.0, 0, 0\n",
            "    total, correct, count = 0.0, 0, 0\n", ("evaluate",), "model.eval()"),
    Mistake("evaluate_with_autograd", EX04, "    with torch.no_grad():\n        for xb, yb in loader:\n            out = model(xb)\n",
            "    if True:\n        for xb, yb in loader:\n            out = model(xb)\n", ("evaluate",), "torch.no_grad()"),
    Mistake("mlp_softmax_output", EX04, "        return self.layers(x)\n",
            "        return torch.softmax(self.layers(x), dim=1)\n", ("MLP.forward",), "applied a softmax"),
    Mistake("loader_without_seed", EX04, "    generator = torch.Generator().manual_seed(seed) if shuffle else None\n",
            "    generator = None\n", ("make_loader",), "same seed"),
    # --- ex05: heteroscedastic regression
    Mistake("variance_as_logvar", EX05, "logvar + (y - mu) ** 2 * torch.exp(-logvar)).mean()",
            "torch.log(logvar) + (y - mu) ** 2 / logvar).mean()", ("heteroscedastic_gaussian_nll",),
            "logvar as if it were the variance"),
    Mistake("nll_divides_by_an_overflowing_variance", EX05, "(y - mu) ** 2 * torch.exp(-logvar)).mean()",
            "(y - mu) ** 2 / torch.exp(logvar)).mean()", ("heteroscedastic_gaussian_nll.grad.hidden",), visible=False),
    Mistake("hetero_body_tanh_first", EX05, "self.body = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(),",
            "self.body = nn.Sequential(nn.Tanh(), nn.Linear(1, hidden),", ("HeteroscedasticNet",), "in this order"),
    Mistake("nll_without_half", EX05, "return 0.5 * (math.log(2 * math.pi)", "return (math.log(2 * math.pi)",
            ("heteroscedastic_gaussian_nll",), "twice"),
    Mistake("nll_sum_not_mean", EX05, "* torch.exp(-logvar)).mean()", "* torch.exp(-logvar)).sum()",
            ("heteroscedastic_gaussian_nll",), "the sum over elements"),
    Mistake("nll_without_constant", EX05, "(math.log(2 * math.pi) + logvar +", "(logvar +",
            ("heteroscedastic_gaussian_nll",), "0.5 * log(2 pi)"),
    Mistake("constant_variance", EX05, "return self.mu_head(h), self.logvar_head(h)",
            "return self.mu_head(h), self.logvar_head(h).mean() * torch.ones_like(x)",
            ("fit_heteroscedastic.sigma",), "does not give logvar_head(body(x)) as its logvar"),
    Mistake("trained_on_mse", EX05, "        loss = heteroscedastic_gaussian_nll(mu, logvar, y)\n        loss.backward()",
            "        loss = ((mu - y) ** 2).mean()\n        loss.backward()", ("fit_heteroscedastic.coverage",)),
    # --- ex06: a CNN on MNIST
    Mistake("cnn_dropout_on_the_logits", EX06, "nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),",
            "nn.ReLU(), nn.Linear(128, 10), nn.Dropout(0.5),", ("CNN",), "the docstring's"),
    Mistake("cnn_softmax_output", EX06, "        return self.classifier(self.features(x))\n",
            "        return torch.softmax(self.classifier(self.features(x)), dim=1)\n", ("CNN",), "probabilities"),
    Mistake("softmax_before_cross_entropy", EX06, "            loss = loss_fn(model(xb), yb)\n",
            "            loss = loss_fn(torch.softmax(model(xb), dim=1), yb)\n", ("train_cnn",), "softmax before"),
    Mistake("cnn_without_zero_grad", EX06, "            optimizer.zero_grad()\n            loss = loss_fn(model(xb), yb)\n",
            "            loss = loss_fn(model(xb), yb)\n", ("train_cnn",), "never zeroed"),
    Mistake("predict_in_train_mode", EX06, "    model.eval()\n    with torch.no_grad():\n        return torch.cat",
            "    with torch.no_grad():\n        return torch.cat", ("predict",), "model.eval()"),
    Mistake("loader_not_shuffled", EX06, "batch_size=batch_size, shuffle=True,\n                      generator=torch.Generator().manual_seed(seed))",
            "batch_size=batch_size, shuffle=False)", ("mnist_loader",)),
    # --- ex07: matrix factorization
    Mistake("mf_without_biases", EX07,
            "return self.global_mean + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + (p * q).sum(dim=1)",
            "return self.global_mean + (p * q).sum(dim=1)", ("MatrixFactorization.forward",), "biases b_u and b_i"),
    Mistake("mf_regularises_whole_tables", EX07,
            "    penalty = (model.user_factors(users) ** 2).sum() + (model.item_factors(items) ** 2).sum() \\\n"
            "        + (model.user_bias(users) ** 2).sum() + (model.item_bias(items) ** 2).sum()\n",
            "    penalty = sum((t.weight ** 2).sum() for t in (model.user_factors, model.item_factors, model.user_bias,"
            " model.item_bias))\n", ("mf_loss",), "whole embedding tables"),
    Mistake("mf_biases_not_regularised", EX07,
            " \\\n        + (model.user_bias(users) ** 2).sum() + (model.item_bias(items) ** 2).sum()\n", "\n",
            ("mf_loss",), "biases are not regularised"),
    Mistake("mf_loss_is_a_mean", EX07, "    return error + lam * penalty\n",
            "    return (error + lam * penalty) / len(ratings)\n", ("mf_loss",), "mean over the batch"),
    Mistake("recommends_rated_movies", EX07, "    scores[rated_items.to(device)] = float(\"-inf\")\n", "",
            ("recommend", "recommendations"), "already rated"),
    # --- ex08: an RNN on sunspots
    Mistake("windows_target_inside", EX08, "    y = series[history:]\n", "    y = series[history - 1:-1]\n",
            ("make_windows",), "last value inside its window"),
    Mistake("windows_one_short", EX08, "    X = series.unfold(0, history, 1)[:-1].unsqueeze(-1)\n    y = series[history:]\n",
            "    X = series.unfold(0, history, 1)[:-2].unsqueeze(-1)\n    y = series[history:-1]\n",
            ("make_windows",), "one window too few"),
    Mistake("standardized_with_test_years", EX08, "    train = series[:n_train]\n", "    train = series\n",
            ("standardize",), "include the held-out values"),
    Mistake("biased_std", EX08, "train.std().item()", "train.std(correction=0).item()", ("standardize",), "unbiased"),
    Mistake("rnn_without_zero_grad", EX08, "            optimizer.zero_grad()\n            loss = nn.functional.mse_loss(",
            "            loss = nn.functional.mse_loss(", ("train_rnn",), "never zeroed"),
    Mistake("rnn_reads_first_step", EX08, "return self.head(out[:, -1])[:, 0]", "return self.head(out[:, 0])[:, 0]",
            ("test_rmse",)),
]

# Mistakes that once scored full marks, one class each (where the class was seen, and elsewhere): a function that
# ignores the device it is asked for (caught on a CPU-only machine by cases on the meta device), a formula that
# overflows only at large inputs, a result left attached to the graph where the docstring says detached, an
# argument ignored, a figure that draws the wrong quantity, a layer that never influences the output, and a
# returned loss that is not the one at the returned parameters.
ON_META = "inputs were on meta"
ATTACHED = "attached to the autograd graph"
UNUSED = "never influence"

CATALOGUE += [
    # --- the device asked for
    Mistake("grid_ignores_device", EX01, "dtype=torch.float32, device=device)", "dtype=torch.float32)",
            ("make_grid.hidden",), ON_META, visible=False),
    Mistake("ols_start_on_the_cpu", EX03,
            "    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)\n"
            "    b = torch.zeros((), dtype=X.dtype, device=X.device, requires_grad=True)\n"
            "    minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])",
            "    w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)\n"
            "    b = torch.zeros((), dtype=X.dtype, requires_grad=True)\n"
            "    minimize(lambda: ((X @ w + b - y) ** 2).mean(), [w, b])",
            ("fit_linear_regression.hidden",), "not on the expected device meta", visible=False),
    Mistake("rnn_state_on_the_cpu", EX08, "        out, _ = self.rnn(X)\n",
            "        h0 = torch.zeros(1, X.shape[0], self.rnn.hidden_size)\n"
            "        out, _ = self.rnn(X, (h0, torch.zeros_like(h0)))\n", ("SunspotRNN.device",),
            "not at the same device", visible=False),
    # --- formulas that overflow only at large inputs
    Mistake("softmax_ce_grad_naive_softmax", EX02, "return (torch.softmax(logits, dim=1) - onehot) / logits.shape[0]",
            "return (torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True) - onehot) / logits.shape[0]",
            ("softmax_ce_grad.hidden",), visible=False),
    Mistake("softplus_grad_naive_sigmoid", EX02, "return grad_out * torch.sigmoid(x)",
            "return grad_out * torch.exp(x) / (1 + torch.exp(x))", ("Softplus.backward.hidden",), visible=False),
    Mistake("nll_log_of_the_variance", EX05, "logvar + (y - mu) ** 2 * torch.exp(-logvar)).mean()",
            "torch.log(torch.exp(logvar)) + (y - mu) ** 2 / torch.exp(logvar)).mean()",
            ("heteroscedastic_gaussian_nll.hidden",), visible=False),
    Mistake("bce_on_probabilities", EX03, "return nn.BCEWithLogitsLoss()(model(X), y)",
            "return nn.BCELoss()(torch.sigmoid(model(X)), y)", ("logistic_loss.hidden",), visible=False),
    # --- results left attached to the graph
    Mistake("logistic_fit_left_attached", EX03,
            "    minimize(lambda: nn.functional.binary_cross_entropy_with_logits(X @ w + b, y), [w, b])\n"
            "    return w.detach(), b.detach()",
            "    minimize(lambda: nn.functional.binary_cross_entropy_with_logits(X @ w + b, y), [w, b])\n"
            "    return w, b", ("fit_logistic_regression",), ATTACHED),
    Mistake("autograd_derivative_keeps_its_graph", EX01,
            "    (leaf**2 * torch.sin(leaf)).sum().backward()\n    return leaf.grad",
            "    return torch.autograd.grad((leaf**2 * torch.sin(leaf)).sum(), leaf, create_graph=True)[0]",
            ("x2_sin_autograd",), ATTACHED),
    # --- an argument ignored
    Mistake("hetero_net_ignores_hidden", EX05,
            "        self.mu_head = nn.Linear(hidden, 1)\n        self.logvar_head = nn.Linear(hidden, 1)\n",
            "        self.body = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh())\n"
            "        self.mu_head = nn.Linear(32, 1)\n        self.logvar_head = nn.Linear(32, 1)\n",
            ("HeteroscedasticNet.hidden",), "use the `hidden` argument", visible=False),
    Mistake("sunspot_rnn_ignores_hidden", EX08, "        self.rnn = nn.LSTM(1, hidden, batch_first=True)\n",
            "        self.rnn = nn.LSTM(1, 32, batch_first=True)\n        hidden = 32\n",
            ("SunspotRNN.hidden",), "use the `hidden` argument", visible=False),
    Mistake("epoch_ignores_its_loss_fn", EX04, "        loss = loss_fn(model(xb), yb)\n        loss.backward()",
            "        loss = nn.functional.cross_entropy(model(xb), yb)\n        loss.backward()",
            ("train_epoch.hidden",), visible=False),
    Mistake("mf_training_ignores_lam", EX07, "loss = mf_loss(model, users[batch], items[batch], ratings[batch], lam)",
            "loss = mf_loss(model, users[batch], items[batch], ratings[batch], 0.11)", ("train_mf.arguments",),
            visible=False),
    Mistake("minimize_ignores_max_iter", EX03, "optimizer = torch.optim.LBFGS(params, lr=1, max_iter=max_iter,",
            "optimizer = torch.optim.LBFGS(params, lr=1, max_iter=500,", ("minimize.max_iter",), visible=False),
    # --- figures that draw the wrong quantity
    Mistake("band_of_the_variance", EX05, "    sigma = torch.exp(logvar / 2)\n", "    sigma = torch.exp(logvar)\n",
            ("plot_band",), "variance"),
    Mistake("loss_curves_cumulated", EX04, "        ax.plot(range(1, len(losses) + 1), losses, label=name)",
            "        ax.plot(range(1, len(losses) + 1), [sum(losses[:k + 1]) for k in range(len(losses))],\n"
            "                label=name)",
            ("plot_loss_curves",), "no line draws"),
    Mistake("digits_titled_by_position", EX06, 'ax.set_title(f"predicted {int(predicted[k])}", fontsize=9)',
            'ax.set_title(f"predicted {k}", fontsize=9)', ("plot_predictions",), "title says"),
    # --- a layer that never influences the output
    Mistake("lstm_two_layers_read_from_the_first", EX08,
            "        self.rnn = nn.LSTM(1, hidden, batch_first=True)\n        self.head = nn.Linear(hidden, 1)\n"
            "        ### END SOLUTION\n\n    def forward(self, X: torch.Tensor) -> torch.Tensor:\n"
            "        ### BEGIN SOLUTION\n        out, _ = self.rnn(X)\n        return self.head(out[:, -1])[:, 0]",
            "        self.rnn = nn.LSTM(1, hidden, num_layers=2, batch_first=True)\n"
            "        self.head = nn.Linear(hidden, 1)\n"
            "        ### END SOLUTION\n\n    def forward(self, X: torch.Tensor) -> torch.Tensor:\n"
            "        ### BEGIN SOLUTION\n        _, (h, _) = self.rnn(X)\n        return self.head(h[0])[:, 0]",
            ("SunspotRNN",), UNUSED),
    Mistake("cnn_conv_never_used", EX06, "        self.classifier = nn.Sequential(\n",
            "        self.refine = nn.Conv2d(32, 32, 3, padding=1)\n        self.classifier = nn.Sequential(\n",
            ("CNN",), UNUSED),
    Mistake("hetero_body_layer_skipped", EX05, "        h = self.body(x)\n", "        h = self.body[:2](x)\n",
            ("HeteroscedasticNet",), UNUSED),
    # --- a returned loss that is not the one at the returned parameters
    Mistake("minimize_returns_the_step_loss", EX03,
            "    optimizer.step(closure)\n    with torch.no_grad():\n        return float(loss_fn())",
            "    return float(optimizer.step(closure))", ("minimize",)),
    Mistake("minimize_returns_the_starting_loss", EX03,
            "    optimizer.step(closure)\n    with torch.no_grad():\n        return float(loss_fn())",
            "    with torch.no_grad():\n        start = float(loss_fn())\n"
            "    optimizer.step(closure)\n    return start",
            ("minimize",)),
]

EX09 = "ex09_attention"

CATALOGUE += [
    # --- ex09: attention
    Mistake("attention_without_scale", EX09, "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
            "scores = q @ k.transpose(-2, -1)", ("scaled_dot_product_attention",), "not divided by sqrt(d)"),
    Mistake("softmax_over_the_queries", EX09, "weights = torch.softmax(scores, dim=-1)",
            "weights = torch.softmax(scores, dim=-2)", ("scaled_dot_product_attention",), "over the queries"),
    Mistake("mask_inverted", EX09, 'scores = scores.masked_fill(~allowed, float("-inf"))',
            'scores = scores.masked_fill(allowed, float("-inf"))', ("scaled_dot_product_attention.mask",),
            "the mask is inverted"),
    Mistake("mask_after_softmax", EX09,
            '    if allowed is not None:\n        scores = scores.masked_fill(~allowed, float("-inf"))\n'
            "    weights = torch.softmax(scores, dim=-1)\n",
            "    weights = torch.softmax(scores, dim=-1)\n    if allowed is not None:\n"
            "        weights = weights * allowed\n",
            ("scaled_dot_product_attention.mask", "scaled_dot_product_attention.masked_weights"), "after the softmax"),
    Mistake("causal_upper_triangle", EX09, ".tril()", ".triu()", ("scaled_dot_product_attention.causal",),
            "keeps the later keys"),
    Mistake("softmax_without_max_shift", EX09, "weights = torch.softmax(scores, dim=-1)",
            "weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)",
            ("scaled_dot_product_attention.large_scores",), "subtract each row's maximum"),
    Mistake("attention_weights_detached", EX09, "weights = torch.softmax(scores, dim=-1)",
            "weights = torch.softmax(scores, dim=-1).detach()", ("scaled_dot_product_attention.gradcheck",),
            "gradcheck failed"),
    Mistake("heads_merged_without_transpose", EX09,
            "return self.out_proj(out.transpose(1, 2).reshape(B, L, d_model))",
            "return self.out_proj(out.reshape(B, L, d_model))", ("SelfAttention.forward", "SelfAttention.equivariant"),
            "merged by reshaping"),
    Mistake("attention_in_one_head", EX09, "self.n_heads = n_heads", "self.n_heads = 1", ("SelfAttention.forward",),
            "one head over all d_model features"),
    Mistake("out_proj_forgotten", EX09, "return self.out_proj(out.transpose(1, 2).reshape(B, L, d_model))",
            "return out.transpose(1, 2).reshape(B, L, d_model)", ("SelfAttention", "SelfAttention.forward"), UNUSED),
    Mistake("mask_as_multihead_attention_wants_it", EX09, "mask = mask.unsqueeze(-3)", "mask = ~mask.unsqueeze(-3)",
            ("SelfAttention.mask",), "the opposite of nn.MultiheadAttention's attn_mask"),
    Mistake("selector_reads_the_first_position", EX09, "return self.head(self.attention(h)[:, -1])",
            "return self.head(self.attention(h)[:, 0])", ("TokenSelector.forward",), "the query is the last one"),
    Mistake("selector_without_zero_grad", EX09,
            "            optimizer.zero_grad()\n            loss = nn.functional.cross_entropy(",
            "            loss = nn.functional.cross_entropy(", ("train_selector",), "never zeroed"),
    Mistake("heatmap_transposed", EX09, "ax.imshow(weights.detach().cpu().numpy(),",
            "ax.imshow(weights.detach().cpu().numpy().T,", ("plot_attention",), "transpose of the weights"),
    Mistake("causal_triangle_on_the_cpu", EX09, "torch.ones(L, S, dtype=torch.bool, device=q.device)",
            "torch.ones(L, S, dtype=torch.bool)", ("scaled_dot_product_attention.causal.hidden",), "on device meta",
            visible=False),
    Mistake("selector_built_on_the_cpu", EX09, "model = TokenSelector().to(X_train.device)", "model = TokenSelector()",
            ("fit_selector.arguments",), ON_META, visible=False),
]

EX10 = "ex10_data_pipeline"

CATALOGUE += [
    # --- ex10: a data pipeline (names start with the exercise: `pytest tests/test_mistakes.py -k ex10`)
    Mistake("ex10_stats_from_all_rows", EX10,
            "    train = TableDataset(rows(train_idx), numeric, categorical, target)\n"
            "    val = TableDataset(rows(val_idx), numeric, categorical, target, stats=train.stats)\n",
            "    stats = fit_stats(table, numeric, categorical)\n"
            "    train = TableDataset(rows(train_idx), numeric, categorical, target, stats=stats)\n"
            "    val = TableDataset(rows(val_idx), numeric, categorical, target, stats=stats)\n",
            ("make_datasets", "make_datasets.rand_hie"), "yours match the statistics of all rows"),
    Mistake("ex10_validation_fits_its_own_stats", EX10,
            "    val = TableDataset(rows(val_idx), numeric, categorical, target, stats=train.stats)\n",
            "    val = TableDataset(rows(val_idx), numeric, categorical, target)\n",
            ("make_datasets", "make_datasets.rand_hie"), "statistics of the validation rows themselves"),
    Mistake("ex10_dataset_refits_given_stats", EX10,
            "self.stats = fit_stats(table, numeric, categorical) if stats is None else stats",
            "self.stats = fit_stats(table, numeric, categorical)", ("TableDataset", "make_datasets"),
            "fitted statistics of its own rows"),
    Mistake("ex10_csv_split_on_commas", EX10,
            "        reader = csv.reader(f)\n        header = next(reader)\n        rows = list(reader)\n",
            "        lines = f.read().splitlines()\n"
            "        header, rows = lines[0].split(\",\"), [line.split(\",\") for line in lines[1:]]\n",
            ("read_csv",), "not line.split"),
    Mistake("ex10_split_rounds_down", EX10, "    n_val = round(val_fraction * n)\n", "    n_val = int(val_fraction * n)\n",
            ("split_indices",), "int() rounds down"),
    Mistake("ex10_split_swapped", EX10, "return perm[n_val:], perm[:n_val]", "return perm[:n_val], perm[n_val:]",
            ("split_indices",), "swapped"),
    Mistake("ex10_missing_counted_as_zero", EX10,
            "[float(cell) for cell in table[name] if cell != \"\"], dtype=torch.float64)",
            "[float(cell) if cell != \"\" else 0.0 for cell in table[name]], dtype=torch.float64)",
            ("fit_stats",), "counted as 0"),
    Mistake("ex10_stats_unbiased_std", EX10, "values.std(correction=0)", "values.std()", ("fit_stats",),
            "population standard deviation"),
    Mistake("ex10_categories_in_order_seen", EX10, "sorted({cell for cell in table[name] if cell != \"\"})",
            "list(dict.fromkeys(cell for cell in table[name] if cell != \"\"))", ("fit_stats",), "first show them"),
    Mistake("ex10_empty_cell_as_a_category", EX10, "sorted({cell for cell in table[name] if cell != \"\"})",
            "sorted(set(table[name]))", ("fit_stats",), "not a category"),
    Mistake("ex10_missing_read_as_zero", EX10,
            "z = (torch.where(missing, stats.mean, values) - stats.mean) / stats.std",
            "z = (values.nan_to_num(0.0) - stats.mean) / stats.std", ("encode",), "read as 0"),
    Mistake("ex10_no_missing_indicators", EX10, "blocks = [z, missing.double()]", "blocks = [z]", ("encode",),
            "missing-indicator columns are missing"),
    Mistake("ex10_loader_without_collate_fn", EX10,
            "DataLoader(train, batch_size=batch_size, shuffle=True, collate_fn=collate_rows,",
            "DataLoader(train, batch_size=batch_size, shuffle=True,", ("make_loaders",), "collate_fn=collate_rows"),
    Mistake("ex10_pixel_stats_unbiased", EX10, "pixels.std(correction=0)", "pixels.std()", ("pixel_stats",),
            "population standard deviation"),
    Mistake("ex10_pixels_not_scaled", EX10, "[v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]",
            "[v2.ToImage(), v2.ToDtype(torch.float32)]",
            ("image_transform", "image_transform.statistics"), "not scaled to [0, 1]"),
    Mistake("ex10_normalised_before_augmenting", EX10,
            "    if augment:\n        steps.append(v2.RandomAffine(degrees=15, translate=(0.1, 0.1)))\n"
            "    steps.append(v2.Normalize([mean], [std]))\n",
            "    steps.append(v2.Normalize([mean], [std]))\n"
            "    if augment:\n        steps.append(v2.RandomAffine(degrees=15, translate=(0.1, 0.1)))\n",
            ("augment_images",), "augment before Normalize"),
    Mistake("ex10_batch_augmented_at_once", EX10,
            "torch.stack([transform(image) for image in images]).as_subclass(torch.Tensor)",
            "transform(images).as_subclass(torch.Tensor)", ("augment_images",), "each image on its own"),
    Mistake("ex10_augmentation_not_seeded", EX10, "    torch.manual_seed(seed)\n", "", ("augment_images",),
            "torch.manual_seed(seed)"),
    Mistake("ex10_constant_column_divided_by_zero", EX10,
            "stds.append(values.std(correction=0).item() if values.max() > values.min() else 1.0)",
            "stds.append(values.std(correction=0).item())", ("fit_stats.hidden",), "standard deviation of 0",
            visible=False),
    Mistake("ex10_csv_opened_without_newline", EX10, "with open(path, newline=\"\") as f:", "with open(path) as f:",
            ("read_csv.hidden",), "newline=", visible=False),
]

EX11 = "ex11_checkpoints"

CATALOGUE += [
    # --- ex11: checkpoints and the modes of a model
    Mistake("ex11_optimizer_state_not_restored", EX11, '    optimizer.load_state_dict(checkpoint["optimizer"])\n', "",
            ("load_checkpoint", "resume", "resume.exact"), "momentum buffers were not restored"),
    Mistake("ex11_scheduler_not_restored", EX11, '    scheduler.load_state_dict(checkpoint["scheduler"])\n', "",
            ("resume", "load_checkpoint", "resume.exact"), "the scheduler was not restored"),
    Mistake("ex11_rng_not_restored", EX11, '    torch.set_rng_state(checkpoint["rng"].cpu())\n', "",
            ("resume", "load_checkpoint", "resume.exact"), "the random state was not restored"),
    Mistake("ex11_epoch_not_returned", EX11, '    return int(checkpoint["epoch"])\n', "    return 0\n",
            ("resume", "load_checkpoint", "resume.exact"), "resumed from epoch 0"),
    Mistake("ex11_fit_ignores_start_epoch", EX11, "for _ in range(start_epoch, epochs):", "for _ in range(epochs):",
            ("fit", "resume", "resume.exact"), "fit should run the epochs start_epoch"),
    Mistake("ex11_evaluate_without_eval", EX11, "    model.eval()\n    with torch.no_grad():\n        loss =",
            "    with torch.no_grad():\n        loss =", ("evaluate",), "call model.eval() before evaluating"),
    Mistake("ex11_buffers_compared_without_clone", EX11, "before = [b.clone() for b in clone.buffers()]",
            "before = list(clone.buffers())", ("mode_effects",), "without .clone()"),
    Mistake("ex11_sgd_decoupled_weight_decay", EX11,
            "        d = g + weight_decay * p\n        b = d if buffers is None else momentum * buffers[k] + d\n"
            "        new_params.append(p - lr * b)\n",
            "        b = g if buffers is None else momentum * buffers[k] + g\n"
            "        new_params.append(p * (1 - lr * weight_decay) - lr * b)\n", ("sgd_step",), "decoupled"),
]

EX12 = "ex12_gradient_flow"

CATALOGUE += [
    # --- ex12: watching gradients
    Mistake("ex12_norms_include_biases", EX12,
            "return torch.stack([m.weight.grad.norm() for m in model.modules() if isinstance(m, nn.Linear)])",
            "return torch.stack([torch.cat([m.weight.grad.flatten(), m.bias.grad]).norm() for m in model.modules()\n"
            "                        if isinstance(m, nn.Linear)])",
            ("weight_grad_norms",), "the biases' gradients were counted too"),
    Mistake("ex12_hook_norms_in_arrival_order", EX12,
            "    norms = [None] * len(activations)\n\n    def forward_hook(index):\n"
            "        def hook(module, inputs, output):\n            def store(grad):\n"
            "                norms[index] = grad.norm()\n",
            "    norms = []\n\n    def forward_hook(index):\n"
            "        def hook(module, inputs, output):\n            def store(grad):\n"
            "                norms.append(grad.norm())\n",
            ("activation_grad_norms",), "from the last activation to the first"),
    Mistake("ex12_hooks_left_on_the_model", EX12,
            "    finally:\n        for handle in handles:\n            handle.remove()\n",
            "    finally:\n        pass\n",
            ("activation_grad_norms",), "handle.remove()"),
    Mistake("ex12_hook_on_the_activation_input", EX12, "output.register_hook(store)",
            "inputs[0].register_hook(store)", ("activation_grad_norms",), "with respect to each activation's input"),
    Mistake("ex12_one_activation_module_shared", EX12,
            "    layers, n_in = [], d_in\n    for _ in range(depth):\n"
            "        layers += [nn.Linear(n_in, width), ACTIVATIONS[activation]()]\n",
            "    layers, n_in, act = [], d_in, ACTIVATIONS[activation]()\n    for _ in range(depth):\n"
            "        layers += [nn.Linear(n_in, width), act]\n",
            ("deep_mlp",), "make a new one per block"),
    Mistake("ex12_default_init", EX12,
            '            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)\n'
            "            nn.init.zeros_(layer.bias)\n",
            "            pass\n",
            ("deep_mlp.init", "gradient_profile", "compare_activations"), "kaiming_normal_"),
    Mistake("ex12_latent_before_tanh", EX12, "return model.layers[:2]((X - model.mean) / model.std)",
            "return model.layers[0]((X - model.mean) / model.std)", ("latent", "plot_latent"), "before the"),
    Mistake("ex12_profile_model_left_on_the_cpu", EX12,
            "model = deep_mlp(x.shape[1], width, depth, n_classes, activation, seed).to(x.device)",
            "model = deep_mlp(x.shape[1], width, depth, n_classes, activation, seed)",
            ("gradient_profile.hidden",), "expected device meta", visible=False),
]
