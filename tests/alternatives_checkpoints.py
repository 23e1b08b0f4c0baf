"""Alternative correct solutions of ex11 (checkpoints and the modes of a model); see ``alternatives``.

One writes the loops by index (``range(0, n, batch_size)``, a ``while`` over the epochs), clears gradients with
``set_to_none``, evaluates under ``torch.inference_mode`` with ``try``/``finally``, compares named buffers and
steps SGD with ``torch.add``'s ``alpha``; the other splits the permutation with ``torch.split``, clears ``p.grad``
by hand, averages the losses with torch, evaluates through a ``@torch.no_grad()`` helper, measures the modes from
``state_dict`` clones and writes the checkpoint with ``dict(...)`` and ``torch.random``'s names.
"""

from __future__ import annotations

from alternative import EX11, Alternative, code

MAKE_TRAINING = code("""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return optimizer, scheduler
    """)
TRAIN_EPOCH = code("""
    model.train()
    perm = torch.randperm(len(X), device=X.device)
    losses = []
    for idx in perm.split(batch_size):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
    """)
FIT = code("""
    losses = []
    for _ in range(start_epoch, epochs):
        losses.append(train_epoch(model, optimizer, X, y, batch_size))
        scheduler.step()
    return losses
    """)
SAVE = code("""
    on_gpu = next(model.parameters()).is_cuda
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                  "cuda_rng": torch.cuda.get_rng_state_all() if on_gpu else None, "epoch": epoch}
    torch.save(checkpoint, path)
    """)
LOAD = code("""
    device = next(model.parameters()).device
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["rng"].cpu())
    if checkpoint["cuda_rng"] is not None:
        torch.cuda.set_rng_state_all([state.cpu() for state in checkpoint["cuda_rng"]])
    return int(checkpoint["epoch"])
    """)
EVALUATE = code("""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = nn.functional.cross_entropy(model(X), y).item()
    model.train(was_training)
    return loss
    """)
MODE_EFFECTS = code("""
    effects = {}
    for mode in ("train", "eval"):
        clone = copy.deepcopy(model)
        clone.train(mode == "train")
        with torch.no_grad():
            before = [b.clone() for b in clone.buffers()]
            first = clone(x)
            after = list(clone.buffers())
            second = clone(x)
        effects[f"{mode}/updates_buffers"] = any(not torch.equal(b, a) for b, a in zip(before, after))
        effects[f"{mode}/random"] = not torch.equal(first, second)
    return effects
    """)
SGD_STEP = code("""
    new_params, new_buffers = [], []
    for k, (p, g) in enumerate(zip(params, grads)):
        d = g + weight_decay * p
        b = d if buffers is None else momentum * buffers[k] + d
        new_params.append(p - lr * b)
        new_buffers.append(b)
    return new_params, new_buffers
    """)

