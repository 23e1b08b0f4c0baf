"""Alternative correct solutions of ex06-ex08, whose trained models the grader measures; see ``alternatives``."""

from __future__ import annotations

from alternative import EX06, EX07, EX08, Alternative, code

MODEL_ALTERNATIVES: list[Alternative] = []

# --- ex06: a CNN on MNIST ----------------------------------------------------------------------------------

MODEL_ALTERNATIVES += [
    Alternative("ex06_functional_loss_and_split_batches", EX06, (
        (code("""
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            )
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(32 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
            )
            """, 8),
         code("""
            self.features = nn.Sequential(
                nn.Conv2d(in_channels=1, out_channels=16, kernel_size=5),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(16, 32, kernel_size=(5, 5)),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, 2),
            )
            self.classifier = nn.Sequential(
                nn.Flatten(start_dim=1),
                nn.Linear(512, 128),
                nn.ReLU(inplace=True),
                nn.Dropout(p=0.5),
                nn.Linear(128, 10),
            )
            """, 8)),
        ("        return self.classifier(self.features(x))\n", code("""
            x = self.features(x)
            x = self.classifier(x)
            return x
            """, 8)),
        (code("""
            return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(seed))
            """),
         code("""
            dataset = TensorDataset(images, labels)
            g = torch.Generator()
            g.manual_seed(seed)
            return DataLoader(dataset, batch_size, shuffle=True, generator=g)
            """)),
        (code("""
            loss_fn = nn.CrossEntropyLoss()
            model.train()
            history = []
            for _ in range(epochs):
                losses = []
                for xb, yb in loader:
                    optimizer.zero_grad()
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                scheduler.step()
                history.append(sum(losses) / len(losses))
            """),
         code("""
            model.train()
            history = []
            for epoch in range(epochs):
                total, batches = 0.0, 0
                for xb, yb in loader:
                    logits = model(xb)
                    loss = nn.functional.cross_entropy(logits, yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    total += loss.item()
                    batches += 1
                scheduler.step()
                history.append(total / batches)
            """)),
        ("def predict(", "@torch.no_grad()\ndef predict("),
        (code("""
            model.eval()
            with torch.no_grad():
                return torch.cat([model(images[i:i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)])
            """),
         code("""
            model.train(False)
            return torch.cat([model(chunk).argmax(dim=1) for chunk in images.split(batch_size)])
            """)),
        (code("""
            cols = 6  # pragma: no mutate (any number of columns shows the grid)
            rows = (n + cols - 1) // cols
            fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
            for k, ax in enumerate(axes.flat):
                ax.axis("off")
                if k < n:
                    ax.imshow(images[k, 0].cpu(), cmap="gray")
                    ax.set_title(f"predicted {int(predicted[k])}", fontsize=9)
            """),
         code("""
            cols = min(n, 4)
            rows = -(-n // cols)
            fig, axes = plt.subplots(rows, cols, squeeze=False)
            for ax in axes.ravel():
                ax.axis("off")
            for k, ax in zip(range(n), axes.ravel()):
                ax.imshow(images[k].squeeze(0).cpu().numpy(), cmap="gray")
                ax.set_title(f"predicted {predicted[k].item()}")
            """)),
    ), "keyword arguments and ReLU(inplace=True), forward step by step, F.cross_entropy and zero_grad after "
       "the forward, @torch.no_grad() with images.split, a 4-column grid"),
    Alternative("ex06_hand_cross_entropy_and_inference_mode", EX06, (
        (code("""
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            )
            """, 8),
         code("""
            def conv_block(c_in, c_out):
                return [nn.Conv2d(c_in, c_out, 5), nn.ReLU(), nn.MaxPool2d(2)]

            self.features = nn.Sequential(*conv_block(1, 16), *conv_block(16, 32))
            """, 8)),
        ("        return self.classifier(self.features(x))\n", code("""
            features = self.features(x)
            return self.classifier(features)
            """, 8)),
        (code("""
            loss_fn = nn.CrossEntropyLoss()
            model.train()
            history = []
            for _ in range(epochs):
                losses = []
            """),
         code("""
            def loss_fn(logits, targets):
                log_p = torch.log_softmax(logits, dim=1)
                return -log_p[torch.arange(len(targets), device=targets.device), targets].mean()

            history = []
            for _ in range(epochs):
                model.train()
                losses = []
            """)),
        ("        history.append(sum(losses) / len(losses))\n",
         "        history.append(torch.tensor(losses).mean().item())\n"),
        (code("""
            model.eval()
            with torch.no_grad():
                return torch.cat([model(images[i:i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)])
            """),
         code("""
            model.eval()
            predictions = []
            with torch.inference_mode():
                for start in range(0, images.shape[0], batch_size):
                    probabilities = torch.softmax(model(images[start:start + batch_size]), dim=1)
                    predictions.append(probabilities.argmax(dim=1))
            return torch.cat(predictions)
            """)),
        (code("""
            cols = 6  # pragma: no mutate (any number of columns shows the grid)
            rows = (n + cols - 1) // cols
            fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
            for k, ax in enumerate(axes.flat):
            """),
         code("""
            import numpy as np

            rows = 2 if n > 1 else 1
            cols = -(-n // rows)
            fig, axes = plt.subplots(rows, cols)
            for k, ax in enumerate(np.ravel(axes)):
            """)),
    ), "conv blocks from a helper, a hand-written cross-entropy (log_softmax + indexing), train() each "
       "epoch, the epoch mean by torch, the argmax of the probabilities under torch.inference_mode(), a "
       "2-row grid"),
]

