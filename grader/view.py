"""What a sandboxed child sees of the machine's folders: the system and Python trees, read-only, with no data files.

Installed packages ship data sets (scikit-learn's Iris, statsmodels' sunspots, SciPy's test data...),
and the system may hold more (R's datasets, a course's cache). A child sees each tree it needs
(``/usr``, the Python prefixes, site-packages) through a read-only overlay whose upper layer is a
*mask*: a whiteout for every file whose kind holds data (tables, arrays, archives, serialised objects,
plain text), so that, inside the child, those files do not exist. What is hidden is decided by the
file's kind (``kept``), never by a list of known data sets; a test searches what remains, by content,
for the rows the checks hold out. Folders that keep nothing are whited out whole, and so are packages'
own test and sample folders (``tests``, ``test``, ``sample_data``), where data hide in code.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

DATA = re.compile(r"\.(csv|tsv|psv|dat|data|txt|text|arff|json|jsonl|ndjson|xml|yaml|yml|mat|npy|npz|pkl|pickle|"
                  r"joblib|sav|dta|por|sas7bdat|xpt|xls|xlsx|ods|parquet|feather|arrow|h5|hdf|hdf5|nc|db|sqlite|"
                  r"sqlite3|rdb|rds|rda|rdata|rdx|r|s|idx|gz|bz2|xz|lzma|zip|tar|tgz|7z|zst|lz4)$|-ubyte$",
                  re.IGNORECASE)
METADATA = (".dist-info", ".egg-info")
DATA_FOLDERS = {"tests", "test", "sample_data"}  # a package's own tests and samples: data, never imported to run it


def kept(folder: str, name: str, mode: int) -> bool:
    """Whether a child may see this entry of ``folder``: everything but a file whose kind holds data (tables, arrays,
    archives, serialised objects, text); package metadata is kept whatever its name."""
    if stat.S_ISDIR(mode):
        return name not in DATA_FOLDERS  # otherwise a folder is judged by what it holds
    if stat.S_ISLNK(mode):  # judged as what it points to: a folder, or a file by its own name and kind too
        path = os.path.join(folder, name)
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return False
        if stat.S_ISDIR(mode):
            return True
        if DATA.search(os.path.basename(os.path.realpath(path))):
            return False
    if not stat.S_ISREG(mode):
        return False
    return folder.endswith(METADATA) or not DATA.search(name)


def _whiteout(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


class Cancelled(OSError):
    """The view was given up while it was being built (the run ended first)."""


def _kind(entry: os.DirEntry) -> int:
    """The entry's file type as a mode (``S_IFDIR``, ``S_IFLNK``, ``S_IFREG``...), from the type the folder listing
    gives where it can (no ``stat`` per file: a tree holds hundreds of thousands)."""
    if entry.is_symlink():
        return stat.S_IFLNK
    if entry.is_dir(follow_symlinks=False):
        return stat.S_IFDIR
    if entry.is_file(follow_symlinks=False):
        return stat.S_IFREG
    return entry.stat(follow_symlinks=False).st_mode


def _mask_tree(tree: str, mask: str, cancelled=lambda: False) -> int:
    """Whiteouts in ``mask`` for every entry of ``tree`` a child must not see; returns how many were made.

    A folder holding nothing kept is whited out whole. Nothing is followed: links are kept as links. Raises
    ``Cancelled`` as soon as ``cancelled()`` says so.
    """
    made = 0

    def visit(folder: str, relative: str) -> bool:
        """Mask what ``folder`` holds; True when it keeps something (so the folder itself must stay)."""
        nonlocal made
        if cancelled():
            raise Cancelled(f"the view of {tree} was given up")
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return True  # unreadable here: leave it as the system made it
        keeps, hidden = False, []
        for entry in entries:
            try:
                mode = _kind(entry)
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                if kept(folder, entry.name, mode) and visit(entry.path, os.path.join(relative, entry.name)):
                    keeps = True
                else:
                    hidden.append(entry.name)
            elif kept(folder, entry.name, mode):
                keeps = True
            else:
                hidden.append(entry.name)
        if keeps or not relative:
            for name in hidden:
                _whiteout(os.path.join(mask, relative, name))
                made += 1
        return keeps

    visit(tree, "")
    return made


def build(trees: list[str], folder: Path, cancelled=lambda: False) -> dict[str, str]:
    """A mask per tree under ``folder``: {tree (real path): its mask folder}. OSError when whiteouts cannot be made
    (``Cancelled``, one of them, as soon as ``cancelled()`` is true)."""
    masks = {}
    for i, tree in enumerate(trees):
        real = os.path.realpath(tree)
        mask = folder / f"mask-{i}"
        mask.mkdir(parents=True)
        _mask_tree(real, str(mask), cancelled)
        masks[real] = str(mask)
    return masks


def overlay_options(mask: str, tree: str) -> str:
    """The overlay mount's options: the mask above the tree, read-only (``:`` ``,`` and ``\\`` escaped)."""
    def esc(path: str) -> str:
        return re.sub(r"([:,\\])", r"\\\1", path)

    return f"lowerdir={esc(mask)}:{esc(tree)}"
