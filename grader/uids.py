"""Uids for sandboxed children: each grading run leases a block of its own, so concurrent runs never share one.

A run (one grader process) that runs its children under uids of their own (it is root) takes one
block of ``UID_BLOCK`` uids above ``BASE_UID`` the first time it needs one and keeps it until it
ends; slot ``i`` of its children runs as the block's first uid + ``i``. The lease is an exclusive
``flock`` on the block's file in ``LEASES``, a folder every run on the machine agrees on (not under
``TMPDIR``). The kernel drops the lock however the holder ends, so a dead run's block is free again,
and a block that some process still runs under (a child that outlived its run) is passed over. So
two runs never share ``RLIMIT_NPROC`` accounting, and a child of one can never signal, trace or
read the files of a child of another as the same uid.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
from pathlib import Path

import grader

BASE_UID = 2_100_000_000  # no real account lies above it: children run as BASE_UID + block * UID_BLOCK + slot
UID_BLOCK = 1024  # uids per run: more than the jobs of any machine
UID_BLOCKS = 1024  # blocks a run may lease: uids BASE_UID .. BASE_UID + UID_BLOCKS * UID_BLOCK - 1
LEASES = Path("/run/grader-uid-leases")  # one lock file per block; /run is root's, as is every run that leases


class UidLease:
    """A block of uids this process holds until it ends (or ``close``): an exclusive ``flock`` on its file.

    ``folder`` must be a real folder owned by this user that no one else may write: another user who
    could create files there could hold every lock, or swap a lock file for a link.
    """

    def __init__(self, folder: Path = LEASES, blocks: int = UID_BLOCKS, size: int = UID_BLOCK):
        self.folder, self.blocks, self.size = Path(folder), blocks, size
        self.fd: int | None = None
        self.block = -1
        self.pid = os.getpid()

    @property
    def uids(self) -> range:
        first = BASE_UID + self.block * self.size
        return range(first, first + self.size)

    def take(self, busy: set[int] | None = None) -> "UidLease":
        """Lock a free block, tried in random order; ``busy``: uids in use (default: those of running processes)."""
        folder = self._open_folder()
        try:
            busy = _uids_running() if busy is None else busy
            taken = {(uid - BASE_UID) // self.size for uid in busy if uid >= BASE_UID}
            for block in random.sample(range(self.blocks), self.blocks):
                if block not in taken and self._lock(folder, block):
                    return self
        finally:
            os.close(folder)
        raise grader.GraderError(f"grader/uids.py UidLease.take: every one of the {self.blocks} uid blocks in "
                                 f"{self.folder} is held by a running grader or still in use by a process")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # the lock goes with the last descriptor of the file
            self.fd, self.block = None, -1

    def _lock(self, folder: int, block: int) -> bool:
        fd = os.open(f"block-{block}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for a person looking: which process holds the block
        self.fd, self.block = fd, block
        return True

    def _open_folder(self) -> int:
        """The lease folder, opened without following a link, after checking no one else may write in it."""
        where = "grader/uids.py UidLease"
        try:
            self.folder.parent.mkdir(mode=0o755, parents=True, exist_ok=True)  # a container may have no /run
            os.mkdir(self.folder, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise grader.GraderError(f"{where}: cannot create the uid lease folder {self.folder}: {exc}") from None
        try:
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise grader.GraderError(f"{where}: {self.folder} is not a folder ({exc}): remove it") from None
        facts = os.fstat(fd)
        if facts.st_uid != os.geteuid() or facts.st_mode & 0o022:
            os.close(fd)
            raise grader.GraderError(f"{where}: {self.folder} belongs to uid {facts.st_uid} or others may write in "
                                     f"it (mode {facts.st_mode & 0o7777:o}): another user could hold or forge uid "
                                     "leases; remove it")
        return fd


def _uids_running() -> set[int]:
    """The uids of every process this machine shows (a child that outlived its run still counts)."""
    uids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                uids.add(entry.stat().st_uid)
            except OSError:
                pass
    return uids


_LEASE: UidLease | None = None
_LEASE_LOCK = threading.Lock()


def run_uids() -> range:
    """This run's block of uids, leased on first use and held until the process ends: slot i runs as start + i."""
    global _LEASE
    with _LEASE_LOCK:
        if _LEASE is None or _LEASE.pid != os.getpid():  # a forked copy of a run is a run of its own
            _LEASE = UidLease().take()
        return _LEASE.uids


def child_uid(slot: int) -> int:
    uids = run_uids()
    if not 0 <= slot < len(uids):
        raise grader.GraderError(f"grader/uids.py child_uid: slot {slot} is beyond the {len(uids)} uids of a run: "
                                 f"grade with --jobs {len(uids)} or fewer")
    return uids[slot]
