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

import hashlib
import json
import os
import re
import stat
import threading
import time
from dataclasses import asdict, dataclass, field
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


@dataclass
class Scan:
    """What a child must not see of one tree (``hidden``: paths to white out, relative to the tree), with what that
    verdict was read from: every folder listed (``folders``: its inode, ctime and mtime, taken before it was
    listed) and every link's target (``links``: its device, inode and type; None when dangling). A folder's ctime
    moves whenever an entry is added, removed, renamed or its mode changed, and no program can set it back."""

    hidden: list[str] = field(default_factory=list)
    folders: list[list] = field(default_factory=list)  # [relative, inode, ctime_ns, mtime_ns]
    links: list[list] = field(default_factory=list)  # [relative, [device, inode, type] or None]

    def current(self, tree: str) -> bool:
        """Whether ``tree`` is still as this scan read it: every folder the same (one changed or gone says no)
        and every link resolving to the same file."""
        for relative, inode, ctime, mtime in self.folders:
            try:
                st = os.stat(os.path.join(tree, relative), follow_symlinks=False)
            except OSError:
                return False
            if (st.st_ino, st.st_ctime_ns, st.st_mtime_ns) != (inode, ctime, mtime) or not stat.S_ISDIR(st.st_mode):
                return False
        return all(_target(os.path.join(tree, relative)) == target for relative, target in self.links)

    def settled(self, since_ns: int) -> bool:
        """Whether every folder was last changed well before ``since_ns`` (the scan's start): a folder changed in
        the same clock tick as its listing could change again without its times moving, so such a scan is used
        once and never stored."""
        return all(ctime < since_ns - RACY_NS and mtime < since_ns - RACY_NS for _, _, ctime, mtime in self.folders)


RACY_NS = 2_000_000_000  # a folder changed this close to its listing may hide a later change in the same tick


def _target(path: str) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)]


def scan(tree: str, cancelled=lambda: False) -> Scan:
    """Every entry of ``tree`` a child must not see: data files, and folders holding nothing kept, whole. Nothing
    is followed: links are kept as links. Raises ``Cancelled`` as soon as ``cancelled()`` says so."""
    found = Scan()

    def visit(folder: str, relative: str) -> bool:
        """Find what ``folder`` hides; True when it keeps something (so the folder itself must stay)."""
        if cancelled():
            raise Cancelled(f"the view of {tree} was given up")
        try:
            st = os.stat(folder, follow_symlinks=False)  # before the listing: a change during it moves the ctime
            entries = list(os.scandir(folder))
        except OSError:
            return True  # unreadable here: leave it as the system made it (its times say when that changes)
        found.folders.append([relative, st.st_ino, st.st_ctime_ns, st.st_mtime_ns])
        keeps, hidden = False, []
        for entry in entries:
            try:
                mode = _kind(entry)
            except OSError:
                continue
            if stat.S_ISLNK(mode):
                found.links.append([os.path.join(relative, entry.name), _target(entry.path)])
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
            found.hidden.extend(os.path.join(relative, name) for name in hidden)
        return keeps

    visit(tree, "")
    return found


def _whiteouts(mask: str, hidden: list[str]) -> int:
    made: set[str] = set()
    for relative in hidden:
        path = os.path.join(mask, relative)
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))
    return len(hidden)


def _mask_tree(tree: str, mask: str, cancelled=lambda: False) -> int:
    """Whiteouts in ``mask`` for every entry of ``tree`` a child must not see (``scan``); returns how many."""
    return _whiteouts(mask, scan(tree, cancelled).hidden)


class Scans:
    """Scans kept between runs, one file per set of trees (``cache``, in the grader's store, out of every child's
    reach): a tree's stored scan is used only while it is ``current``, and one that does not read back whole is
    ignored. The key covers the trees and this module's rules, so a change of either scans again."""

    FORMAT = "course-pack view scan v1"
    KEEP = 3

    def __init__(self, cache: Path | None, trees: list[str]):
        self.cache, self.trees = cache, trees
        key = hashlib.sha256(json.dumps([self.FORMAT, trees]).encode() + Path(__file__).read_bytes()).hexdigest()
        self.file = cache / f"scan-{key[:24]}.json" if cache else None

    def load(self) -> dict[str, Scan]:
        """The stored scans that still hold, by tree (none where the file is missing, damaged or another's)."""
        try:
            stored = json.loads(self.file.read_text()) if self.file else {}
            if stored.get("format") != self.FORMAT or stored.get("trees") != self.trees:
                return {}
            scans = {tree: Scan(**stored["scans"][tree]) for tree in self.trees}
            for s in scans.values():
                if not all(isinstance(h, str) and h and not os.path.isabs(h) and ".." not in h.split(os.sep)
                           for h in s.hidden):
                    return {}
            return {tree: s for tree, s in scans.items() if s.current(tree)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def save(self, scans: dict[str, Scan]) -> None:
        """Store ``scans`` whole or not at all (renamed into place), pruning the oldest other files."""
        if self.file is None:
            return
        try:
            self.cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.{threading.get_ident()}")
            tmp.write_text(json.dumps({"format": self.FORMAT, "trees": self.trees,
                                       "scans": {t: asdict(s) for t, s in scans.items()}}))
            os.replace(tmp, self.file)
            others = sorted(self.cache.glob("scan-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            torn = [p for p in self.cache.glob(".scan-*") if p.stat().st_mtime < time.time() - 3600]  # a run killed
            for old in others[self.KEEP:] + torn:                                                     # while writing
                old.unlink(missing_ok=True)
        except OSError:  # a store that cannot be written: the next run scans again
            pass


def build(trees: list[str], folder: Path, cancelled=lambda: False, cache: Path | None = None) -> dict[str, str]:
    """A mask per tree under ``folder``: {tree (real path): its mask folder}. A tree's scan comes from ``cache``
    (``Scans``) while it still holds, else the tree is scanned and the cache written when every scan is settled.
    OSError when whiteouts cannot be made (``Cancelled``, one of them, as soon as ``cancelled()`` is true)."""
    reals = [os.path.realpath(t) for t in trees]
    stored = Scans(cache, reals)
    scans = stored.load()
    scanned, settled = False, True
    for real in reals:
        if real not in scans:
            since = time.time_ns()
            scans[real] = scan(real, cancelled)
            scanned, settled = True, settled and scans[real].settled(since)
    if scanned and settled:
        stored.save(scans)
    masks = {}
    for i, real in enumerate(reals):
        mask = folder / f"mask-{i}"
        mask.mkdir(parents=True)
        if cancelled():
            raise Cancelled(f"the view of {real} was given up")
        _whiteouts(str(mask), scans[real].hidden)
        masks[real] = str(mask)
    return masks


def overlay_options(mask: str, tree: str) -> str:
    """The overlay mount's options: the mask above the tree, read-only (``:`` ``,`` and ``\\`` escaped)."""
    def esc(path: str) -> str:
        return re.sub(r"([:,\\])", r"\\\1", path)

    return f"lowerdir={esc(mask)}:{esc(tree)}"