# --- ex07: matrix factorization ---------------------------------------------------------------------------

MODEL_ALTERNATIVES += [
    Alternative("ex07_einsum_and_masked_fill", EX07, (
        (code("""
            nn.init.normal_(self.user_factors.weight, std=0.05)
            nn.init.normal_(self.item_factors.weight, std=0.05)
            nn.init.zeros_(self.user_bias.weight)
            nn.init.zeros_(self.item_bias.weight)
            """, 8),
         code("""
            for table in (self.user_factors, self.item_factors):
                nn.init.normal_(table.weight, mean=0.0, std=0.05)
            with torch.no_grad():
                self.user_bias.weight.zero_()
                self.item_bias.weight.zero_()
            """, 8)),
        (code("""
            p, q = self.user_factors(users), self.item_factors(items)
            return self.global_mean + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + (p * q).sum(dim=1)
            """, 8),
         code("""
            dot = torch.einsum("bk,bk->b", self.user_factors(users), self.item_factors(items))
            return dot + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + self.global_mean
            """, 8)),
        (code(r"""
            error = ((ratings - model(users, items)) ** 2).sum()
            penalty = (model.user_factors(users) ** 2).sum() + (model.item_factors(items) ** 2).sum() \
                + (model.user_bias(users) ** 2).sum() + (model.item_bias(items) ** 2).sum()
            """),
         code("""
            p, q = model.user_factors(users), model.item_factors(items)
            bu, bi = model.user_bias(users), model.item_bias(items)
            error = nn.functional.mse_loss(model(users, items), ratings, reduction="sum")
            penalty = sum(t.pow(2).sum() for t in (p, q, bu, bi))
            """)),
        (code("""
            model = MatrixFactorization(N_USERS, N_ITEMS, k, ratings.mean().item()).to(users.device)
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            for _ in range(epochs):
                order = torch.randperm(len(ratings), device=users.device)
                for start in range(0, len(ratings), batch_size):
                    batch = order[start:start + batch_size]
                    optimizer.zero_grad()
                    loss = mf_loss(model, users[batch], items[batch], ratings[batch], lam)
            """),
         code("""
            device = users.device
            model = MatrixFactorization(N_USERS, N_ITEMS, k, global_mean=float(ratings.mean())).to(device)
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            for _ in range(epochs):
                for batch in torch.randperm(len(ratings), device=device).split(batch_size):
                    loss = mf_loss(model, users[batch], items[batch], ratings[batch], lam)
                    optimizer.zero_grad()
            """)),
        (code("""
            n_items = model.item_factors.num_embeddings
            device = model.item_factors.weight.device
            items = torch.arange(n_items, device=device)
            with torch.no_grad():
                scores = model(torch.full_like(items, int(user)), items)
            scores[rated_items.to(device)] = float("-inf")
            return torch.topk(scores, k).indices
            """),
         code("""
            device = model.user_factors.weight.device
            items = torch.arange(model.item_factors.weight.shape[0], device=device)
            with torch.no_grad():
                scores = model(torch.full_like(items, int(user)), items)
            rated = torch.zeros_like(scores, dtype=torch.bool)
            rated[rated_items.to(device)] = True
            return scores.masked_fill(rated, float("-inf")).topk(k).indices
            """)),
    ), "init in a loop and zero_() under no_grad, einsum and squeeze(-1), F.mse_loss(reduction='sum'), "
       "randperm(...).split, a boolean mask with masked_fill"),
    Alternative("ex07_tables_and_where", EX07, (
        (code("""
            nn.init.zeros_(self.user_bias.weight)
            nn.init.zeros_(self.item_bias.weight)
            """, 8),
         code("""
            nn.init.constant_(self.user_bias.weight, 0.0)
            nn.init.constant_(self.item_bias.weight, 0.0)
            """, 8)),
        (code("""
            p, q = self.user_factors(users), self.item_factors(items)
            return self.global_mean + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + (p * q).sum(dim=1)
            """, 8),
         code("""
            p = self.user_factors(users)
            q = self.item_factors(items)
            b = self.user_bias(users) + self.item_bias(items)
            return (p * q).sum(-1) + b.view(-1) + self.global_mean
            """, 8)),
        (code(r"""
            error = ((ratings - model(users, items)) ** 2).sum()
            penalty = (model.user_factors(users) ** 2).sum() + (model.item_factors(items) ** 2).sum() \
                + (model.user_bias(users) ** 2).sum() + (model.item_bias(items) ** 2).sum()
            """),
         code("""
            residual = ratings - model(users, items)
            error = residual.pow(2).sum()
            penalty = torch.cat([model.user_factors(users), model.item_factors(items),
                                 model.user_bias(users), model.item_bias(items)], dim=1).pow(2).sum()
            """)),
        (code("""
            for _ in range(epochs):
                order = torch.randperm(len(ratings), device=users.device)
                for start in range(0, len(ratings), batch_size):
                    batch = order[start:start + batch_size]
                    optimizer.zero_grad()
                    loss = mf_loss(model, users[batch], items[batch], ratings[batch], lam)
                    loss.backward()
            """),
         code("""
            n = ratings.shape[0]
            for epoch in range(epochs):
                perm = torch.randperm(n, device=users.device)
                u, i, r = users[perm], items[perm], ratings[perm]
                for start in range(0, n, batch_size):
                    stop = start + batch_size
                    optimizer.zero_grad()
                    mf_loss(model, u[start:stop], i[start:stop], r[start:stop], lam).backward()
            """)),
        (code("""
            n_items = model.item_factors.num_embeddings
            device = model.item_factors.weight.device
            items = torch.arange(n_items, device=device)
            with torch.no_grad():
                scores = model(torch.full_like(items, int(user)), items)
            scores[rated_items.to(device)] = float("-inf")
            """),
         code("""
            with torch.no_grad():
                P, Q = model.user_factors.weight, model.item_factors.weight
                scores = model.global_mean + model.user_bias.weight[user, 0] + model.item_bias.weight[:, 0] + Q @ P[user]
                items = torch.arange(len(scores), device=scores.device)
                rated = torch.isin(items, rated_items.to(scores.device))
                scores = torch.where(rated, torch.full_like(scores, float("-inf")), scores)
            """)),
    ), "constant_ init, the biases summed before view(-1), the penalty over one concatenated tensor, "
       "shuffled copies sliced, scores from the tables (Q @ p_u) with torch.where and isin"),
]

