"""Alternative correct solutions of ex12 (watching gradients); see ``alternatives``.

One builds the network with ``nn.Sequential.append`` and draws the He weights with ``normal_`` itself, takes norms
with ``torch.linalg.vector_norm``, binds each hook's index with ``functools.partial`` and computes the latent points
with ``nn.functional.linear``; the other keeps each activation's output with ``retain_grad`` (a tensor hook torch
registers) and reads its ``.grad`` after backward, builds the blocks in a comprehension and draws with ``semilogy``.
"""

from __future__ import annotations

from alternative import EX12, Alternative, code

GRADIENT_ALTERNATIVES: list[Alternative] = []

DEEP_MLP = code("""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: use one of {', '.join(ACTIVATIONS)}")
    layers, n_in = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), ACTIVATIONS[activation]()]
        n_in = width
    layers.append(nn.Linear(n_in, d_out))
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)
    """)
HOOKS = code("""
    activations = [m for m in model.modules() if isinstance(m, tuple(ACTIVATIONS.values()))]
    norms = [None] * len(activations)

    def forward_hook(index):
        def hook(module, inputs, output):
            def store(grad):
                norms[index] = grad.norm()
            output.register_hook(store)
        return hook

    handles = [m.register_forward_hook(forward_hook(i)) for i, m in enumerate(activations)]
    try:
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack(norms)
    """)
WEIGHT_NORMS = "    return torch.stack([m.weight.grad.norm() for m in model.modules() if isinstance(m, nn.Linear)])\n"
LATENT = code("""
    with torch.no_grad():
        return model.layers[:2]((X - model.mean) / model.std)
    """)
PLOT_PROFILES = code("""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, norms in profiles.items():
        norms = norms.detach().cpu()
        ax.plot(range(1, len(norms) + 1), norms.numpy(), marker="o", label=name)
    ax.set_yscale("log")
    """)
SCATTER = code("""
    for c, name in enumerate(names):
        ax.scatter(Z[y == c, 0].numpy(), Z[y == c, 1].numpy(), s=14, label=name)
    """)

GRADIENT_ALTERNATIVES += [
    Alternative("ex12_append_normal_partial", EX12, (
        ("import torch\nfrom torch import nn\n",
         "import functools\nimport math\n\nimport torch\nfrom torch import nn\n"),
        (DEEP_MLP, code("""
            try:
                make = ACTIVATIONS[activation]
            except KeyError:
                raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}") from None
            sizes = [d_in] + [width] * depth + [d_out]
            model = nn.Sequential()
            for k in range(depth + 1):
                model.append(nn.Linear(sizes[k], sizes[k + 1]))
                if k < depth:
                    model.append(make())
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for layer in model:
                    if isinstance(layer, nn.Linear):
                        layer.weight.normal_(0.0, math.sqrt(2.0) / math.sqrt(layer.in_features), generator=g)
                        layer.bias.zero_()
            return model
            """)),
        (WEIGHT_NORMS, code("""
            linears = [m for m in model.modules() if type(m) is nn.Linear]
            return torch.stack([torch.linalg.vector_norm(m.weight.grad) for m in linears])
            """)),
        (HOOKS, code("""
            kinds = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.GELU)
            found = {}

            def save(k, grad):
                found[k] = torch.linalg.vector_norm(grad)

            def on_forward(k, module, inputs, output):
                output.register_hook(functools.partial(save, k))

            handles = []
            try:
                for k, module in enumerate(m for m in model.modules() if isinstance(m, kinds)):
                    handles.append(module.register_forward_hook(functools.partial(on_forward, k)))
                for p in model.parameters():
                    p.grad = None
                loss = nn.functional.cross_entropy(model(x), y, reduction="mean")
                loss.backward()
            finally:
                while handles:
                    handles.pop().remove()
            return torch.stack([found[k] for k in range(len(found))])
            """)),
        (LATENT, code("""
            first = model.layers[0]
            with torch.no_grad():
                z = (X - model.mean) / model.std
                return torch.tanh(nn.functional.linear(z, first.weight, first.bias))
            """)),
        ("model = IrisNet(X_train.mean(dim=0), X_train.std(dim=0)).to(X_train.device)",
         "model = IrisNet(X_train.mean(0), X_train.std(0, correction=1)).to(device=X_train.device)"),
        ("        optimizer.zero_grad()\n        loss = nn.functional.cross_entropy(model(X_train), y_train)\n",
         "        optimizer.zero_grad(set_to_none=True)\n"
         "        loss = nn.CrossEntropyLoss()(model(X_train), y_train)\n"),
        (PLOT_PROFILES, code("""
            fig = plt.figure(figsize=(6, 4))
            ax = fig.add_subplot()
            for name in profiles:
                ax.semilogy(list(range(1, len(profiles[name]) + 1)), profiles[name].detach().to("cpu").tolist(),
                            label=name)
            """)),
    ), "nn.Sequential.append, He weights drawn with normal_, torch.linalg.vector_norm, hooks bound with "
       "functools.partial and grads reset by hand, the latent by nn.functional.linear, semilogy"),
    Alternative("ex12_retain_grad_comprehensions", EX12, (
        (DEEP_MLP, code("""
            if activation not in ACTIVATIONS:
                raise ValueError(f"{activation!r} is none of sigmoid, tanh, relu, gelu")
            sizes = [d_in] + [width] * depth
            blocks = [m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), ACTIVATIONS[activation]())]
            model = nn.Sequential(*blocks, nn.Linear(sizes[-1], d_out))
            g = torch.Generator().manual_seed(seed)
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu", generator=g)
                    nn.init.constant_(m.bias, 0.0)
            return model
            """)),
        (WEIGHT_NORMS, code("""
            norms = []
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    norms.append((m.weight.grad ** 2).sum().sqrt())
            return torch.stack(norms)
            """)),
        (HOOKS, code("""
            outputs, handles = {}, []
            watched = [m for m in model.modules() if isinstance(m, (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.GELU))]
            for k, m in enumerate(watched):
                def keep(module, inputs, output, k=k):
                    output.retain_grad()
                    outputs[k] = output
                handles.append(m.register_forward_hook(keep))
            try:
                model.zero_grad()
                logits = model(x)
                nn.functional.cross_entropy(logits, y).backward()
            finally:
                for h in handles:
                    h.remove()
            return torch.stack([outputs[k].grad.norm() for k in sorted(outputs)])
            """)),
        ("    return {name: gradient_profile(name, x, y, n_classes, depth, width, seed) for name in names}\n", code("""
            profiles = {}
            for name in names:
                profiles[name] = gradient_profile(name, x, y, n_classes, depth=depth, width=width, seed=seed)
            return profiles
            """)),
        ("        self.register_buffer(\"mean\", mean.clone())\n        self.register_buffer(\"std\", std.clone())\n"
         "        self.layers = nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 3))\n", code("""
            self.layers = nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Linear(2, 3))
            for name, value in (("mean", mean), ("std", std)):
                self.register_buffer(name, value.detach().clone())
            """, 8)),
        ("return self.layers((x - self.mean) / self.std)", "return self.layers(x.sub(self.mean).div(self.std))"),
        (SCATTER, code("""
            for c in range(len(names)):
                mask = y == c
                ax.scatter(*Z[mask].T.numpy(), label=names[c])
            """)),
    ), "retain_grad on each activation's output read after backward, blocks in a comprehension, kaiming_normal_ on "
       "model.modules(), norms as square roots of sums of squares, buffers registered in a loop"),
]
