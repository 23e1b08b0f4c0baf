"""The data-free view: a child sees the system and Python trees without a single data file, checked by kind and by content."""

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from grader import data, sandbox, view
from grader.sandbox import Limits, Sandbox

needs_namespaces = pytest.mark.skipif(not sandbox.detect().namespaces,
                                      reason="this machine gives the grader no namespaces")


@pytest.mark.parametrize("name, keep", [
    ("module.py", True), ("module.cpython-311.pyc", True), ("_C.so", True), ("libtorch.so.2.14", True),
    ("DejaVuSans.ttf", True), ("matplotlibrc", True), ("ptxas", True), ("estimator.css", True), ("pyvenv.cfg", True),
    ("iris.csv", False), ("iris.csv.gz", False), ("sunspots.dat", False), ("R_sunspots.s", False),
    ("weights.npz", False), ("table.json", False), ("notes.txt", False), ("Rdata.rdb", False),
    ("flowers.arff", False), ("t10k-images-idx3-ubyte", False), ("ratings.parquet", False), ("cache.pkl", False),
])
def test_a_file_is_kept_unless_its_kind_holds_data(name, keep):
    assert view.kept("/x/site-packages/pkg", name, stat.S_IFREG | 0o644) is keep


def test_package_metadata_is_kept_whatever_its_name():
    assert view.kept("/x/site-packages/torch-2.14.1.dist-info", "METADATA", stat.S_IFREG | 0o644)


def test_the_mask_whites_out_data_files_and_folders_that_keep_nothing(tmp_path):
    tree, mask = tmp_path / "tree", tmp_path / "mask"
    files = {"pkg/__init__.py": "", "pkg/data/iris.csv": "5.1,3.5,1.4,0.2", "pkg/data/more/x.dat": "1",
             "pkg/mixed/code.py": "", "pkg/mixed/table.csv": "1,2", "top.txt": "t"}
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    (tree / "pkg" / "link_to_code.py").symlink_to(tree / "pkg" / "__init__.py")
    (tree / "pkg" / "link_to_data").symlink_to(tree / "pkg" / "mixed" / "table.csv")
    made = view._mask_tree(str(tree), str(mask))
    whiteouts = sorted(str(p.relative_to(mask)) for p in mask.rglob("*") if p.is_char_device())
    assert whiteouts == ["pkg/data", "pkg/link_to_data", "pkg/mixed/table.csv", "top.txt"] and made == 4
    assert view.kept(str(tree / "pkg"), "link_to_code.py", (tree / "pkg" / "link_to_code.py").lstat().st_mode)
    assert all(os.major(p.stat().st_rdev) == 0 and os.minor(p.stat().st_rdev) == 0
               for p in mask.rglob("*") if p.is_char_device())


def test_overlay_options_escape_what_the_mount_would_split():
    assert view.overlay_options("/m:a", "/t,b") == "lowerdir=/m\\:a:/t\\,b"


# --- what a child sees ----------------------------------------------------------------------------

SEES = r'''
import json, os, sys
paths = json.loads(sys.argv[1])
facts = {p: os.path.exists(p) for p in paths}
import torch, numpy, matplotlib, statsmodels.api, sklearn, safetensors, torchvision
import matplotlib.pyplot as plt
fig, ax = plt.subplots(); ax.plot([0, 1], [1, 0], label="a"); ax.set_xlabel("x"); ax.legend()
fig.savefig("/tmp/figure.png")
facts["figure"] = os.path.getsize("/tmp/figure.png") > 1000
print(json.dumps(facts))
os.write(3, b"importing 0\n")
'''


def _site_file(*parts: str) -> str | None:
    for root in sys.path:
        path = Path(root, *parts)
        if path.is_file():
            return str(path)
    return None


@pytest.fixture(scope="module")
def data_free_view():
    sandbox.start_view()
    assert sandbox.view_ready(), "this kernel gives no data-free view"
    yield
    sandbox.stop_view()


