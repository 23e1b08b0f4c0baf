"""The data module: offline sources, seeded splits that never overlap, and clear errors when a source is missing."""

import csv
import io
import json
import sys
import tempfile
import zipfile

import pytest
import torch

from grader import data
from grader.sandbox import Limits, Sandbox


def test_mnist_subset_is_split_4000_1000_the_same_way_every_time():
    first, second = data.mnist_split(), data.mnist_split()
    assert first.X_train.shape == (4000, 1, 28, 28) and first.X_test.shape == (1000, 1, 28, 28)
    assert first.X_train.dtype == torch.float32 and 0 <= first.X_train.min() and first.X_train.max() <= 1
    assert torch.equal(first.y_test, second.y_test) and torch.equal(first.X_train, second.X_train)
    assert sorted(first.y_test.unique().tolist()) == list(range(10))
    images, labels = data.mnist()
    assert images.shape == (5000, 1, 28, 28) and torch.bincount(labels).tolist() == [500] * 10


def test_iris_and_sunspots_splits():
    split = data.iris_split()
    assert split.X_train.shape == (100, 4) and split.X_test.shape == (50, 4)
    assert set(split.y_train.tolist()) == {0, 1, 2}
    series = data.sunspots_split()
    years, activity = data.sunspots()
    assert len(years) == 309 and years[0] == 1700 and years[-1] == 2008
    assert len(series.test) == 62 and series.years_test[0] == 1947
    assert torch.equal(torch.cat([series.train, series.test]), activity)


def test_movielens_split_is_seeded_and_disjoint():
    split = data.movielens_split()
    assert len(split.ratings_train) == 80_000 and len(split.ratings_test) == 20_000
    users, items, ratings = data.movielens()
    assert users.max() == data.N_USERS - 1 and items.max() == data.N_ITEMS - 1 and users.min() == items.min() == 0
    assert set(ratings.unique().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    train = set(zip(split.users_train.tolist(), split.items_train.tolist()))
    test = set(zip(split.users_test.tolist(), split.items_test.tolist()))
    assert len(train) == 80_000 and len(test) == 20_000 and not train & test
    assert torch.equal(data.movielens_split().ratings_test, split.ratings_test)


def grouplens_zip(path):
    """A zip laid out like GroupLens' ml-100k.zip, holding the same ratings as u.data (shuffled rows)."""
    users, items, ratings = data.movielens()
    order = torch.randperm(len(ratings), generator=torch.Generator().manual_seed(1))
    rows = "".join(f"{users[k] + 1}\t{items[k] + 1}\t{int(ratings[k])}\t881250949\n" for k in order.tolist())
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-100k/u.data", rows)
    return path


def test_a_grouplens_zip_given_by_path_gives_the_same_rows(tmp_path, monkeypatch):
    path = grouplens_zip(tmp_path / "ml-100k.zip")
    from_zip = data.movielens(path=path)
    for a, b in zip(from_zip, data.movielens()):
        assert torch.equal(a, b)
    monkeypatch.setenv(data.MOVIELENS_ENV, str(path))
    data._movielens.cache_clear()
    assert torch.equal(data.movielens()[2], from_zip[2])


def test_no_source_says_what_was_tried_and_how_to_provide_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(data.MOVIELENS_ENV, raising=False)
    monkeypatch.setattr(data, "_recbole_file", lambda: None)
    data._movielens.cache_clear()
    with pytest.raises(data.DataUnavailable) as error:
        data.movielens(download=False)
    message = str(error.value)
    assert str(tmp_path / "cache" / "ml-100k.zip") in message and "RecBole" in message
    assert "pip install --no-deps recbole==1.2.1" in message and data.MOVIELENS_ENV in message
    with pytest.raises(data.DataUnavailable, match="is not a file"):
        data.movielens(path=tmp_path / "missing.zip")
    data._movielens.cache_clear()


def test_a_download_that_fails_its_checksum_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Response(b"not the real zip"))
    with pytest.raises(data.DataUnavailable, match="did not match its MD5"):
        data.download_movielens()
    assert not (tmp_path / "cache" / "ml-100k.zip").exists()


def test_a_file_that_is_not_movielens_is_refused(tmp_path):
    bad = tmp_path / "u.data"
    bad.write_text("1\t2\t3\t4\n")
    with pytest.raises(data.DataUnavailable, match="holds 1 rows"):
        data.movielens(path=bad)


def test_simulated_heteroscedastic_data_is_seeded_and_noisier_at_large_x():
    x, y = data.heteroscedastic(4000, seed=3)
    assert x.shape == y.shape == (4000, 1) and torch.equal(data.heteroscedastic(4000, seed=3)[1], y)
    residual = (y - data.true_mean(x))[:, 0]
    low, high = residual[x[:, 0] < 0.3].std(), residual[x[:, 0] > 0.7].std()
    assert high > 2 * low


def looked_up(X):
    """The value paired with each sequence's query key (the last position's key), by the rule."""
    match = X[:, :-1, 0] == X[:, -1:, 0]
    assert (match.sum(dim=1) == 1).all()  # the query's key occurs once among the pairs
    return X[:, :-1, 1][match]


