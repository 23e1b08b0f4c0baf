"""Rubric for exercise 10: a Dataset over a CSV table (a seeded split, statistics of the training rows only,
standardisation, missing values, one-hot categories, batches) and transforms.v2 pipelines of MNIST digits
(normalisation with the training images' statistics, a seeded augmentation).

The tables are CSV files a probe writes from a seed (other columns, categories and empty cells at every case,
quoted cells holding commas), so a solution written for one file fails; the RAND HIE table ships inside
statsmodels. Leakage is probed with tables whose validation rows lie far from the training rows: statistics
fitted on all rows, or on the validation rows, then differ from the training rows' by tens of standard
deviations, and the hint says which ones the answer used.
"""

import csv
import io
import json
import math
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from torchvision.transforms import v2

from grader import data, figures
from grader.checks import Holds, Match, Require, Verdict, _values_differ, case_hints, compare, like, near
from grader.payload import Value
from grader.probes import Call, Numbers, StudentError, describe_figure, memo, outputs_named, standing_in
from grader.rubric import Check, Exercise, case

EXERCISE = Exercise("ex10_data_pipeline", "A data pipeline", time_limit=90)

NUMERIC_NAMES = ["height", "dose", "income", "score"]
CATEGORICAL_NAMES = ["colour", "ward", "grade"]
POOL = ["red", "blue", "green", "amber", "10", "9", "violet"]  # "10" sorts before "9" as text
NOTES = ["ok", "late, rescheduled", "n/a", "Smith, J.", 'said "fine"', "call back"]
UNSEEN = "zebra"  # a category only rows the statistics never saw hold
RAND_HIE = {"numeric": ["xage", "income", "educdec", "ghindx"], "categorical": ["site", "coins"], "target": "mdvis"}


# --- tables written from a seed ----------------------------------------------------------------------

