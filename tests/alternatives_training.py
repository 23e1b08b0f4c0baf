"""Alternative correct solutions of ex04-ex05: training loops, a loss and a small network; see ``alternatives``."""

from __future__ import annotations

from alternative import EX04, EX05, Alternative, code

TRAINING_ALTERNATIVES: list[Alternative] = []

# --- ex04: the training loop ------------------------------------------------------------------------------

TRAINING_ALTERNATIVES += [
    Alternative("ex04_functional_loss_and_decorators", EX04, (
        ("from torch import nn\n", code("""
            from collections import OrderedDict

            from torch import nn
            """, 0)),
        (code("""
            if len(X) != len(y):
                raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
            self.X, self.y = X, y
            """, 8),
         code("""
            if X.shape[0] != y.shape[0]:
                raise ValueError("TensorPairs: X and y must have the same number of rows")
            self.tensors = (X, y)
            """, 8)),
        ("        return len(self.X)\n", "        return self.tensors[0].shape[0]\n"),
        ("        return self.X[i], self.y[i]\n", "        return tuple(t[i] for t in self.tensors)\n"),
        ("    generator = torch.Generator().manual_seed(seed) if shuffle else None\n", code("""
            generator = torch.Generator()
            generator.manual_seed(seed)
            """)),
        (code("""
            total, count = 0.0, 0
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(yb)
                count += len(yb)
            return total / count
            """),
         code("""
            losses, sizes = [], []
            for xb, yb in loader:
                out = model(xb)
                loss = loss_fn(out, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                sizes.append(yb.shape[0])
            return sum(l * n for l, n in zip(losses, sizes)) / sum(sizes)
            """)),
        ("def evaluate(", "@torch.no_grad()\ndef evaluate("),
        (code("""
            model.eval()
            total, correct, count = 0.0, 0, 0
            with torch.no_grad():
                for xb, yb in loader:
                    out = model(xb)
                    total += loss_fn(out, yb).item() * len(yb)
                    correct += (out.argmax(dim=1) == yb).sum().item()
                    count += len(yb)
            """),
         code("""
            model.train(False)
            total, correct, count = 0.0, 0, 0
            for xb, yb in loader:
                out = model(xb)
                total += float(loss_fn(out, yb)) * len(xb)
                correct += int((out.argmax(dim=-1) == yb).sum())
                count += len(xb)
            """)),
        (code("""
            self.layers = nn.Sequential(
                nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(p_drop),
                nn.Linear(n_hidden, n_hidden), nn.ReLU(),
                nn.Linear(n_hidden, n_out),
            )
            """, 8),
         code("""
            self.layers = nn.Sequential(OrderedDict([
                ("hidden1", nn.Linear(n_in, n_hidden)), ("relu1", nn.ReLU()), ("dropout", nn.Dropout(p_drop)),
                ("hidden2", nn.Linear(n_hidden, n_hidden)), ("relu2", nn.ReLU()),
                ("out", nn.Linear(n_hidden, n_out)),
            ]))
            """, 8)),
        ("        return self.layers(x)\n", code("""
            for layer in self.layers:
                x = layer(x)
            return x
            """, 8)),
        ("    model = MLP(X_train.shape[1], hidden, 3).to(X_train.device)\n",
         "    model = MLP(4, hidden, 3).to(X_train.device)\n"),
        (code("""
            loss_fn = nn.CrossEntropyLoss()
            losses = [train_epoch(model, loader, loss_fn, optimizer) for _ in range(epochs)]
            """),
         code("""
            losses = []
            for epoch in range(epochs):
                losses.append(train_epoch(model, loader, nn.functional.cross_entropy, optimizer))
            """)),
        (code("""
            curves = {}
            for name, make in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam)):
            """),
         code("""
            curves = {}
            for name, make in {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}.items():
            """)),
        (code("""
            curves[name] = [train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer) for _ in range(epochs)]
            """, 8),
         code("""
            curves[name] = [train_epoch(model, loader, nn.functional.cross_entropy, optimizer) for _ in range(epochs)]
            """, 8)),
        (code("""
            fig, ax = plt.subplots(figsize=(6, 4))
            for name, losses in curves.items():
                ax.plot(range(1, len(losses) + 1), losses, label=name)
            ax.set_xlabel("epoch")
            ax.set_ylabel("loss")
            """),
         code("""
            fig, ax = plt.subplots()
            for name in curves:
                ax.plot(curves[name], label=name)
            ax.set(xlabel="epoch", ylabel="loss")
            """)),
    ), "a tuple of tensors in the Dataset, a generator even unshuffled, zero_grad after the forward, "
       "@torch.no_grad() and train(False), an OrderedDict Sequential run layer by layer, F.cross_entropy"),
    Alternative("ex04_inference_mode_and_hand_cross_entropy", EX04, (
        ("        if len(X) != len(y):\n", "        if X.size(0) != y.size(0):\n"),
        ("        return len(self.X)\n", "        return self.y.shape[0]\n"),
        (code("""
            generator = torch.Generator().manual_seed(seed) if shuffle else None
            return DataLoader(TensorPairs(X, y), batch_size=batch_size, shuffle=shuffle, generator=generator)
            """),
         code("""
            order = {"shuffle": True, "generator": torch.Generator().manual_seed(seed)} if shuffle else {}
            return DataLoader(TensorPairs(X, y), batch_size, **order)
            """)),
        (code("""
            model.train()
            total, count = 0.0, 0
            """),
         code("""
            model.train(True)
            total, count = 0.0, 0
            """)),
        (code("""
            total += loss.item() * len(yb)
            count += len(yb)
            """, 8),
         code("""
            total += loss.item() * yb.numel()
            count += yb.numel()
            """, 8)),
        (code("""
            with torch.no_grad():
                for xb, yb in loader:
            """),
         code("""
            with torch.inference_mode():
                for xb, yb in loader:
            """)),
        (code("""
            self.layers = nn.Sequential(
                nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(p_drop),
                nn.Linear(n_hidden, n_hidden), nn.ReLU(),
                nn.Linear(n_hidden, n_out),
            )
            """, 8),
         code("""
            layers = [nn.Linear(n_in, n_hidden), nn.ReLU(inplace=True), nn.Dropout(p=p_drop),
                      nn.Linear(n_hidden, n_hidden), nn.ReLU(inplace=True), nn.Linear(n_hidden, n_out)]
            self.layers = nn.Sequential(*layers)
            """, 8)),
        (code("""
            def fit_iris(X_train: torch.Tensor, y_train: torch.Tensor, epochs: int = 60) -> tuple[MLP, list[float]]:
            """, 0),
         code("""
            def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
                return -logits.log_softmax(dim=1).gather(1, labels.unsqueeze(1)).mean()


            def fit_iris(X_train: torch.Tensor, y_train: torch.Tensor, epochs: int = 60) -> tuple[MLP, list[float]]:
            """, 0)),
        ("    model = MLP(X_train.shape[1], hidden, 3).to(X_train.device)\n",
         "    model = MLP(n_in=4, n_hidden=hidden, n_out=3).to(device=X_train.device)\n"),
        ("    loss_fn = nn.CrossEntropyLoss()\n", "    loss_fn = cross_entropy\n"),
        (code("""
            curves[name] = [train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer) for _ in range(epochs)]
            """, 8),
         code("""
            curves[name] = [train_epoch(model, loader, cross_entropy, optimizer) for _ in range(epochs)]
            """, 8)),
        ("    fig, ax = plt.subplots(figsize=(6, 4))\n", code("""
            fig = plt.figure()
            ax = fig.add_subplot(1, 1, 1)
            """)),
        ("        ax.plot(range(1, len(losses) + 1), losses, label=name)\n",
         "        ax.plot(list(range(len(losses))), losses, \"-o\", label=name)\n"),
    ), "size()/numel(), loader options as a dict, train(True), torch.inference_mode(), ReLU(inplace=True) "
       "from a list, a hand-written cross-entropy (log_softmax + gather), fig.add_subplot"),
]