def test_token_selection_is_seeded_and_each_target_is_the_value_of_the_query_key():
    split = data.token_selection_split()
    assert split.X_train.shape == (2000, 9, 2) and split.X_test.shape == (1000, 9, 2)
    assert split.X_train.dtype == split.y_train.dtype == torch.int64
    for X, y in ((split.X_train, split.y_train), (split.X_test, split.y_test)):
        assert torch.equal(looked_up(X), y)
        keys = X[:, :-1, 0]
        assert (keys.sort(dim=1).values.diff(dim=1) > 0).all() and keys.max() < data.N_KEYS  # distinct keys
        assert (X[:, :-1, 1] < data.N_VALUES).all() and (X[:, -1, 1] == data.QUERY).all()
    assert torch.bincount(split.y_train, minlength=data.N_VALUES).min() > 150  # every value is asked for
    assert torch.equal(data.token_selection_split().X_test, split.X_test)
    seen = {tuple(x.reshape(-1).tolist()) for x in split.X_train}
    assert not any(tuple(x.reshape(-1).tolist()) in seen for x in split.X_test)
    assert not torch.equal(data.token_selection(10, seed=1)[0], data.token_selection(10, seed=2)[0])


USES_HELD_OUT = r"""
import json, sys, torch
from grader import data
facts = {}
for name in json.loads(sys.argv[1]):
    field = data.HELD_OUT[name]
    split = getattr(data, f"{name}_split")()
    held, tried = getattr(split, field), {}
    for how, use in (("to", lambda: held.to("cpu")), ("compare", lambda: torch.zeros(3) == held),
                     ("len", lambda: len(held)), ("float", lambda: held.float().mean())):
        try:
            use()
            tried[how] = "no error"
        except Exception as exc:
            tried[how] = f"{type(exc).__name__}: {exc}"
    facts[name] = {"tried": tried, "repr": repr(split)[-120:], "inputs": len(split.X_test if name != "movielens"
                                                                              else split.users_test)}
print(json.dumps(facts))
"""


def test_held_out_answers_raise_the_same_clear_error_for_every_data_set_in_a_sandboxed_child(tmp_path):
    pack = tmp_path / "pack.safetensors"
    names = [n for n in data.HELD_OUT if n not in data.write_pack(pack)]  # MovieLens may not be installed here
    pack.chmod(0o644)  # as grading leaves it: readable by the child's uid
    assert "iris" in names and "mnist" in names and "token_selection" in names
    script = tmp_path / "uses.py"
    script.write_text(USES_HELD_OUT)
    with Sandbox([script], "held-out", data_pack=pack) as box:
        run = box.run([sys.executable, "-I", f"{box.work}/uses.py", json.dumps(names)], Limits(wall_seconds=120))
    assert run.returncode == 0, run.output[-3000:]
    facts = json.loads(run.output.strip().splitlines()[-1])
    words = {"iris": "labels", "mnist": "labels", "movielens": "ratings", "token_selection": "targets"}
    assert sorted(facts) == sorted(names)
    for name in names:
        field = data.HELD_OUT[name]
        assert facts[name]["inputs"] > 0 and f"{field}=<{name}_split().{field}: withheld while grading>" in facts[name]["repr"]
        for how, said in facts[name]["tried"].items():
            assert said.startswith(f"DataUnavailable: {name}_split().{field}: while grading, the held-out "
                                   f"{words[name]} stay with the grader"), (name, how, said)
            assert said.endswith("train and validate on the training split"), (name, how, said)


def test_ex10_reads_the_rand_hie_csv_inside_statsmodels_with_its_empty_cells():
    path = data.rand_hie_csv()
    assert path.name == "randhie.csv" and path.parent.parent.name == "randhie"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    assert len(header) == 45 and len(rows) == 20_190 and all(len(row) == 45 for row in rows)
    column = {name: [row[j] for row in rows] for j, name in enumerate(header)}
    assert [sum(cell == "" for cell in column[name]) for name in ("ghindx", "educdec", "xage", "mdvis")] == \
        [5223, 4, 0, 0]
    assert sorted(set(column["site"])) == ["1", "2", "3", "4", "5", "6"]
    assert sorted(set(column["coins"]), key=float) == ["0", "25", "50", "95", "100"]


def test_ex10_a_sandboxed_child_gets_the_same_bytes_from_the_data_pack(tmp_path, monkeypatch):
    pack = tmp_path / "pack.safetensors"
    data.write_pack(pack)
    monkeypatch.setenv(data.PACK_ENV, str(pack))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "child-tmp"))
    (tmp_path / "child-tmp").mkdir()
    for cached in (data.pack, data._rand_hie_unpacked):
        cached.cache_clear()
    try:
        tempfile.tempdir = None  # read TMPDIR again, as a fresh child would
        unpacked = data.rand_hie_csv()
        assert unpacked.is_relative_to(tmp_path / "child-tmp")
        assert unpacked.read_bytes() == data._rand_hie_file().read_bytes()
    finally:
        tempfile.tempdir = None
        for cached in (data.pack, data._rand_hie_unpacked):
            cached.cache_clear()