# --- ex08: an RNN on sunspots -----------------------------------------------------------------------------

MODEL_ALTERNATIVES += [
    Alternative("ex08_final_hidden_state", EX08, (
        ("    X = series.unfold(0, history, 1)[:-1].unsqueeze(-1)\n",
         "    X = series[:-1].unfold(0, history, 1)[..., None]\n"),
        (code("""
            train = series[:n_train]
            mean, std = train.mean().item(), train.std().item()
            """),
         code("""
            std, mean = torch.std_mean(series[:n_train])
            mean, std = float(mean), float(std)
            """)),
        ("        self.rnn = nn.LSTM(1, hidden, batch_first=True)\n",
         "        self.rnn = nn.LSTM(input_size=1, hidden_size=hidden, batch_first=True)\n"),
        (code("""
            out, _ = self.rnn(X)
            return self.head(out[:, -1])[:, 0]
            """, 8),
         code("""
            _, (h_n, _) = self.rnn(X)
            return self.head(h_n[-1]).squeeze(-1)
            """, 8)),
        (code("""
            loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                                generator=torch.Generator().manual_seed(seed))
            """),
         code("""
            dataset = TensorDataset(X, y)
            loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                generator=torch.Generator().manual_seed(seed))
            """)),
        (code("""
            for _ in range(epochs):
                losses = []
                for xb, yb in loader:
                    optimizer.zero_grad()
                    loss = nn.functional.mse_loss(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                history.append(sum(losses) / len(losses))
            """),
         code("""
            for epoch in range(epochs):
                total, n_batches = 0.0, 0
                for xb, yb in loader:
                    loss = ((model(xb) - yb) ** 2).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    total += loss.item()
                    n_batches += 1
                history.append(total / n_batches)
            """)),
        (code("""
            fig, ax = plt.subplots(figsize=(8, 4))
            ax.plot(years.cpu(), series.cpu(), color="0.4", label="observed")
            ax.plot(test_years.cpu(), predictions.detach().cpu(), color="C3", label="one-step-ahead forecast")
            ax.set_xlabel("year")
            ax.set_ylabel("sunspot number")
            """),
         code("""
            fig = plt.figure(figsize=(8, 4))
            ax = fig.add_subplot()
            ax.plot(years.cpu().numpy(), series.cpu().numpy(), label="observed")
            ax.plot(test_years.cpu().numpy(), predictions.detach().cpu().numpy(), "--", label="forecast")
            ax.set(xlabel="year", ylabel="sunspot number")
            """)),
    ), "windows unfolded from series[:-1], torch.std_mean, the head on h_n[-1], a hand-written MSE, "
       "fig.add_subplot and ax.set"),
    Alternative("ex08_loop_windows_and_manual_std", EX08, (
        (code("""
            X = series.unfold(0, history, 1)[:-1].unsqueeze(-1)
            y = series[history:]
            """),
         code("""
            n = series.shape[0] - history
            X = torch.stack([series[j:j + history] for j in range(n)]).unsqueeze(2)
            y = torch.stack([series[j + history] for j in range(n)])
            """)),
        (code("""
            mean, std = train.mean().item(), train.std().item()
            return (series - mean) / std, mean, std
            """),
         code("""
            mean = train.mean()
            std = torch.sqrt(((train - mean) ** 2).sum() / (len(train) - 1))
            return (series - mean) / std, mean.item(), std.item()
            """)),
        (code("""
            out, _ = self.rnn(X)
            return self.head(out[:, -1])[:, 0]
            """, 8),
         code("""
            output, (h, c) = self.rnn(X)
            last = output[:, -1, :]
            return self.head(last).view(-1)
            """, 8)),
        (code("""
            losses = []
            for xb, yb in loader:
            """, 8),
         code("""
            losses = []
            for step, (xb, yb) in enumerate(loader):
            """, 8)),
        (code("""
                losses.append(loss.item())
            history.append(sum(losses) / len(losses))
            """, 8),
         code("""
                losses.append(loss.detach())
            history.append(torch.stack(losses).mean().item())
            """, 8)),
    ), "windows and targets stacked in a loop, the unbiased std by its formula, the output's last step read "
       "with view(-1), batch losses kept as tensors and averaged by torch"),
    Alternative("ex08_elman_rnn", EX08, (
        ("        self.rnn = nn.LSTM(1, hidden, batch_first=True)\n",
         "        self.rnn = nn.RNN(1, hidden, batch_first=True)\n"),
    ), "an nn.RNN in place of the LSTM, as the exercise allows"),
]