def split(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The docstring's split: (training, validation) indices."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = round(val_fraction * n)
    return perm[n_val:], perm[:n_val]


def table_inputs(g, n=12, k=2, c=1, missing=0.25, categories=4, val_fraction=0.25, split_seed=0, leak_probe=False,
                 constant=False, large=False, unseen=0, crlf=False, fit_rows=None):
    """A table of ``n`` rows: an ``id``, ``k`` numeric columns (each of its own scale and offset, three decimals, a
    fraction ``missing`` of empty cells), ``c`` categorical columns (cells drawn from ``categories`` of ``POOL``,
    some empty), the target ``y`` and a free-text ``note`` (some cells quoted: they hold a comma or a quote), in a
    seeded column order; and the CSV text of it (``csv.writer``'s, lines ending in ``\\r\\n`` with ``crlf``, when
    one note also holds a line break).

    ``leak_probe``: the rows the docstring's split makes validation rows lie 40 standard deviations away and hold a
    category of their own, so that statistics of all rows, or of the validation rows, are far from the training
    rows'. ``constant``: the first numeric column holds one value; ``large``: values near a million that differ in
    their decimals (as timestamps do), which float32 cannot tell apart. ``unseen``: the last rows hold a category
    the first ``fit_rows`` rows (those the probes fit statistics on) never have. Every numeric column has at least
    two values among the rows statistics are fitted on.
    """
    numeric, categorical = NUMERIC_NAMES[:k], CATEGORICAL_NAMES[:c]
    held = set(split(n, val_fraction, split_seed)[1].tolist())
    val = held if leak_probe else set()
    fitted = [i for i in range(fit_rows or n) if i not in held] or list(range(n))
    columns = {"id": [str(i + 1) for i in range(n)]}
    for j, name in enumerate(numeric):
        scale = 10.0 ** int(torch.randint(-1, 4, (), generator=g))
        offset = float(torch.randn((), generator=g, dtype=torch.float64)) * 5 * scale
        values = offset + scale * torch.randn(n, generator=g, dtype=torch.float64)
        if large and j == 0:
            values = 1e6 + values / scale
        if constant and j == 0:
            values[:] = round(offset, 3)
        for i in val:
            values[i] += 40 * scale
        empty = (torch.rand(n, generator=g) < missing).tolist()
        for i in fitted[:2]:
            empty[i] = False
        columns[name] = ["" if e else f"{v:.3f}" for v, e in zip(values.tolist(), empty)]
    for name in categorical:
        drawn = torch.randint(0, categories, (n,), generator=g).tolist()
        empty = (torch.rand(n, generator=g) < missing / 2).tolist()
        cells = ["" if e else POOL[d] for d, e in zip(drawn, empty)]
        for i in sorted(val)[::2]:
            cells[i] = UNSEEN
        for i in range(n - unseen, n):
            cells[i] = UNSEEN
        columns[name] = cells
    columns["y"] = [f"{v:.2f}" for v in (1 + 3 * torch.randn(n, generator=g, dtype=torch.float64)).tolist()]
    notes = torch.randint(0, len(NOTES), (n,), generator=g).tolist()
    columns["note"] = [NOTES[d] for d in notes]
    if crlf:
        columns["note"][n // 2] = "two\r\nlines"
    order = [list(columns)[int(p)] for p in torch.randperm(len(columns), generator=g)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(order)
    writer.writerows(zip(*(columns[name] for name in order)))
    return {"csv": text.getvalue().encode(), "columns": order, "table": {name: columns[name] for name in order},
            "numeric": numeric, "categorical": categorical, "target": "y", "n": n,
            **({"fit_rows": fit_rows} if fit_rows else {})}


def dataset_inputs(g, val_fraction=0.25, split_seed=0, **table):
    """A table (``table_inputs``) and the fraction and seed ``make_datasets`` splits it with."""
    return {**table_inputs(g, val_fraction=val_fraction, split_seed=split_seed, **table),
            "val_fraction": val_fraction, "split_seed": split_seed}


def split_inputs(g, n=10, val_fraction=0.2, split_seed=0):
    return {"n": n, "val_fraction": val_fraction, "seed": split_seed}


def pairs_inputs(g, b=5, d=3, n=None, batch_size=4, loader_seed=3):
    """Rows of features and targets (``n`` of them for loaders; the targets number the rows, so any order shows)."""
    rows = n or b
    return {"X": torch.randn(rows, d, generator=g), "y": torch.arange(rows, dtype=torch.float32) + 0.5,
            **({"batch_size": batch_size, "loader_seed": loader_seed} if n else {})}


def image_inputs(g, n=3, side=6, mean=0.13, std=0.31, augment_seed=None, border=0):
    """``n`` uint8 images (1, side, side) with values 0..255 (a black ``border`` of that many pixels), float32 copies
    in [0, 1], and the mean and std a transform is given."""
    images = torch.randint(0, 256, (n, 1, side, side), generator=g, dtype=torch.uint8)
    if border:
        inside = torch.zeros_like(images)
        inside[..., border:side - border, border:side - border] = 1
        images = images * inside
    return {"images": images, "pixels": images.float() / 255, "mean": mean, "std": std,
            **({"seed": augment_seed} if augment_seed is not None else {})}


def digits_inputs(g, n=6, augment_seed=3, start=0):
    """MNIST training digits ``start .. start + n`` as uint8, and the training images' mean and std."""
    images = data.mnist_split().X_train[start:start + n]
    mean, std = mnist_stats()
    return {"images": (images * 255).round().to(torch.uint8), "mean": mean, "std": std, "seed": augment_seed}


def mnist_stats() -> tuple[float, float]:
    pixels = data.mnist_split().X_train.double()
    return pixels.mean().item(), pixels.std(correction=0).item()


# --- probes ----------------------------------------------------------------------------------------------

@contextmanager
def csv_file(text: bytes):
    """The CSV text written to a file of a folder of its own, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="ex10-table-"))
    try:
        path = folder / "table.csv"
        path.write_bytes(text)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cell(value) -> str:
    """A cell as the probe reports it: text as it is, anything else marked with its type."""
    return value if isinstance(value, str) else f"<{type(value).__name__} {value!r}>"


def as_text(obj) -> Numbers:
    """A JSON-able value as the UTF-8 bytes of its JSON (what ``decoded`` reads back)."""
    return Numbers(list(json.dumps(obj).encode()), dtype=torch.uint8)


def decoded(value):
    """What ``as_text`` encoded, from a tensor or a ``Value``; None when it holds no JSON."""
    t = value.tensor if isinstance(value, Value) else value
    try:
        return json.loads(bytes(t.tolist()).decode()) if t is not None and t.dtype == torch.uint8 else None
    except Exception:  # whatever a child reports
        return None


def columns_of(table, owner: str) -> dict[str, list[str]]:
    if not hasattr(table, "items"):
        raise StudentError(f"{owner} should return a dict of columns ({{name: [cells]}}); it returned a "
                           f"{type(table).__name__}")
    return {str(name): [cell(v) for v in cells] for name, cells in table.items()}


def probe_read_csv(trial):
    with csv_file(trial.inputs["csv"]) as path:
        table = trial.target("read_csv")(str(path))
    return {"table": as_text(columns_of(table, "read_csv"))}


def stats_values(stats, owner: str) -> dict:
    """A ``Stats``' means, standard deviations and categories."""
    try:
        mean, std, categories = stats.mean, stats.std, stats.categories
    except AttributeError as exc:
        raise StudentError(f"{owner} should be a Stats (with mean, std and categories): {exc}") from None
    return {"mean": mean, "std": std, "categories": as_text([[cell(c) for c in group] for group in categories])}


def probe_fit_stats(trial):
    i = trial.inputs
    return stats_values(trial.target("fit_stats")(i["table"], list(i["numeric"]), list(i["categorical"])),
                        "fit_stats(...)")


def rows_of(table: dict, indices) -> dict:
    return {name: [cells[int(k)] for k in indices] for name, cells in table.items()}


def given_stats(trial, table: dict):
    """The student's ``Stats`` holding the grader's statistics of ``table`` (so ``encode`` is checked on its own)."""
    i = trial.inputs
    mean, std, categories = stats_by_hand(table, i["numeric"], i["categorical"])
    return trial.target("Stats")(list(i["numeric"]), list(i["categorical"]), mean, std, categories)


def probe_encode(trial):
    i = trial.inputs
    stats = given_stats(trial, rows_of(i["table"], range(i["fit_rows"])))
    return {"features": trial.target("encode")(i["table"], stats)}


def items(dataset, owner: str) -> dict:
    """Every ``(features, target)`` pair of a dataset, stacked (through ``len`` and ``[]``, as a DataLoader reads)."""
    pairs = [dataset[k] for k in range(len(dataset))]
    if not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise StudentError(f"{owner}[i] should be a pair (features, target)")
    if not pairs:
        return {"features": None, "targets": None}
    return {"features": torch.stack([torch.as_tensor(x) for x, _ in pairs]),
            "targets": torch.stack([torch.as_tensor(y) for _, y in pairs])}


def probe_table_dataset(trial):
    i = trial.inputs
    m = i["fit_rows"]
    first, rest = rows_of(i["table"], range(m)), rows_of(i["table"], range(m, i["n"]))
    Dataset = trial.target("TableDataset")
    fitted = Dataset(first, list(i["numeric"]), list(i["categorical"]), i["target"])
    stats = getattr(fitted, "stats", None)
    if stats is None:
        raise StudentError("TableDataset should keep its statistics as self.stats")
    given = Dataset(rest, list(i["numeric"]), list(i["categorical"]), i["target"], stats=stats)
    x0, y0 = fitted[0]
    own, other = items(fitted, "TableDataset(...)"), items(given, "TableDataset(..., stats=...)")
    return {"len": len(fitted), "x0": x0, "y0": y0, "features": own["features"], "targets": own["targets"],
            **{f"stats/{k}": v for k, v in stats_values(stats, "self.stats").items()},
            "given/features": other["features"]}


def probe_make_datasets(trial):
    i = trial.inputs
    with csv_file(i["csv"]) as path:
        made = trial.target("make_datasets")(str(path), list(i["numeric"]), list(i["categorical"]), i["target"],
                                             i["val_fraction"], i["split_seed"])
    train, val = outputs_named(made, ("train", "val"), "make_datasets").values()
    train, val = items(train, "train"), items(val, "val")
    return {"train/features": train["features"], "train/targets": train["targets"],
            "val/features": val["features"], "val/targets": val["targets"]}


def rand_hie_summary(train, val, stats) -> dict:
    """What the checks compare of the RAND HIE datasets: sizes, the first rows, the validation rows' mean features
    and the training statistics (the whole tables would not fit the expected values students receive)."""
    return {"n_train": len(train["targets"]), "n_val": len(val["targets"]),
            "train/head": train["features"][:3], "val/head": val["features"][:3], "val/targets": val["targets"][:3],
            "val/mean": val["features"].double().mean(dim=0), **stats}


def probe_rand_hie(trial):
    i = trial.inputs

    def made():
        found = trial.target("make_datasets")(str(data.rand_hie_csv()), list(RAND_HIE["numeric"]),
                                              list(RAND_HIE["categorical"]), RAND_HIE["target"], i["val_fraction"],
                                              i["split_seed"])
        train, val = outputs_named(found, ("train", "val"), "make_datasets").values()
        stats = stats_values(getattr(train, "stats", None), "the training dataset's self.stats")
        return rand_hie_summary(items(train, "train"), items(val, "val"), stats)
    return memo(trial, f"rand_hie {i['val_fraction']} {i['split_seed']}", made)


def probe_collate(trial):
    i = trial.inputs
    return outputs_named(trial.target("collate_rows")(list(zip(i["X"], i["y"]))), ("X", "y"), "collate_rows")


def loaded(loader, owner: str) -> tuple[list, torch.Tensor | None, torch.Tensor | None]:
    try:
        batches = list(loader)
    except TypeError:
        raise StudentError(f"{owner} should be a DataLoader (something to iterate over); it is a "
                           f"{type(loader).__name__}") from None
    if not all(isinstance(b, (tuple, list)) and len(b) == 2 for b in batches):
        raise StudentError(f"each batch of {owner} should be a pair (X, y)")
    if not batches:
        return batches, None, None
    return batches, torch.cat([X for X, _ in batches]), torch.cat([y for _, y in batches])


def probe_make_loaders(trial):
    """Both loaders over the inputs' rows (the targets number them), built twice with the same seed; whether their
    batches went through ``collate_rows`` (the student's, counted while the loaders run)."""
    i = trial.inputs
    n_train = (len(i["y"]) * 2) // 3
    rows = list(zip(i["X"], i["y"]))
    train, val = rows[:n_train], rows[n_train:]
    collate = trial.target("collate_rows")
    calls = []

    def counted(batch):
        calls.append(len(batch))
        return collate(batch)

    with standing_in(trial, "collate_rows", counted):
        made = outputs_named(trial.target("make_loaders")(train, val, i["batch_size"], i["loader_seed"]),
                             ("train_loader", "val_loader"), "make_loaders")
        batches, X, y = loaded(made["train_loader"], "train_loader")
        collated_train = len(calls)
        again = loaded(outputs_named(trial.target("make_loaders")(train, val, i["batch_size"], i["loader_seed"]),
                                     ("train_loader", "val_loader"), "make_loaders")["train_loader"],
                       "train_loader")[2]
        calls.clear()
        val_batches, _, val_y = loaded(made["val_loader"], "val_loader")
        collated_val = len(calls)
    return {"batch_sizes": Numbers([len(b[1]) for b in batches]), "train/X": X, "train/y": y,
            "same_seed_same_order": again is not None and y is not None and bool(torch.equal(again, y)),
            "val/y": val_y, "val/batch_sizes": Numbers([len(b[1]) for b in val_batches]),
            "collated_by_collate_rows": collated_train == len(batches) and collated_val == len(val_batches)}


def probe_pixel_stats(trial):
    return outputs_named(trial.target("pixel_stats")(trial.inputs["pixels"]), ("mean", "std"), "pixel_stats")


def transformed(transform, images: torch.Tensor) -> torch.Tensor:
    """Each image through the transform on its own, stacked, as a plain tensor."""
    return torch.stack([torch.as_tensor(transform(image)) for image in images]).as_subclass(torch.Tensor)


def probe_image_transform(trial):
    i = trial.inputs
    transform = trial.target("image_transform")(i["mean"], i["std"])
    return {"out": transformed(transform, i["images"])}


def probe_normalised_digits(trial):
    """The student's statistics of the training digits, and their transform (no augmentation) applied to all of
    them: the mean and std of the result."""
    images = data.mnist_split().X_train.to(trial.device)
    mean, std = outputs_named(trial.target("pixel_stats")(images), ("mean", "std"), "pixel_stats").values()
    as_bytes = (images * 255).round().to(torch.uint8)
    transform = trial.target("image_transform")(float(mean), float(std))
    try:
        out = torch.as_tensor(transform(as_bytes)).as_subclass(torch.Tensor)  # the whole batch at once
        assert out.shape == as_bytes.shape
    except Exception:  # a transform written for one image only
        out = transformed(transform, as_bytes)
    out = out.double()
    return {"pixel_mean": float(mean), "pixel_std": float(std), "out_mean": out.mean().item(),
            "out_std": out.std(correction=0).item(), "out_max": out.max().item()}


def probe_augment(trial):
    """The augmented images, and what they show: the same seed again, another seed, four copies of one image (each
    must get its own rotation), and the four corners of each image."""
    i = trial.inputs
    augment = trial.target("augment_images")
    out = augment(i["images"], i["mean"], i["std"], i["seed"])
    again = augment(i["images"], i["mean"], i["std"], i["seed"])
    other = augment(i["images"], i["mean"], i["std"], i["seed"] + 1)
    copies = torch.as_tensor(augment(i["images"][:1].repeat(4, 1, 1, 1), i["mean"], i["std"], i["seed"]))
    out = torch.as_tensor(out).as_subclass(torch.Tensor)
    corners = out[..., [0, 0, -1, -1], [0, -1, 0, -1]] if out.dim() == 4 else out.new_zeros(0)
    return {"out": out, "on_input_device": out.device == i["images"].device,
            "same_seed_same_images": bool(torch.equal(torch.as_tensor(again), out)),
            "other_seed_other_images": not bool(torch.equal(torch.as_tensor(other), out)),
            "copies_differ": not all(torch.equal(copies[0], c) for c in copies[1:]),
            "corners": corners.double().reshape(-1)}


def reference_augmented(images: torch.Tensor, mean: float, std: float, seed: int) -> torch.Tensor:
    """The docstring's augmentation, done here (for the pictures ``plot_augmented`` is given); the global random
    state is put back."""
    state = torch.random.get_rng_state()
    try:
        transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                                v2.RandomAffine(degrees=15, translate=(0.1, 0.1)), v2.Normalize([mean], [std])])
        torch.manual_seed(seed)
        return torch.stack([transform(image) for image in images]).as_subclass(torch.Tensor)
    finally:
        torch.random.set_rng_state(state)


def show_inputs(g, n=6, digits=True, side=5):
    """What ``plot_augmented`` draws: MNIST digits (normalised) and their augmented versions, or random pictures."""
    if digits:
        mean, std = mnist_stats()
        images = (data.mnist_split().X_train[:n] * 255).round().to(torch.uint8)
        return {"images": (images.float() / 255 - mean) / std, "augmented": reference_augmented(images, mean, std, 0),
                "n": n}
    return {"images": torch.rand(n + 1, 1, side, side, generator=g),
            "augmented": torch.rand(n + 1, 1, side, side, generator=g), "n": n}


def probe_show(trial):
    i = trial.inputs
    return describe_figure(trial.target("plot_augmented")(i["images"], i["augmented"], i["n"]), "plot_augmented")


# --- judges --------------------------------------------------------------------------------------------------

class Readable(Match):
    """``Match``, with the outputs in ``texts`` (JSON, as ``as_text`` sends it) compared as the values they hold and
    told as such; mistakes model them as ``as_text`` values too."""

    def __init__(self, texts=(), **kwargs):
        super().__init__(**kwargs)
        self.texts = frozenset(texts)

    def verdict(self, actual, expected, inputs, device):
        problems, valued, others = {}, {}, {}
        for name, want in expected.items():
            got = actual.values.get(name)
            shown = self.names.get(name) or f"`{name}`"
            if name in self.texts:
                a, e = decoded(got), decoded(want)
                if a != e:
                    problems[name] = f"{shown} is {short(a) if a is not None else 'not readable'}, expected {short(e)}"
                    valued[name] = (got if got is not None else Value("nothing"), want)
                continue
            text = compare(name, got, want, device if self.check_device else None, self.rtol, self.atol, shown)
            if text:
                problems[name] = text
                pair = (got if got is not None else Value("nothing"), want)
                (valued if _values_differ(*pair, self.rtol, self.atol) else others)[name] = pair
        if not problems:
            return Verdict(True)
        order = [*valued, *others]
        problem = problems[order[0]]
        if len(order) > 1:
            problem += "\nAlso wrong: " + ", ".join(self.names.get(n) or f"`{n}`" for n in order[1:]) + "."
        hints = case_hints(valued or others, inputs, self.mistakes, self.explain)
        return Verdict(False, problem + (f"\nHint: {hints[0].text}" if hints else ""), problem, hints)


def short(value, limit: int = 300) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def reads_the_table(values, inputs):
    """The columns of the file, in the header's order, each cell the text the file holds."""
    got, want, order = decoded(values.get("table")), inputs["table"], inputs["columns"]
    if not isinstance(got, dict):
        return "read_csv's result could not be read back as {column name: [cells]}"
    if list(got) != order:
        return f"the columns are {short(list(got))}; the header line names {short(order)}, in this order"
    wrong = [(name, r, a, e) for name in order for r, (a, e) in enumerate(zip(got[name], want[name])) if a != e]
    lengths = [name for name in order if len(got[name]) != len(want[name])]
    if not wrong and not lengths:
        return None
    if wrong:
        name, r, a, e = wrong[0]
        line = io.StringIO()
        csv.writer(line, lineterminator="").writerow([want[column][r] for column in order])
        text = (f"column {name!r}, row {r}: the cell is {a!r}, expected {e!r} ({len(wrong)} cell(s) differ); the "
                f"row's line in the file: {line.getvalue()!r}")
    else:
        name = lengths[0]
        text = f"column {name!r} has {len(got[name])} cells; the file has {len(want[name])} rows after its header"
    cells = [e for _, _, _, e in wrong]
    if any(a.startswith("<") for _, _, a, _ in wrong):
        text += "\nHint: keep every cell as the text it is (a str): parsing numbers comes later"
    elif any(mark in e for e in cells for mark in ',"\r\n') or lengths:
        text += ("\nHint: a quoted cell holds a comma (or a quote, or a line break): read the file with csv.reader "
                 "(opened with newline=\"\"), not line.split(\",\")")
    return text


def near_zero_mean_unit_std(values, inputs):
    mean, std = (float(values[k]) for k in ("out_mean", "out_std"))
    if abs(mean) <= 1e-3 and abs(std - 1) <= 1e-3:
        return None
    text = (f"the 4,000 training digits through image_transform(mean, std) with the mean and std pixel_stats gave "
            f"({float(values['pixel_mean']):.6g}, {float(values['pixel_std']):.6g}) have mean {mean:.6g} and std "
            f"{std:.6g}; normalised with the training images' own statistics they should have mean 0 and std 1 "
            f"(within 1e-3)")
    if float(values["out_max"]) > 100:
        text += ": the pixels were not scaled to [0, 1] before Normalize (v2.ToDtype(torch.float32, scale=True))"
    return text


def augment_facts(values, inputs):
    out = values.get("out")
    images = inputs["images"]
    if out is None or tuple(out.shape) != tuple(images.shape) or out.dtype != torch.float32:
        got = "nothing" if out is None else f"{str(out.dtype).replace('torch.', '')} {tuple(out.shape)}"
        return f"augment_images should return float32 {tuple(images.shape)}, the shape of the images; it returned {got}"
    if not bool(values["on_input_device"]):
        return "the augmented images are not on the device of the images: keep them there"
    if not bool(values["same_seed_same_images"]):
        return ("two calls with the same seed gave different images: call torch.manual_seed(seed) once before "
                "transforming, so the same seed draws the same rotations")
    if not bool(values["other_seed_other_images"]):
        return ("seeds differing by one gave the same images: nothing random happened (augment=True should put "
                "v2.RandomAffine(degrees=15, translate=(0.1, 0.1)) in the Compose)")
    if not bool(values["copies_differ"]):
        return ("four copies of one digit came out identical: apply the transform to each image on its own (a v2 "
                "transform draws one rotation and shift per call, so a whole batch at once shares them)")
    background = (0 - inputs["mean"]) / inputs["std"]
    corners = values["corners"]
    off = (corners - background).abs()
    if bool((off > 1e-4).any()):
        return (f"a corner of an augmented digit is {float(corners[off.argmax()]):.4g}, not black ({background:.4g} "
                "= (0 - mean) / std once normalised): augment before Normalize, so that the pixels the rotation "
                "uncovers (filled with 0) are black, not the mean")
    return None


def draws_every_picture(values, inputs):
    drawing = figures.Drawing.of(values)
    n = inputs["n"]
    wanted = [("digit", k, inputs["images"][k, 0]) for k in range(n)] + \
             [("augmented digit", k, inputs["augmented"][k, 0]) for k in range(n)]
    axes = values.get("figure/axes")
    if len(drawing.images) != 2 * n or axes is None or int(axes) != 2 * n:
        return (f"plot_augmented(images, augmented, n={n}) should draw {2 * n} pictures in {2 * n} subplots "
                f"(plt.subplots(2, n)); it draws {len(drawing.images)} in {'?' if axes is None else int(axes)}")
    for what, k, picture in wanted:
        if not any(image.data is not None and figures.close(image.data, picture.cpu()) for image in drawing.images):
            return f"no picture draws {what} {k} (imshow(x[{k}, 0]) of the {'images' if what == 'digit' else what + 's'})"
    return None


# --- what wrong answers look like ------------------------------------------------------------------------------

def floats(cells) -> torch.Tensor:
    return torch.tensor([float(c) if c != "" else math.nan for c in cells], dtype=torch.float64)


def stats_by_hand(table, numeric, categorical, zeros=False, unbiased=False, constant_std=False, order="text",
                  empty_category=False):
    """(mean, std, categories) as the docstring asks, or with one mistake: empty cells counted as ``zeros``, the
    ``unbiased`` std, a ``constant_std`` of 0 kept, categories in the ``order`` first ``"seen"``, or with the
    ``empty_category``."""
    means, stds = [], []
    for name in numeric:
        x = floats(table[name])
        x = x.nan_to_num(0.0) if zeros else x[~x.isnan()]
        std = float(x.std(correction=1 if unbiased else 0)) if len(x) > int(unbiased) else math.nan
        means.append(float(x.mean()))
        stds.append(std if constant_std or (len(x) and x.max() > x.min()) else 1.0)
    categories = []
    for name in categorical:
        cells = [c for c in table[name] if empty_category or c != ""]
        categories.append(list(dict.fromkeys(cells)) if order == "seen" else sorted(set(cells)))
    return torch.tensor(means, dtype=torch.float64), torch.tensor(stds, dtype=torch.float64), categories


def encode_by_hand(table, numeric, categorical, mean, std, categories, impute_zero=False, indicators="after",
                   flipped=False, single=False):
    """The features as the docstring asks, or with one mistake: empty cells read as 0 (``impute_zero``), the
    indicators ``"none"``, ``"interleaved"`` with their columns, or ``flipped`` (1 where a value is present), the
    cells parsed into float32 (``single``)."""
    n = len(next(iter(table.values())))
    values = torch.stack([floats(table[name]) for name in numeric], dim=1) if numeric else torch.zeros(n, 0)
    values = values.float().double() if single else values
    missing = values.isnan()
    z = ((values.nan_to_num(0.0) if impute_zero else torch.where(missing, mean, values)) - mean) / std
    flags = (~missing if flipped else missing).double()
    blocks = {"after": [z, flags], "none": [z],
              "interleaved": [torch.stack([z, flags], dim=2).reshape(n, -1)]}[indicators]
    for name, cats in zip(categorical, categories):
        block = torch.zeros(n, len(cats), dtype=torch.float64)
        for row, c in enumerate(table[name]):
            if c in cats:
                block[row, cats.index(c)] = 1.0
        blocks.append(block)
    return torch.cat(blocks, dim=1).float()


def fitted_stats_text(i, **mistake):
    mean, std, categories = stats_by_hand(i["table"], i["numeric"], i["categorical"], **mistake)
    return {"mean": mean, "std": std, "categories": as_text(categories).tensor}


STATS_MISTAKES = [
    like("empty cells were counted as 0 in the mean and the standard deviation: leave them out (a missing value is "
         "not a 0)", lambda i: fitted_stats_text(i, zeros=True), outputs=["mean", "std"]),
    like("use the population standard deviation (correction=0), not the unbiased one",
         lambda i: fitted_stats_text(i, unbiased=True), outputs=["std"]),
    like("a column whose cells all hold the same number has a standard deviation of 0 (or a rounding error): "
         "store 1.0 instead, so that standardising leaves it at 0", lambda i: fitted_stats_text(i, constant_std=True), outputs=["std"]),
    like("the categories are in the order the rows first show them: sort them (sorted(set(cells)))",
         lambda i: fitted_stats_text(i, order="seen"), outputs=["categories"]),
    like("an empty cell is a missing value, not a category: leave '' out of the categories",
         lambda i: fitted_stats_text(i, empty_category=True), outputs=["categories"]),
]


def encoded(i, **mistake):
    fit = rows_of(i["table"], range(i["fit_rows"]))
    mean, std, categories = stats_by_hand(fit, i["numeric"], i["categorical"])
    return {"features": encode_by_hand(i["table"], i["numeric"], i["categorical"], mean, std, categories, **mistake)}


ENCODE_MISTAKES = [
    like("an empty cell was read as 0 and then standardised: impute it with the training mean first, so that it "
         "becomes 0", lambda i: encoded(i, impute_zero=True)),
    like("the k missing-indicator columns are missing: after the standardised columns, one column per numeric "
         "column, 1.0 where its cell is empty", lambda i: encoded(i, indicators="none")),
    like("the missing indicators are 1.0 where a value is present: they should be 1.0 where the cell is empty",
         lambda i: encoded(i, flipped=True)),
    like("the columns are in another order: first the k standardised columns, then the k missing indicators, then "
         "the one-hot blocks", lambda i: encoded(i, indicators="interleaved")),
    like("the cells were parsed into float32, which drops the last digits of large values (here near a million): "
         "parse them into float64 (dtype=torch.float64), standardise, then convert to float32",
         lambda i: encoded(i, single=True)),
]


def dataset_by_hand(i, own_stats=False):
    m = i["fit_rows"]
    first, rest = rows_of(i["table"], range(m)), rows_of(i["table"], range(m, i["n"]))
    args = (i["numeric"], i["categorical"])
    fitted = stats_by_hand(first, *args)
    given = stats_by_hand(rest, *args) if own_stats else fitted
    return {"given/features": encode_by_hand(rest, *args, *given)}


def datasets_by_hand(i, fit="train"):
    """Both datasets of ``make_datasets`` with statistics of the training rows, of ``"all"`` rows, or (``"val"``)
    the validation dataset fitting its own."""
    train_idx, val_idx = split(i["n"], i["val_fraction"], i["split_seed"])
    table = i["table"]
    train, val = rows_of(table, train_idx.tolist()), rows_of(table, val_idx.tolist())
    args = (i["numeric"], i["categorical"])
    on_train = stats_by_hand(table if fit == "all" else train, *args)
    on_val = stats_by_hand(val, *args) if fit == "val" else on_train
    return {"train/features": encode_by_hand(train, *args, *on_train),
            "val/features": encode_by_hand(val, *args, *on_val)}


def rand_hie_by_hand(i, fit="train"):
    """The RAND HIE summary with statistics of the training rows, of ``"all"`` rows, or the validation rows' own."""
    with open(data.rand_hie_csv(), newline="") as f:
        rows = list(csv.reader(f))
    table = {name: [row[j] for row in rows[1:]] for j, name in enumerate(rows[0])}
    train_idx, val_idx = split(len(rows) - 1, i["val_fraction"], i["split_seed"])
    train, val = rows_of(table, train_idx.tolist()), rows_of(table, val_idx.tolist())
    args = (RAND_HIE["numeric"], RAND_HIE["categorical"])
    on_train = stats_by_hand(table if fit == "all" else train, *args)
    on_val = stats_by_hand(val, *args) if fit == "val" else on_train

    def dataset(part, stats):
        return {"features": encode_by_hand(part, *args, *stats),
                "targets": floats(part[RAND_HIE["target"]]).float()}
    mean, std, categories = on_train
    return rand_hie_summary(dataset(train, on_train), dataset(val, on_val),
                            {"mean": mean, "std": std, "categories": as_text(categories).tensor})


LEAKED_ALL = ("standardisation statistics must come from the training split only: yours match the statistics of "
              "all rows (fitted before splitting), so the validation rows leak into training; fit on the training "
              "rows, then encode the validation rows with train.stats")
LEAKED_VAL = ("standardisation statistics must come from the training split only: your validation rows are encoded "
              "with statistics of the validation rows themselves; pass stats=train.stats to the validation dataset")
LEAK_MISTAKES = [like(LEAKED_ALL, lambda i: datasets_by_hand(i, "all")),
                 like(LEAKED_VAL, lambda i: datasets_by_hand(i, "val"), outputs=["val/features"])]
RAND_HIE_LEAKS = [like(LEAKED_ALL, lambda i: rand_hie_by_hand(i, "all"),
                       outputs=["train/head", "val/head", "val/mean", "mean", "std", "categories"]),
                  like(LEAKED_VAL, lambda i: rand_hie_by_hand(i, "val"), outputs=["val/head", "val/mean"])]


def split_by_hand(i, swapped=False, floor=False, half_up=False):
    perm = torch.randperm(i["n"], generator=torch.Generator().manual_seed(i["seed"]))
    x = i["val_fraction"] * i["n"]
    n_val = int(x) if floor else math.floor(x + 0.5) if half_up else round(x)
    train, val = perm[n_val:], perm[:n_val]
    return {"train": val, "val": train} if swapped else {"train": train, "val": val}


SPLIT_MISTAKES = [
    like("training and validation are swapped: the first round(val_fraction * n) entries of perm are the validation "
         "rows, the rest the training rows", lambda i: split_by_hand(i, swapped=True)),
    like("n_val should be round(val_fraction * n): int() rounds down", lambda i: split_by_hand(i, floor=True)),
    like("n_val should be round(val_fraction * n), which rounds a half to the even neighbour (round(2.5) == 2)",
         lambda i: split_by_hand(i, half_up=True)),
]


def transformed_by_hand(i, scale=True, normalise=True, swapped=False):
    x = i["images"].float() / (255 if scale else 1)
    if not normalise:
        return {"out": x}
    mean, std = (i["std"], i["mean"]) if swapped else (i["mean"], i["std"])
    return {"out": (x - mean) / std}


TRANSFORM_MISTAKES = [
    like("the pixels were not scaled to [0, 1] before Normalize: v2.ToDtype(torch.float32, scale=True)",
         lambda i: transformed_by_hand(i, scale=False)),
    like("the pixels were not normalised: end the Compose with v2.Normalize([mean], [std])",
         lambda i: transformed_by_hand(i, normalise=False)),
    like("the mean and the std are swapped: v2.Normalize takes the means first, then the standard deviations",
         lambda i: transformed_by_hand(i, swapped=True)),
]


def pixel_stats_by_hand(i, unbiased=False, per_image=False):
    x = i["pixels"].double()
    if per_image:
        return {"mean": x.mean().item(), "std": x.flatten(1).std(dim=1, correction=0).mean().item()}
    return {"mean": x.mean().item(), "std": x.std(correction=1 if unbiased else 0).item()}


PIXEL_MISTAKES = [
    like("use the population standard deviation (correction=0), not the unbiased one",
         lambda i: pixel_stats_by_hand(i, unbiased=True), outputs=["std"]),
    like("you averaged the standard deviations of the images: compute one over every pixel of every image together",
         lambda i: pixel_stats_by_hand(i, per_image=True), outputs=["std"]),
    near("close, but not the float64 values: convert the pixels with .double() before the mean and the std (a "
         "float32 sum of many pixels loses digits)", rtol=1e-5),
]
EXACT = dict(rtol=1e-10, atol=1e-12)  # statistics computed in float64, as the docstring asks

TABLE = dict(check_device=False)  # tables are text: their tensors live on the CPU, whatever the run's device
STATS_NAMES = {"mean": "`stats.mean`", "std": "`stats.std`", "categories": "`stats.categories`"}
SPLITS = {f"{part}/{what}": f"`{part}[i][{k}]` stacked over the {'training' if part == 'train' else 'validation'} rows"
          for part in ("train", "val") for k, what in enumerate(("features", "targets"))}


# --- checks --------------------------------------------------------------------------------------------------

EXERCISE.add(
    Check("read_csv", "read_csv", 2, "every column by its header name, each cell the text the file holds (quoted "
          "cells with commas, empty cells)", probe_read_csv, Holds(Require(reads_the_table)), table_inputs,
          (case(1, n=8, k=2, c=1),)),
    Check("split_indices", "split_indices", 2, "a seeded permutation: its first round(val_fraction * n) entries "
          "for validation, the rest for training", Call("split_indices", ["n", "val_fraction", "seed"], ("train", "val")),
          Match(mistakes=SPLIT_MISTAKES, **TABLE), split_inputs,
          (case(0, n=10, val_fraction=0.2, split_seed=0), case(1, n=9, val_fraction=0.3, split_seed=5))),
    Check("fit_stats", "fit_stats", 3, "means and population stds of the non-empty cells; the sorted categories",
          probe_fit_stats, Readable(texts=["categories"], mistakes=STATS_MISTAKES, names=STATS_NAMES, **TABLE),
          table_inputs, (case(2, n=12, k=3, c=2, categories=6),)),
    Check("encode", "encode", 3, "standardised columns (empty cells imputed with the mean), missing indicators, "
          "one-hot blocks (zeros for empty and unseen categories), float32", probe_encode,
          Match(mistakes=ENCODE_MISTAKES, **TABLE), table_inputs,
          (case(3, n=12, k=2, c=2, fit_rows=8, unseen=2),)),
    Check("TableDataset", "TableDataset", 2, "fits its statistics when given none and uses them when given; "
          "len and (features, target) pairs of float32", probe_table_dataset,
          Readable(texts=["stats/categories"], explain={"len": "len(dataset) should be the number of rows"},
                   mistakes=[like("the dataset given stats fitted statistics of its own rows: with stats given "
                                  "(the validation rows), use them as they are", lambda i: dataset_by_hand(i, own_stats=True),
                                  outputs=["given/features"])],
                   **TABLE),
          table_inputs, (case(4, n=10, k=2, c=1, fit_rows=6),)),
    Check("make_datasets", "make_datasets", 3, "the seeded split; both splits encoded with the training rows' "
          "statistics (probed with validation rows far from the training rows)", probe_make_datasets,
          Match(mistakes=LEAK_MISTAKES, names=SPLITS, **TABLE), dataset_inputs,
          (case(5, n=20, k=2, c=1, leak_probe=True, val_fraction=0.25, split_seed=1),)),
    Check("make_datasets.rand_hie", "make_datasets", 2, "the RAND HIE table (statsmodels): sizes, first rows, the "
          "validation rows' mean features, the training statistics", probe_rand_hie,
          Readable(texts=["categories"], mistakes=RAND_HIE_LEAKS, names=STATS_NAMES, **TABLE),
          lambda g, val_fraction=0.2, split_seed=0: {"val_fraction": val_fraction, "split_seed": split_seed},
          (case(0),)),
    Check("collate_rows", "collate_rows", 1, "(features, target) pairs stacked into X (B, d) and y (B,)",
          probe_collate, Match(), pairs_inputs, (case(6, b=5, d=3),)),
    Check("make_loaders", "make_loaders", 2, "batches through collate_rows; training shuffled by the seeded "
          "generator, validation in order", probe_make_loaders,
          Match(explain={"same_seed_same_order": "two training loaders with the same seed gave different orders: "
                                                 "pass generator=torch.Generator().manual_seed(seed)",
                         "collated_by_collate_rows": "the batches did not go through collate_rows: pass "
                                                     "collate_fn=collate_rows to both DataLoaders",
                         "val/y": "the validation loader should keep the rows in order (shuffle=False)"},
                mistakes=[like("the training rows were not shuffled: shuffle=True, with the seeded generator",
                               lambda i: {"train/y": i["y"][:(len(i["y"]) * 2) // 3]}, outputs=["train/y"])]),
          pairs_inputs, (case(7, n=10, d=2, batch_size=4, loader_seed=3),)),
    Check("pixel_stats", "pixel_stats", 1, "mean and population std over every pixel, in float64",
          probe_pixel_stats, Match(mistakes=PIXEL_MISTAKES, **EXACT), image_inputs, (case(8, n=3, side=5),)),
    Check("image_transform", "image_transform", 2, "ToImage, ToDtype(float32, scale=True), Normalize([mean], "
          "[std]) without augmentation", probe_image_transform, Match(mistakes=TRANSFORM_MISTAKES), image_inputs,
          (case(9, n=3, side=6),)),
    Check("image_transform.statistics", "image_transform", 1, "the training digits normalised with pixel_stats' "
          "values have mean 0 and std 1", probe_normalised_digits, Holds(Require(near_zero_mean_unit_std)),
          None, (case(0),)),
    Check("augment_images", "augment_images", 3, "seeded (same seed, same images; another, others), one draw per "
          "image, augmented before Normalize (black corners)", probe_augment, Holds(Require(augment_facts)),
          digits_inputs, (case(0, n=6, augment_seed=3),)),
    Check("plot_augmented", "plot_augmented", 1, "two rows of pictures: the digits and their augmented versions",
          probe_show, Holds(Require(draws_every_picture)), show_inputs, (case(0, n=6),)),
)

### BEGIN HIDDEN TESTS
# Other tables (more columns, two categorical columns or none, a constant column, a category spelled "10" beside "9",
# line ends \r\n with a line break inside a quoted cell, one row), other split fractions and seeds (a fraction whose
# n_val rounds up, one at a half), other loaders, images and seeds; collate_rows on the meta device; the exact
# augmented pixels (the same transforms drawn in the same order); a figure whose pictures stand in for a GPU's.
EXERCISE.add(
    EXERCISE.check("read_csv").hidden_variant(1, case(1001, n=15, k=3, c=2, crlf=True), case(1002, n=1, k=1, c=1)),
    EXERCISE.check("split_indices").hidden_variant(
        1, case(1003, n=9, val_fraction=0.3, split_seed=11), case(1004, n=5, val_fraction=0.5, split_seed=2),
        case(1005, n=7, val_fraction=0.1, split_seed=0), case(1006, n=4, val_fraction=1.0, split_seed=3)),
    EXERCISE.check("fit_stats").hidden_variant(
        1, case(1007, n=14, k=2, c=1, constant=True, categories=7), case(1008, n=9, k=4, c=0, missing=0.5),
        case(1009, n=16, k=1, c=3, categories=6), case(1029, n=10, k=2, c=1, large=True)),
    EXERCISE.check("encode").hidden_variant(
        1, case(1010, n=10, k=3, c=0, fit_rows=7), case(1011, n=15, k=2, c=3, constant=True, fit_rows=9, unseen=3),
        case(1012, n=6, k=4, c=1, missing=0.5, fit_rows=6), case(1030, n=10, k=2, c=1, large=True, fit_rows=7)),
    EXERCISE.check("TableDataset").hidden_variant(1, case(1013, n=13, k=3, c=2, fit_rows=9, unseen=2)),
    EXERCISE.check("make_datasets").hidden_variant(
        1, case(1014, n=30, k=3, c=2, leak_probe=True, val_fraction=0.3, split_seed=7),
        case(1015, n=11, k=1, c=1, val_fraction=0.5, split_seed=4)),
    EXERCISE.check("collate_rows").hidden_variant(1, case(1016, b=1, d=1), case(1017, b=3, d=4, device="meta")),
    EXERCISE.check("make_loaders").hidden_variant(1, case(1018, n=7, d=3, batch_size=2, loader_seed=9),
                                                  case(1019, n=12, d=1, batch_size=5, loader_seed=0)),
    EXERCISE.check("pixel_stats").hidden_variant(1, case(1020, n=1, side=3), case(1021, n=8, side=7)),
    EXERCISE.check("image_transform").hidden_variant(1, case(1022, n=2, side=9, mean=0.5, std=0.25),
                                                     case(1023, n=1, side=4, mean=0.02, std=2.0)),
    EXERCISE.check("plot_augmented").hidden_variant(1, case(1024, n=3, digits=False), case(1028, n=1, digits=False),
                                                    case(1025, n=2, digits=False, device="offhost")),
    Check("augment_images.exact", "augment_images", 1, "the augmented pixels themselves: RandomAffine(degrees=15, "
          "translate=(0.1, 0.1)) drawn image by image after torch.manual_seed(seed)", probe_augment, Match(),
          digits_inputs, (case(1026, n=4, augment_seed=11, start=20),), hidden=True),
    Check("augment_images.other_images", "augment_images", 1, "the same on small pictures with black borders and "
          "other statistics", probe_augment, Match(), image_inputs,
          (case(1027, n=3, side=12, mean=0.2, std=0.4, augment_seed=5, border=3),), hidden=True),
)
### END HIDDEN TESTS