CHECKPOINT_ALTERNATIVES = [
    Alternative("ex11_index_loops_inference_mode", EX11, (
        (MAKE_TRAINING, code("""
            from torch.optim.lr_scheduler import CosineAnnealingLR

            optimizer = torch.optim.SGD(params=model.parameters(), lr=lr, momentum=momentum, dampening=0.0,
                                        weight_decay=weight_decay, nesterov=False)
            return optimizer, CosineAnnealingLR(optimizer, T_max=epochs, eta_min=0.0)
            """)),
        (TRAIN_EPOCH, code("""
            model.train(True)
            order = torch.randperm(X.shape[0], device=X.device)
            total, batches = 0.0, 0
            for start in range(0, X.shape[0], batch_size):
                rows = order[start:start + batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = nn.CrossEntropyLoss()(model(X[rows]), y[rows])
                loss.backward()
                optimizer.step()
                total += float(loss)
                batches += 1
            return total / batches
            """)),
        (FIT, code("""
            history, epoch = [], start_epoch
            while epoch < epochs:
                history.append(train_epoch(model, optimizer, X, y, batch_size))
                scheduler.step()
                epoch += 1
            return history
            """)),
        (SAVE, code("""
            gpu = any(p.device.type == "cuda" for p in model.parameters())
            torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state_all() if gpu else None}, path)
            """)),
        (LOAD, code("""
            where = next(iter(model.parameters())).device
            state = torch.load(path, weights_only=True, map_location=where)
            for obj, key in ((model, "model"), (optimizer, "optimizer"), (scheduler, "scheduler")):
                obj.load_state_dict(state[key])
            torch.set_rng_state(state["rng"].to("cpu", torch.uint8))
            if state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state_all([s.to("cpu") for s in state["cuda_rng"]])
            return state["epoch"]
            """)),
        (EVALUATE, code("""
            mode = model.training
            try:
                model.eval()
                with torch.inference_mode():
                    return float(nn.CrossEntropyLoss()(model(X), y))
            finally:
                model.train(mode)
            """)),
        (MODE_EFFECTS, code("""
            answers = {}
            for mode in ("train", "eval"):
                twin = copy.deepcopy(model).train(mode == "train")
                with torch.no_grad():
                    kept = {name: b.clone() for name, b in twin.named_buffers()}
                    out1 = twin(x)
                    moved = any(not torch.equal(kept[name], b) for name, b in twin.named_buffers())
                    out2 = twin(x)
                answers[mode + "/updates_buffers"] = bool(moved)
                answers[mode + "/random"] = bool((out1 != out2).any())
            return answers
            """)),
        (SGD_STEP, code("""
            new_params, new_buffers = [], []
            for k in range(len(params)):
                d = torch.add(grads[k], params[k], alpha=weight_decay)
                b = d.clone() if buffers is None else buffers[k].mul(momentum).add(d)
                new_buffers.append(b)
                new_params.append(params[k].add(b, alpha=-lr))
            return new_params, new_buffers
            """)),
    ), "index loops, set_to_none, a while over the epochs, inference_mode with try/finally, named buffers, "
       "torch.add's alpha"),
    Alternative("ex11_split_manual_grads_state_dict_clones", EX11, (
        (TRAIN_EPOCH, code("""
            model.train()
            losses = []
            for idx in torch.split(torch.randperm(len(X), device=X.device), batch_size):
                for p in model.parameters():
                    p.grad = None
                loss = nn.functional.cross_entropy(model(X[idx]), y[idx], reduction="mean")
                loss.backward()
                optimizer.step()
                losses.append(loss.detach())
            return torch.stack(losses).double().mean().item()
            """)),
        (FIT, code("""
            losses = [0.0] * (epochs - start_epoch)
            for k in range(len(losses)):
                losses[k] = train_epoch(model, optimizer, X, y, batch_size)
                scheduler.step()
            return losses
            """)),
        (SAVE, code("""
            cuda = next(model.parameters()).device.type == "cuda"
            torch.save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            rng=torch.random.get_rng_state(), cuda_rng=torch.cuda.get_rng_state_all() if cuda else None,
                            epoch=int(epoch)), path)
            """)),
        (LOAD, code("""
            params = list(model.parameters())
            checkpoint = torch.load(path, map_location=params[0].device, weights_only=True)
            model.load_state_dict(checkpoint["model"], strict=True)
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            torch.random.set_rng_state(checkpoint["rng"].cpu())
            cuda_states = checkpoint["cuda_rng"]
            if cuda_states:
                torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
            return checkpoint["epoch"]
            """)),
        (EVALUATE, code("""
            @torch.no_grad()
            def mean_loss():
                return nn.functional.cross_entropy(model(X), y).item()

            training = model.training
            model.train(False)
            value = mean_loss()
            if training:
                model.train()
            return value
            """)),
        (MODE_EFFECTS, code("""
            def measure(training):
                m = copy.deepcopy(model)
                m.train(training)
                names = [name for name, _ in m.named_buffers()]
                with torch.no_grad():
                    before = {k: v.clone() for k, v in m.state_dict().items() if k in names}
                    a = m(x)
                    after = m.state_dict()
                    b = m(x)
                changed = [not torch.equal(before[k], after[k]) for k in names]
                return any(changed), not torch.equal(a, b)

            train_buffers, train_random = measure(True)
            eval_buffers, eval_random = measure(False)
            return {"train/updates_buffers": train_buffers, "train/random": train_random,
                    "eval/updates_buffers": eval_buffers, "eval/random": eval_random}
            """)),
        (SGD_STEP, code("""
            ds = [g + weight_decay * p for p, g in zip(params, grads)]
            bs = ds if buffers is None else [momentum * b + d for b, d in zip(buffers, ds)]
            return [p - lr * b for p, b in zip(params, bs)], list(bs)
            """)),
    ), "torch.split, p.grad = None, the losses averaged by torch, a @torch.no_grad() helper, state_dict clones, "
       "dict(...) and torch.random's names, list comprehensions"),
]
