"""Alternative correct solutions of ex09: attention by other means, heads split and merged otherwise; see
``alternatives``."""

from __future__ import annotations

from alternative import EX09, Alternative, code

ATTENTION_ALTERNATIVES: list[Alternative] = []

SDPA_BODY = code("""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    allowed = mask
    if causal:
        L, S = scores.shape[-2:]
        lower = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
        allowed = lower if mask is None else lower & mask
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    """)
HEADS_INIT = code("""
    if d_model % n_heads:
        raise ValueError(f"d_model = {d_model} is not a multiple of n_heads = {n_heads}")
    self.n_heads = n_heads
    self.q_proj = nn.Linear(d_model, d_model)
    self.k_proj = nn.Linear(d_model, d_model)
    self.v_proj = nn.Linear(d_model, d_model)
    self.out_proj = nn.Linear(d_model, d_model)
    """, 8)
HEADS_FORWARD = code("""
    B, L, d_model = x.shape

    def heads(t):
        return t.reshape(B, L, self.n_heads, d_model // self.n_heads).transpose(1, 2)

    if mask is not None:
        mask = mask.unsqueeze(-3)  # the same mask for every head
    out, _ = scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)),
                                          mask, causal)
    return self.out_proj(out.transpose(1, 2).reshape(B, L, d_model))
    """, 8)
SELECTOR_INIT = code("""
    self.key_embed = nn.Embedding(n_keys, d_model)
    self.value_embed = nn.Embedding(n_values + 1, d_model)
    """, 8)
SELECTOR_FORWARD = code("""
    h = self.key_embed(X[..., 0]) + self.value_embed(X[..., 1])
    return self.head(self.attention(h)[:, -1])
    """, 8)
TRAINING = code("""
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    for _ in range(epochs):
        losses = []
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
    """)
FIT = code("""
    model = TokenSelector().to(X_train.device)
    lr, batch_size, seed = 5e-3, 64, 0  # pragma: no mutate (other values train as well)
    return model, train_selector(model, X_train, y_train, epochs, lr=lr, batch_size=batch_size, seed=seed)
    """)
PLOT = code("""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    image = ax.imshow(weights.detach().cpu().numpy(), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title("Attention weights")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig
    """)

