"""Alternative correct solutions of ex10 (the data pipeline); see ``alternatives``.

One reads the table with ``csv.DictReader`` and computes with NumPy (``np.nanmean``-style statistics, one-hot blocks
from ``torch.nn.functional.one_hot``), the other reads it with pandas and keeps to torch (``torch.nanmean``,
``default_collate``, ``torch.std_mean``); both build the transforms and the figure another way.
"""

from __future__ import annotations

from alternative import EX10, Alternative, code

PIPELINE_ALTERNATIVES: list[Alternative] = []

READ_CSV = code("""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    return {name: [row[j] for row in rows] for j, name in enumerate(header)}
    """)
SPLIT = code("""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = round(val_fraction * n)
    return perm[n_val:], perm[:n_val]
    """)
FIT_STATS = code("""
    means, stds = [], []
    for name in numeric:
        values = torch.tensor([float(cell) for cell in table[name] if cell != ""], dtype=torch.float64)
        means.append(values.mean().item())
        stds.append(values.std(correction=0).item() if values.max() > values.min() else 1.0)
    categories = [sorted({cell for cell in table[name] if cell != ""}) for name in categorical]
    return Stats(list(numeric), list(categorical), torch.tensor(means, dtype=torch.float64),
                 torch.tensor(stds, dtype=torch.float64), categories)
    """)
ENCODE = code("""
    n = len(next(iter(table.values())))
    values = torch.tensor([[float(cell) if cell != "" else math.nan for cell in table[name]]
                           for name in stats.numeric], dtype=torch.float64).reshape(len(stats.numeric), n).T
    missing = values.isnan()
    z = (torch.where(missing, stats.mean, values) - stats.mean) / stats.std
    blocks = [z, missing.double()]
    for name, categories in zip(stats.categorical, stats.categories):
        position = {category: j for j, category in enumerate(categories)}
        block = torch.zeros(n, len(categories), dtype=torch.float64)
        for row, cell in enumerate(table[name]):
            if cell in position:
                block[row, position[cell]] = 1.0
        blocks.append(block)
    return torch.cat(blocks, dim=1).float()
    """)
DATASET_INIT = code("""
    self.stats = fit_stats(table, numeric, categorical) if stats is None else stats
    self.features = encode(table, self.stats)
    self.targets = torch.tensor([float(cell) for cell in table[target]], dtype=torch.float32)
    """, 8)
MAKE_DATASETS = code("""
    table = read_csv(path)
    train_idx, val_idx = split_indices(len(table[target]), val_fraction, seed)

    def rows(indices: torch.Tensor) -> dict[str, list[str]]:
        return {name: [cells[i] for i in indices.tolist()] for name, cells in table.items()}

    train = TableDataset(rows(train_idx), numeric, categorical, target)
    val = TableDataset(rows(val_idx), numeric, categorical, target, stats=train.stats)
    return train, val
    """)
COLLATE = code("""
    X = torch.stack([features for features, _ in batch])
    y = torch.stack([target for _, target in batch])
    return X, y
    """)
LOADERS = code("""
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, collate_fn=collate_rows,
                              generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(val, batch_size=batch_size, shuffle=False, collate_fn=collate_rows)
    return train_loader, val_loader
    """)
PIXEL_STATS = code("""
    pixels = images.double()
    return pixels.mean().item(), pixels.std(correction=0).item()
    """)
TRANSFORM = code("""
    steps = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if augment:
        steps.append(v2.RandomAffine(degrees=15, translate=(0.1, 0.1)))
    steps.append(v2.Normalize([mean], [std]))
    return v2.Compose(steps)
    """)
AUGMENT = code("""
    transform = image_transform(mean, std, augment=True)
    torch.manual_seed(seed)
    return torch.stack([transform(image) for image in images]).as_subclass(torch.Tensor)
    """)
SHOW = code("""
    fig, axes = plt.subplots(2, n, squeeze=False)
    fig.set_size_inches(1.2 * n, 2.6)  # pragma: no mutate (any size shows the digits)
    for row, (title, batch) in enumerate((("digit", images), ("augmented", augmented))):
        for k in range(n):
            axes[row, k].imshow(batch[k, 0].detach().cpu().numpy(), cmap="gray")
            axes[row, k].axis("off")
        axes[row, 0].set_title(title, fontsize=8, loc="left")  # pragma: no mutate (a title is presentation)
    return fig
    """)

