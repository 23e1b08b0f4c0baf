# Ben's exercise 10: the table part done, its statistics from all rows; the image transforms not started.
"""Exercise 10: a data pipeline: a Dataset over a CSV table, and image transforms.

Real data rarely arrive as tensors. A table is text: numbers to parse, categories to encode, empty
cells where a value is missing. Here you turn a CSV file into a ``Dataset`` of (features, target)
tensors: read it, split its rows into training and validation with a seed, fit the preprocessing
(means, standard deviations, the list of categories) on the training rows only, and encode both
splits with it; then batch them with a ``DataLoader`` and a ``collate_fn``. Finally you build
torchvision ``transforms.v2`` pipelines for MNIST digits: normalisation with the training images'
statistics, and a seeded random augmentation.

The rule that runs through it: everything the pipeline learns from data comes from the training
split. Statistics computed from all rows (or from the validation rows) let the validation data
leak into training, and the validation score then promises more than the model will deliver.

Data: ``grader.data.rand_hie_csv()`` is the path of the RAND Health Insurance Experiment table
(shipped inside statsmodels, public domain): 20,190 person-years, 45 columns. ``site`` codes the
six sites of the experiment 1..6 and ``coins`` the coinsurance rate of a person's plan (0, 25, 50,
95 or 100 %): categories, not quantities. ``ghindx`` (a general health index) is empty in 5,223
rows and ``educdec`` (the education of the family's decision maker) in 4: missing values. ``NUMERIC``, ``CATEGORICAL`` and
``TARGET`` below name the columns this exercise uses. ``grader.data.mnist_split()`` gives the
MNIST digits: 4,000 training images, float32 (N, 1, 28, 28) in [0, 1].
The grader also runs your code on CSV files it writes, with other columns, categories and empty
cells, so make it work for any table the docstrings allow.
Check your work with ``pytest exercises/ex10_data_pipeline.py``.
"""

import csv
import math
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

NUMERIC = ["xage", "income", "educdec", "ghindx"]  # age, family income, education, a general health index
CATEGORICAL = ["site", "coins"]  # the experiment's site, the plan's coinsurance rate
TARGET = "mdvis"  # the number of visits to a doctor that year