@needs_namespaces
def test_a_child_sees_no_data_file_but_runs_the_course_libraries(tmp_path, data_free_view):
    bundled = [p for p in (_site_file("sklearn", "datasets", "data", "iris.csv"),
                           _site_file("statsmodels", "datasets", "sunspots", "sunspots.csv"),
                           _site_file("scipy", "spatial", "tests", "data", "iris.txt"),
                           _site_file("mlxtend", "data", "data", "iris.csv.gz")) if p]
    assert bundled, "no bundled copy of a data set is installed here: nothing to hide"
    code = [_site_file("torch", "__init__.py"), _site_file("statsmodels", "datasets", "sunspots", "data.py")]
    script = tmp_path / "sees.py"
    script.write_text(SEES)
    with Sandbox([script], "sees") as box:
        run = box.run([sys.executable, "-I", f"{box.work}/sees.py", json.dumps(bundled + code)],
                      Limits(wall_seconds=120))
    assert run.returncode == 0, run.output[-3000:]
    facts = json.loads(run.output.strip().splitlines()[-1])
    assert [p for p in bundled if facts[p]] == []
    assert all(facts[p] for p in code) and facts["figure"]


SCAN = r'''
import json, os, re, sys
rows, runs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
number = re.compile(rb"-?\d+(?:\.\d+)?")
candidate = re.compile(rb"\d\.\d\D{1,6}\d+\.\d\D{1,6}\d+\.\d\D{1,6}\d+\.\d")  # four decimals in a row
roots = json.loads(sys.argv[3]) if len(sys.argv) > 3 else \
    sorted({r for r in [*sys.path, sys.prefix, sys.base_prefix] if os.path.isdir(r)})
found, scanned = [], 0
for root in roots:
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            try:
                if not os.path.isfile(path) or os.path.getsize(path) > 2 << 20 or name.endswith(".pyc"):
                    continue
                with open(path, "rb") as f:
                    head = f.read()
            except OSError:
                continue
            if head[:4] == b"\x7fELF" or not candidate.search(head):
                continue
            scanned += 1
            values = [round(float(v), 1) for v in number.findall(head)]
            text = " ".join(f"{v:.1f}" for v in values)
            hits = sum(1 for r in rows if " ".join(f"{v:.1f}" for v in r) in text)
            streak = sum(1 for r in runs if " ".join(f"{v:.1f}" for v in r) in text)
            if hits >= 5 or streak >= 3:
                found.append([path, hits, streak])
print(json.dumps({"found": found, "scanned": scanned}))
os.write(3, b"importing 0\n")
'''


@needs_namespaces
def test_no_file_a_child_can_read_holds_the_held_out_rows(tmp_path, data_free_view):
    """By content, not by path: every file in the child's Python trees (prefixes and site-packages), searched for held-out
    Iris flowers (five or more) and runs of four held-out sunspot years (three or more)."""
    iris = data.iris_split()
    rows = [[round(float(v), 1) for v in row] for row in iris.X_test]
    test = data.sunspots_split().test
    runs = [[round(float(v), 1) for v in test[i:i + 4]] for i in range(0, len(test) - 4, 4)]
    script = tmp_path / "scan.py"
    script.write_text(SCAN)
    with Sandbox([script], "scan") as box:
        run = box.run([sys.executable, "-I", f"{box.work}/scan.py", json.dumps(rows), json.dumps(runs)],
                      Limits(wall_seconds=600, cpu_seconds=1200))
    assert run.returncode == 0, run.output[-3000:]
    result = json.loads(run.output.strip().splitlines()[-1])
    assert result["scanned"] > 100 and result["found"] == []


def test_the_scan_finds_a_copy_where_there_is_one(tmp_path):
    """The content scan above can fail: run outside a child over a folder holding Iris, it finds it."""
    iris = data.iris_split()
    (tmp_path / "flowers.csv").write_text("\n".join(",".join(f"{float(v):.1f}" for v in row) for row in iris.X_test))
    rows = [[round(float(v), 1) for v in row] for row in iris.X_test]
    script = tmp_path / "scan.py"
    script.write_text(SCAN.replace("os.write(3, b\"importing 0\\n\")", ""))
    import subprocess

    out = subprocess.run([sys.executable, "-I", str(script), json.dumps(rows), "[]", json.dumps([str(tmp_path)])],
                         capture_output=True, text=True, check=True).stdout
    assert [Path(path).name for path, _, _ in json.loads(out)["found"]] == ["flowers.csv"]


# --- scans kept between runs ----------------------------------------------------------------------

def _whited(masks: dict[str, str], tree: Path) -> list[str]:
    mask = Path(masks[os.path.realpath(tree)])
    return sorted(str(p.relative_to(mask)) for p in mask.rglob("*") if p.is_char_device())