PIPELINE_ALTERNATIVES += [
    Alternative("ex10_dictreader_numpy_one_hot", EX10, (
        ("import csv\nimport math\n", "import csv\nimport math\n\nimport numpy as np\n"),
        (READ_CSV, code("""
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                columns = {name: [] for name in reader.fieldnames}
                for row in reader:
                    for name in reader.fieldnames:
                        columns[name].append(row[name])
            return columns
            """)),
        (SPLIT, code("""
            g = torch.Generator()
            g.manual_seed(seed)
            perm = torch.randperm(n, generator=g)
            n_val = int(round(n * val_fraction))
            val, train = torch.split(perm, [n_val, n - n_val])
            return train, val
            """)),
        (FIT_STATS, code("""
            means, stds = np.zeros(len(numeric)), np.ones(len(numeric))
            for j, name in enumerate(numeric):
                x = np.array([float(c) if c else np.nan for c in table[name]], dtype=np.float64)
                x = x[~np.isnan(x)]
                means[j] = x.mean()
                if x.max() > x.min():
                    stds[j] = x.std()
            categories = []
            for name in categorical:
                found = set(table[name]) - {""}
                categories.append(sorted(found))
            return Stats(list(numeric), list(categorical), torch.from_numpy(means), torch.from_numpy(stds), categories)
            """)),
        (ENCODE, code("""
            n = len(next(iter(table.values())))
            x = np.array([[float(c) if c else np.nan for c in table[name]] for name in stats.numeric],
                         dtype=np.float64).reshape(-1, n).T
            nan = np.isnan(x)
            mean, std = stats.mean.numpy(), stats.std.numpy()
            parts = [torch.from_numpy((np.where(nan, mean, x) - mean) / std), torch.from_numpy(nan.astype(np.float64))]
            for name, categories in zip(stats.categorical, stats.categories):
                index = torch.tensor([categories.index(c) if c in categories else len(categories)
                                      for c in table[name]], dtype=torch.int64)
                hot = torch.nn.functional.one_hot(index, num_classes=len(categories) + 1)[:, :-1]
                parts.append(hot.to(torch.float64))
            return torch.hstack(parts).to(torch.float32)
            """)),
        (DATASET_INIT, code("""
            if stats is None:
                stats = fit_stats(table, numeric, categorical)
            self.stats = stats
            self.features = encode(table, stats)
            self.targets = torch.from_numpy(np.array(table[target], dtype=np.float64)).float()
            """, 8)),
        ("        return len(self.targets)\n", "        return self.features.shape[0]\n"),
        ("        return self.features[i], self.targets[i]\n", "        return (self.features[i], self.targets[i])\n"),
        (MAKE_DATASETS, code("""
            table = read_csv(path)
            n = len(table[target])
            train_idx, val_idx = split_indices(n, val_fraction, seed)
            parts = []
            for indices in (train_idx, val_idx):
                chosen = indices.numpy()
                parts.append({name: list(np.asarray(cells, dtype=object)[chosen]) for name, cells in table.items()})
            train = TableDataset(parts[0], numeric, categorical, target)
            return train, TableDataset(parts[1], numeric, categorical, target, train.stats)
            """)),
        (COLLATE, code("""
            features, targets = zip(*batch)
            return torch.stack(features, dim=0), torch.stack(targets, dim=0)
            """)),
        (LOADERS, code("""
            generator = torch.Generator()
            generator.manual_seed(seed)
            return (DataLoader(train, batch_size, True, collate_fn=collate_rows, generator=generator),
                    DataLoader(val, batch_size, collate_fn=collate_rows))
            """)),
        (PIXEL_STATS, code("""
            x = images.to(torch.float64)
            mean = x.mean()
            return float(mean), float(((x - mean) ** 2).mean().sqrt())
            """)),
        (TRANSFORM, code("""
            augmentation = [v2.RandomAffine(15, translate=(0.1, 0.1))] if augment else []
            return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), *augmentation,
                               v2.Normalize(mean=[mean], std=[std])])
            """)),
        (AUGMENT, code("""
            transform = image_transform(mean, std, augment=True)
            torch.manual_seed(seed)
            out = torch.empty(images.shape, dtype=torch.float32, device=images.device)
            for k in range(len(images)):
                out[k] = transform(images[k])
            return out
            """)),
        (SHOW, code("""
            fig = plt.figure(figsize=(n, 2))
            for k in range(n):
                for row, batch in enumerate((images, augmented)):
                    ax = fig.add_subplot(2, n, row * n + k + 1)
                    ax.imshow(batch[k, 0].cpu().numpy(), cmap="gray")
                    ax.set_axis_off()
            return fig
            """)),
    ), "csv.DictReader, torch.split of the permutation, NumPy statistics and features, F.one_hot with a spare "
       "class for unseen categories, object arrays to take rows, positional DataLoader arguments, a mean of "
       "squares for the std, the augmentation as a list spliced into the Compose, a preallocated output, "
       "add_subplot column by column"),
    Alternative("ex10_pandas_nan_aware_torch", EX10, (
        (READ_CSV, code("""
            import pandas as pd

            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            return {str(name): frame[name].tolist() for name in frame.columns}
            """)),
        (SPLIT, code("""
            n_val = round(val_fraction * n)
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed), dtype=torch.int64)
            return order[n_val:].clone(), order[:n_val].clone()
            """)),
        (FIT_STATS, code("""
            if numeric:
                x = torch.tensor([[float(c) if c != "" else float("nan") for c in table[name]] for name in numeric],
                                 dtype=torch.float64)
                mean = torch.nanmean(x, dim=1)
                std = torch.nanmean((x - mean[:, None]) ** 2, dim=1).sqrt()
                spread = x.nan_to_num(-math.inf).amax(dim=1) > x.nan_to_num(math.inf).amin(dim=1)
                std = torch.where(spread, std, torch.ones_like(std))
            else:
                mean = std = torch.zeros(0, dtype=torch.float64)
            categories = [sorted(set(c for c in table[name] if c)) for name in categorical]
            return Stats(numeric=list(numeric), categorical=list(categorical), mean=mean, std=std,
                         categories=categories)
            """)),
        (ENCODE, code("""
            n = len(next(iter(table.values())))
            rows = []
            for r in range(n):
                cells = [table[name][r] for name in stats.numeric]
                z = [0.0 if c == "" else (float(c) - stats.mean[j].item()) / stats.std[j].item()
                     for j, c in enumerate(cells)]
                flags = [1.0 if c == "" else 0.0 for c in cells]
                hot = []
                for name, categories in zip(stats.categorical, stats.categories):
                    hot += [1.0 if table[name][r] == category else 0.0 for category in categories]
                rows.append(z + flags + hot)
            width = 2 * len(stats.numeric) + sum(len(c) for c in stats.categories)
            return torch.tensor(rows, dtype=torch.float64).reshape(n, width).to(torch.float32)
            """)),
        (DATASET_INIT, code("""
            self.stats = stats or fit_stats(table, numeric, categorical)
            self.features = encode(table, self.stats)
            self.targets = torch.tensor(list(map(float, table[target])), dtype=torch.float64).float()
            """, 8)),
        ("        return self.features[i], self.targets[i]\n", code("""
            x = self.features[i]
            y = self.targets[i]
            return x, y
            """, 8)),
        (MAKE_DATASETS, code("""
            table = read_csv(path)
            train_idx, val_idx = split_indices(len(table[target]), val_fraction, seed)
            train_rows = {name: [cells[i] for i in train_idx] for name, cells in table.items()}
            val_rows = {name: [cells[i] for i in val_idx] for name, cells in table.items()}
            train = TableDataset(train_rows, numeric, categorical, target)
            val = TableDataset(val_rows, numeric, categorical, target, stats=train.stats)
            return train, val
            """)),
        (COLLATE, code("""
            from torch.utils.data import default_collate

            X, y = default_collate(batch)
            return X, y
            """)),
        (PIXEL_STATS, code("""
            std, mean = torch.std_mean(images.double(), correction=0)
            return mean.item(), std.item()
            """)),
        (TRANSFORM, code("""
            transforms = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
            transforms += [v2.RandomAffine(degrees=(-15, 15), translate=(0.1, 0.1))] * bool(augment)
            transforms.append(v2.Normalize(mean=(mean,), std=(std,)))
            return v2.Compose(transforms)
            """)),
        (AUGMENT, code("""
            torch.manual_seed(seed)
            transform = image_transform(mean, std, True)
            return torch.cat([transform(image).unsqueeze(0) for image in images]).as_subclass(torch.Tensor)
            """)),
        (SHOW, code("""
            fig, axes = plt.subplots(nrows=2, ncols=n, squeeze=False)
            for top, bottom, x, x_aug in zip(axes[0], axes[1], images[:n].cpu(), augmented[:n].cpu()):
                top.imshow(x[0].numpy(), cmap="gray")
                bottom.imshow(x_aug[0].numpy(), cmap="gray")
                top.axis("off")
                bottom.axis("off")
            return fig
            """)),
    ), "pandas.read_csv(dtype=str, keep_default_na=False), clones of the permutation's parts, torch.nanmean "
       "statistics for all columns at once, features row by row from Python lists, `stats or fit_stats(...)`, "
       "default_collate, torch.std_mean, degrees=(-15, 15), the seed set before the Compose is built, "
       "torch.cat of unsqueezed images, subplots(nrows=, ncols=) zipped with the pictures"),
]