def read_csv(path) -> dict[str, list[str]]:
    """Every column of a CSV file, as the list of its cells (text), by the name in the header line.

    The first line names the columns; each further line is one row. Cells are separated by commas
    and may be quoted as Python's ``csv`` module writes them (a cell holding a comma is quoted:
    ``"Smith, J."``), so read the file with ``csv.reader`` (opened with ``newline=""``), not
    ``line.split(",")``. Keep every cell as the text it is: an empty cell is ``""`` (a missing
    value), ``"1"`` stays ``"1"``.

    Args:
        path: the file's path (a ``str`` or a ``pathlib.Path``).
    Returns:
        ``{column name: [cell of row 0, cell of row 1, ...]}``, the columns in the header's order.
    """
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    return {name: [row[j] for row in rows] for j, name in enumerate(header)}


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of the row indices 0..n-1 into training and validation.

    ``perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))``, then the first
    ``n_val = round(val_fraction * n)`` entries of ``perm`` are the validation rows and the rest the
    training rows: the same seed gives the same split, on any machine.

    Returns:
        ``(train, val)``: int64 tensors of shapes (n - n_val,) and (n_val,), in the order of ``perm``.
    """
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = round(val_fraction * n)
    return perm[n_val:], perm[:n_val]


@dataclass
class Stats:
    """What the preprocessing learns from the training rows (``fit_stats``), to encode any rows with (``encode``).

    ``numeric`` and ``categorical`` name the columns; ``mean`` and ``std`` are float64 tensors of shape
    (len(numeric),); ``categories[j]`` is the sorted list of the categories of ``categorical[j]``.
    """

    numeric: list[str]
    categorical: list[str]
    mean: torch.Tensor
    std: torch.Tensor
    categories: list[list[str]]


def fit_stats(table: dict[str, list[str]], numeric: list[str], categorical: list[str]) -> Stats:
    """The statistics of ``table``'s rows that encoding needs (call it on the training rows only).

    For each numeric column, its non-empty cells as float64 numbers (``float(cell)``; float32 would
    lose the last digits of large values, such as timestamps): ``mean``, their mean, and ``std``,
    their population standard deviation (``correction=0``, as scikit-learn's ``StandardScaler``);
    empty cells are left out of both (a missing value is not a 0). A column
    whose cells all hold the same number has no spread: its std comes out 0 (or a rounding error,
    such as 1e-17); store 1.0 instead, so that standardising leaves the column at 0 rather than
    dividing by (nearly) 0. Every numeric column has at least one non-empty cell.

    For each categorical column, its categories: the distinct non-empty cells, sorted as text
    (``sorted(set(...))``, so ``"10"`` comes before ``"9"``).

    Returns:
        ``Stats(list(numeric), list(categorical), mean, std, categories)``, mean and std float64 (k,)
        on the CPU for k numeric columns.
    """
    means, stds = [], []
    for name in numeric:
        values = torch.tensor([float(cell) for cell in table[name] if cell != ""], dtype=torch.float64)
        means.append(values.mean().item())
        stds.append(values.std(correction=0).item() if values.max() > values.min() else 1.0)
    categories = [sorted({cell for cell in table[name] if cell != ""}) for name in categorical]
    return Stats(list(numeric), list(categorical), torch.tensor(means, dtype=torch.float64),
                 torch.tensor(stds, dtype=torch.float64), categories)


def encode(table: dict[str, list[str]], stats: Stats) -> torch.Tensor:
    """The features of every row of ``table``, made with ``stats`` (the training rows' statistics).

    For n rows, k numeric columns and categorical columns with c_1, c_2, ... categories, the result
    is float32 (n, 2k + c_1 + c_2 + ...), its columns in this order:

    - the k numeric columns, standardised: ``(x - mean) / std``; an empty cell is imputed with the
      training mean first, so it becomes 0;
    - k missing indicators, one per numeric column: 1.0 where that cell is empty, else 0.0;
    - for each categorical column, in ``stats.categorical``'s order, a one-hot block of its
      ``len(categories)`` columns: 1.0 at the position of the cell's category in ``stats.categories``,
      0.0 elsewhere; an empty cell, or a category the training rows never had, gives all zeros.

    Parse the cells and compute in float64 (as ``fit_stats``), return float32, on the CPU. ``table``
    may hold other columns too.
    """
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


class TableDataset(Dataset):
    """The rows of a table as ``(features, target)`` pairs, encoded once.

    ``TableDataset(table, numeric, categorical, target, stats=None)``: with ``stats=None`` (the
    training rows) fit the statistics on this table with ``fit_stats``; given ``stats`` (the
    validation rows), use them as they are and fit nothing. Keep them as ``self.stats``. Encode all
    rows in ``__init__``: ``self.features = encode(table, self.stats)``, float32 (n, d), and
    ``self.targets``, the ``target`` column's cells (never empty) as float32 (n,).

    ``len(dataset)`` is n; ``dataset[i]`` is ``(features[i], targets[i])``: float32 (d,) and a
    float32 scalar (shape ()).
    """

    def __init__(self, table: dict[str, list[str]], numeric: list[str], categorical: list[str], target: str,
                 stats: Stats | None = None):
        self.stats = fit_stats(table, numeric, categorical) if stats is None else stats
        self.features = encode(table, self.stats)
        self.targets = torch.tensor([float(cell) for cell in table[target]], dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):
        return self.features[i], self.targets[i]


def make_datasets(path, numeric: list[str], categorical: list[str], target: str, val_fraction: float = 0.2,
                  seed: int = 0) -> tuple[TableDataset, TableDataset]:
    """The training and validation datasets of the CSV file at ``path``.

    Read it with ``read_csv``, split its n rows with ``split_indices(n, val_fraction, seed)``, and
    make two tables of the same columns holding each split's rows, in the order of its indices.
    Then ``train = TableDataset(training rows, ...)`` fits the statistics, and ``val =
    TableDataset(validation rows, ..., stats=train.stats)`` is encoded with the training rows'
    statistics: the validation rows must not influence the means, the standard deviations or the
    categories (fitting them on all rows before splitting would leak the validation data into
    training).

    Returns:
        ``(train, val)``, two ``TableDataset``s.
    """
    table = read_csv(path)
    train_idx, val_idx = split_indices(len(table[target]), val_fraction, seed)

    def rows(indices: torch.Tensor) -> dict[str, list[str]]:
        return {name: [cells[i] for i in indices.tolist()] for name, cells in table.items()}

    stats = fit_stats(table, numeric, categorical)
    train = TableDataset(rows(train_idx), numeric, categorical, target, stats=stats)
    val = TableDataset(rows(val_idx), numeric, categorical, target, stats=stats)
    return train, val


def collate_rows(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``DataLoader``'s ``collate_fn``: B ``(features, target)`` pairs into one ``(X, y)`` batch.

    ``X`` stacks the features row by row, float32 (B, d); ``y`` stacks the targets, float32 (B,).
    """
    X = torch.stack([features for features, _ in batch])
    y = torch.stack([target for _, target in batch])
    return X, y


def make_loaders(train: Dataset, val: Dataset, batch_size: int, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """``(train_loader, val_loader)``: DataLoaders of ``batch_size`` rows batched by ``collate_rows``.

    The training loader shuffles, its order drawn from ``torch.Generator().manual_seed(seed)`` (the
    loader's ``generator``), so the same seed gives the same batches; the validation loader keeps
    the rows in order (``shuffle=False``). The last batch may be smaller.
    """
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, collate_fn=collate_rows,
                              generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(val, batch_size=batch_size, shuffle=False, collate_fn=collate_rows)
    return train_loader, val_loader


def pixel_stats(images: torch.Tensor) -> tuple[float, float]:
    """The mean and the standard deviation of all the pixels of ``images`` together.

    Args:
        images: float32 (N, 1, H, W), values in [0, 1] (the training images).
    Returns:
        ``(mean, std)``, two Python floats: computed in float64 over every pixel of every image, the
        std the population one (``correction=0``).
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex10.pixel_stats")


def image_transform(mean: float, std: float, augment: bool = False) -> v2.Compose:
    """The ``transforms.v2`` pipeline of one digit: uint8 (1, H, W), values 0..255, to float32 (1, H, W).

    A ``v2.Compose`` of, in this order:

    - ``v2.ToImage()``;
    - ``v2.ToDtype(torch.float32, scale=True)``: 0..255 to [0, 1];
    - only when ``augment``: ``v2.RandomAffine(degrees=15, translate=(0.1, 0.1))``, a random rotation
      of up to 15 degrees and a shift of up to a tenth of the side, the pixels it uncovers filled
      with 0 (black);
    - ``v2.Normalize([mean], [std])``: ``(x - mean) / std``.

    Augment before normalising: an uncovered pixel must be black, ``(0 - mean) / std`` once
    normalised, like the rest of the background.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex10.image_transform")


def augment_images(images: torch.Tensor, mean: float, std: float, seed: int) -> torch.Tensor:
    """Every digit of ``images`` through ``image_transform(mean, std, augment=True)``, reproducibly.

    Call ``torch.manual_seed(seed)`` once, then apply the transform to ``images[0]``, ``images[1]``,
    ... in order, each on its own (a v2 transform draws one rotation and shift per call: applied to
    the whole batch at once, every digit would get the same), and stack the results. The same seed
    gives the same images; another seed, other ones.

    Args:
        images: uint8 (N, 1, H, W), values 0..255.
    Returns:
        float32 (N, 1, H, W), a plain ``torch.Tensor`` on the device of ``images``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("ex10.augment_images")


def plot_augmented(images: torch.Tensor, augmented: torch.Tensor, n: int = 8):
    """A grid of two rows of ``n`` digits: ``images[:n]`` above, ``augmented[:n]`` below, to compare.

    ``fig, axes = plt.subplots(2, n)``; draw digit k of row r with ``axes[r, k].imshow(x[k, 0],
    cmap="gray")`` and hide its axes (``axes[r, k].axis("off")``). Both inputs are float32
    (N, 1, H, W) and may be on a GPU: move them to the CPU before drawing. Return the figure.
    """
    import matplotlib.pyplot as plt

    # YOUR CODE HERE
    raise NotImplementedError("ex10.plot_augmented")