# --- ex05: heteroscedastic regression ---------------------------------------------------------------------

TRAINING_ALTERNATIVES += [
    Alternative("ex05_standardised_residuals", EX05, (
        ("    return 0.5 * (math.log(2 * math.pi) + logvar + (y - mu) ** 2 * torch.exp(-logvar)).mean()\n", code("""
            z = (y - mu) * torch.exp(-0.5 * logvar)
            return (0.5 * math.log(2 * math.pi) + 0.5 * logvar + 0.5 * z ** 2).mean()
            """)),
        (code("""
            h = self.body(x)
            return self.mu_head(h), self.logvar_head(h)
            """, 8),
         code("""
            features = self.body(x)
            mu = self.mu_head(features)
            logvar = self.logvar_head(features)
            return mu, logvar
            """, 8)),
        (code("""
            model = HeteroscedasticNet().to(x.device)
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            for _ in range(epochs):
                optimizer.zero_grad()
                mu, logvar = model(x)
                loss = heteroscedastic_gaussian_nll(mu, logvar, y)
                loss.backward()
            """),
         code("""
            model = HeteroscedasticNet()
            model.to(x.device)
            model.train()
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            for epoch in range(epochs):
                mu, logvar = model(x)
                loss = heteroscedastic_gaussian_nll(mu, logvar, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            """)),
        (code("""
            order = torch.argsort(x[:, 0])
            grid = x[order]
            with torch.no_grad():
                mu, logvar = model(grid)
            sigma = torch.exp(logvar / 2)
            grid, mu, sigma = grid[:, 0].cpu(), mu[:, 0].cpu(), sigma[:, 0].cpu()
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.scatter(x[:, 0].cpu(), y[:, 0].cpu(), s=4, alpha=0.4, label="data")
            ax.plot(grid, mu, color="C1", label="predicted mean")
            ax.fill_between(grid, mu - 2 * sigma, mu + 2 * sigma, color="C1", alpha=0.25, label="mean +- 2 sigma")
            """),
         code("""
            xs, _ = torch.sort(x[:, 0])
            with torch.no_grad():
                mu, logvar = model(xs[:, None])
            half = 2 * (0.5 * logvar[:, 0]).exp()
            xs, mu, half = xs.cpu().numpy(), mu[:, 0].cpu().numpy(), half.cpu().numpy()
            fig, ax = plt.subplots()
            ax.scatter(x.cpu().numpy().ravel(), y.cpu().numpy().ravel(), s=5, label="data")
            ax.plot(xs, mu, label="mean")
            ax.fill_between(xs, mu - half, mu + half, alpha=0.3, label="+-2 sigma")
            """)),
    ), "the residual standardised by exp(-logvar / 2), the constant split out, heads named apart, zero_grad after the forward, "
       "torch.sort and NumPy arrays in the figure"),
    Alternative("ex05_closure_and_sqrt_of_variance", EX05, (
        ("    return 0.5 * (math.log(2 * math.pi) + logvar + (y - mu) ** 2 * torch.exp(-logvar)).mean()\n", code("""
            r2, lv = torch.square(y - mu).double(), logvar.double()
            nll = 0.5 * (lv + r2 * torch.exp(-lv)) + 0.5 * math.log(2 * math.pi)
            return (nll.sum() / nll.numel()).to(mu.dtype)
            """)),
        ("        return self.mu_head(h), self.logvar_head(h)\n",
         "        return tuple(head(h) for head in (self.mu_head, self.logvar_head))\n"),
        (code("""
            for _ in range(epochs):
                optimizer.zero_grad()
                mu, logvar = model(x)
                loss = heteroscedastic_gaussian_nll(mu, logvar, y)
                loss.backward()
                optimizer.step()
            """),
         code("""
            def closure():
                optimizer.zero_grad()
                loss = heteroscedastic_gaussian_nll(*model(x), y)
                loss.backward()
                return loss

            for _ in range(epochs):
                optimizer.step(closure)
            """)),
        ("    sigma = torch.exp(logvar / 2)\n", "    sigma = logvar.exp().sqrt()\n"),
    ), "float64 intermediates cast back, sum / numel, heads from a generator, Adam stepped with a closure, "
       "sigma as the square root of the variance"),
]