ATTENTION_ALTERNATIVES += [
    Alternative("ex09_einsum_where_and_fused_projections", EX09, (
        (SDPA_BODY, code("""
            scores = torch.einsum("...ld,...sd->...ls", q, k) / q.shape[-1] ** 0.5
            keep = torch.ones_like(scores, dtype=torch.bool)
            if mask is not None:
                keep = keep & mask
            if causal:
                rows = torch.arange(q.shape[-2], device=q.device).unsqueeze(1)
                cols = torch.arange(k.shape[-2], device=q.device).unsqueeze(0)
                keep = keep & (cols <= rows)
            scores = torch.where(keep, scores, torch.finfo(scores.dtype).min)  # the most negative number, not -inf
            scores = scores - scores.amax(dim=-1, keepdim=True)
            weights = scores.exp()
            weights = weights / weights.sum(dim=-1, keepdim=True)
            return torch.einsum("...ls,...sv->...lv", weights, v), weights
            """)),
        (HEADS_INIT, code("""
            if n_heads * (d_model // n_heads) != d_model:
                raise ValueError("n_heads must divide d_model")
            self.n_heads = n_heads
            for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
                setattr(self, name, nn.Linear(d_model, d_model))
            """, 8)),
        (HEADS_FORWARD, code("""
            # one fused projection with the three weights stacked, as nn.MultiheadAttention's in_proj does
            weight = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
            bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
            q, k, v = (t.unflatten(-1, (self.n_heads, -1)).transpose(-3, -2)
                       for t in nn.functional.linear(x, weight, bias).chunk(3, dim=-1))
            out, _ = scaled_dot_product_attention(q, k, v, None if mask is None else mask[..., None, :, :],
                                                  causal=causal)
            return self.out_proj(out.transpose(-3, -2).flatten(-2))
            """, 8)),
        (SELECTOR_FORWARD, code("""
            keys, values = X.unbind(dim=-1)
            h = self.key_embed(keys) + self.value_embed(values)
            return self.head(self.attention(h)[:, X.shape[1] - 1])
            """, 8)),
        (TRAINING, code("""
            generator = torch.Generator().manual_seed(seed)
            loader = DataLoader(TensorDataset(X, y), batch_size, shuffle=True, generator=generator)
            optimizer = torch.optim.Adam(model.parameters(), lr)
            loss_fn = nn.CrossEntropyLoss()
            model.train()
            history = []
            for epoch in range(epochs):
                total, batches = 0.0, 0
                for xb, yb in loader:
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                    total += float(loss.detach())
                    batches += 1
                history.append(total / batches)
            return history
            """)),
        (PLOT, code("""
            fig = plt.figure()
            ax = fig.add_subplot()
            shown = ax.imshow(weights.detach().to("cpu").numpy(), cmap="magma")
            ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="key", ylabel="query")
            ax.set_xticklabels(labels, rotation=45)
            ax.set_yticklabels(labels)
            plt.colorbar(shown, ax=ax, label="weight")
            return fig
            """)),
    ), "einsum, torch.where with the dtype's most negative number and a hand-written max-shifted softmax, a causal "
       "mask from two aranges, projections made in a loop and applied fused (stacked weights, chunk), unflatten/"
       "flatten for the heads, X.unbind, nn.CrossEntropyLoss, fig.add_subplot and ax.set"),
    Alternative("ex09_additive_mask_and_a_loop_over_heads", EX09, (
        (SDPA_BODY, code("""
            d = q.size(-1)
            scores = torch.matmul(q, k.mT) * d ** -0.5
            bias = torch.zeros_like(scores)  # -inf where a query may not look: added to the scores
            if mask is not None:
                bias = bias.masked_fill(~mask, float("-inf"))
            if causal:
                future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).triu(diagonal=1)
                bias = bias.masked_fill(future, float("-inf"))
            weights = nn.functional.softmax(scores + bias, dim=-1)
            return torch.matmul(weights, v), weights
            """)),
        (HEADS_INIT, code("""
            if d_model % n_heads != 0:
                raise ValueError(f"{n_heads} heads cannot share {d_model} features equally")
            self.n_heads = n_heads
            self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d_model, d_model) for _ in range(4))
            """, 8)),
        (HEADS_FORWARD, code("""
            d_head = x.shape[-1] // self.n_heads
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
            outs = []
            for h in range(self.n_heads):  # one head at a time, on its slice of the features
                part = slice(h * d_head, (h + 1) * d_head)
                out, _ = scaled_dot_product_attention(q[..., part], k[..., part], v[..., part], mask=mask,
                                                      causal=causal)
                outs.append(out)
            return self.out_proj(torch.cat(outs, dim=-1))
            """, 8)),
        (SELECTOR_INIT, code("""
            self.key_embed = nn.Embedding(num_embeddings=n_keys, embedding_dim=d_model)
            self.value_embed = nn.Embedding(num_embeddings=n_values + 1, embedding_dim=d_model)
            """, 8)),
        (SELECTOR_FORWARD, code("""
            h = self.key_embed(X[:, :, 0]) + self.value_embed(X[:, :, 1])
            out = self.attention(h)
            return self.head(out[:, -1, :])
            """, 8)),
        (TRAINING, code("""
            model.train()
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                                generator=torch.Generator().manual_seed(seed))
            history = []
            for _ in range(epochs):
                batch_losses = []
                for xb, yb in loader:
                    logits = model(xb)
                    loss = nn.functional.cross_entropy(logits, yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    batch_losses.append(loss.detach())
                history.append(torch.stack(batch_losses).mean().item())
            return history
            """)),
        (FIT, code("""
            model = TokenSelector(16, 10, 32, 2)
            model.to(X_train.device)
            losses = train_selector(model, X_train, y_train, epochs=epochs, lr=5e-3, batch_size=64, seed=0)
            return model, losses
            """)),
        (PLOT, code("""
            import numpy as np

            fig, ax = plt.subplots()
            mappable = ax.imshow(np.asarray(weights.detach().cpu()), vmin=0.0, vmax=1.0)
            ax.set_xticks(list(range(len(labels))))
            ax.set_xticklabels(labels, rotation="vertical")
            ax.set_yticks(list(range(len(labels))))
            ax.set_yticklabels(labels)
            ax.set_xlabel("key position")
            ax.set_ylabel("query position")
            fig.colorbar(mappable)
            return fig
            """)),
    ), "matmul with k.mT and d ** -0.5, an additive -inf bias for the mask and an upper causal triangle, one head at a "
       "time on slices of the features joined by torch.cat, embeddings by keyword, losses kept as tensors, "
       "Module.to in place, set_xticklabels, fig.colorbar without ax"),
]