@pytest.fixture
def settled_now(monkeypatch):
    """Scans count as settled however recently their folders changed (a test's tree is seconds old)."""
    monkeypatch.setattr(view, "RACY_NS", 0)


@pytest.fixture
def scans_made(monkeypatch):
    made = []
    real = view.scan

    def counting(tree, cancelled=lambda: False):
        made.append(tree)
        return real(tree, cancelled)

    monkeypatch.setattr(view, "scan", counting)
    return made


def _tree(root: Path) -> Path:
    tree = root / "tree"
    for rel in ("pkg/__init__.py", "pkg/data/iris.csv", "pkg/sub/code.py"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("1")
    return tree


def test_a_kept_scan_is_used_while_its_tree_is_unchanged_and_never_after(tmp_path, settled_now, scans_made):
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    first = view.build([str(tree)], tmp_path / "v1", cache=cache)
    assert _whited(first, tree) == ["pkg/data"] and len(list(cache.glob("scan-*.json"))) == 1
    (tree / "pkg" / "sub" / "code.py").write_text("changed")  # a file's content: the listing still holds
    again = view.build([str(tree)], tmp_path / "v2", cache=cache)
    assert _whited(again, tree) == ["pkg/data"] and len(scans_made) == 1  # read from the cache, not scanned
    (tree / "pkg" / "sub" / "table.csv").write_text("1,2")  # a data file arrives deep down
    later = view.build([str(tree)], tmp_path / "v3", cache=cache)
    assert _whited(later, tree) == ["pkg/data", "pkg/sub/table.csv"] and len(scans_made) == 2
    (tree / "pkg" / "sub" / "table.csv").rename(tree / "pkg" / "sub" / "table.py")  # renamed in place
    assert _whited(view.build([str(tree)], tmp_path / "v4", cache=cache), tree) == ["pkg/data"]
    os.chmod(tree / "pkg" / "sub", 0o700)  # a mode changed, nothing listed changed: scanned again all the same
    view.build([str(tree)], tmp_path / "v5", cache=cache)
    assert len(scans_made) == 4


def test_a_link_whose_target_changes_outside_the_tree_is_judged_again(tmp_path, settled_now):
    tree, cache, outside = _tree(tmp_path), tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    (outside / "code.py").write_text("1")
    (outside / "rows.csv").write_text("5.1,3.5")
    (outside / "current").symlink_to(outside / "code.py")
    (tree / "pkg" / "latest").symlink_to(outside / "current")  # judged by what it resolves to
    assert _whited(view.build([str(tree)], tmp_path / "v1", cache=cache), tree) == ["pkg/data"]
    (outside / "current").unlink()
    (outside / "current").symlink_to(outside / "rows.csv")  # nothing in the tree changed, its link now reads data
    assert _whited(view.build([str(tree)], tmp_path / "v2", cache=cache), tree) == ["pkg/data", "pkg/latest"]


def test_a_scan_of_folders_changed_moments_ago_is_used_once_and_not_kept(tmp_path, scans_made):
    tree, cache = _tree(tmp_path), tmp_path / "cache"  # the tree was made in the same clock tick, or near it
    assert _whited(view.build([str(tree)], tmp_path / "v1", cache=cache), tree) == ["pkg/data"]
    assert not list(cache.glob("scan-*.json"))
    view.build([str(tree)], tmp_path / "v2", cache=cache)
    assert len(scans_made) == 2


@pytest.mark.parametrize("damage", ["truncated", "escaping", "another_format"])
def test_a_damaged_or_foreign_scan_file_is_ignored_and_replaced(tmp_path, settled_now, scans_made, damage):
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    view.build([str(tree)], tmp_path / "v1", cache=cache)
    [kept_file] = cache.glob("scan-*.json")
    stored = json.loads(kept_file.read_text())
    if damage == "truncated":
        kept_file.write_text(kept_file.read_text()[:100])
    elif damage == "escaping":  # a whiteout outside the mask must never be made from a file
        stored["scans"][os.path.realpath(tree)]["hidden"].append("../../outside")
        kept_file.write_text(json.dumps(stored))
    else:
        stored["format"] = "something else"
        kept_file.write_text(json.dumps(stored))
    masks = view.build([str(tree)], tmp_path / "v2", cache=cache)
    assert _whited(masks, tree) == ["pkg/data"] and len(scans_made) == 2
    assert not (tmp_path / "outside").exists()
    assert json.loads(kept_file.read_text())["format"] == view.Scans.FORMAT
