"""Running student code: a child in its own namespaces, under a uid of its own, within limits; plain data back.

This module is the grader's side of a child: what the machine offers (``detect``), the limits and
cgroups, the scratch folder (``Sandbox``), starting a child and waiting on it (``Started``), and
stopping every child on Ctrl-C. The rooms it uses, each in a module of its own: the jail
(``grader/jail.py``), trusted code that walls the child in before any student code exists in its
process (namespaces, a root of its own without ``reference/``, the submissions, the grader's
outputs or the raw data sets, rlimits, a uid of its own from a block its run leases, ``grader/uids.py``,
``no_new_privs``); the zygote (``grader/zygote.py``), a process that imports torch and the grader
once (never student code) and forks each warm child, which then goes through the same jail; and
the channel (``grader/channel.py``), which reads the child's results as framed plain data with size
caps and a strict order, and keeps its output to its first and last bytes.

When process 1 of a child's pid namespace ends, or the jail's parent dies or kills it, the kernel
kills every process in the namespace, ``setsid`` or not. A child may be started ahead and held at a
gate (``Sandbox.start(gated=True)``): its fork, jail and imports happen while another child runs,
and its time limit counts from ``Started.go``. Where a layer is missing (no namespaces, no cgroups)
grading goes on with the rest and ``Isolation.missing`` says what was lost.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import grader

from . import view
from .channel import Channel, OutputTail
from .jail import PACK_INSIDE, WORK
from .uids import child_uid, run_uids
from .zygote import Zygote, python

GiB = 1024 ** 3
MiB = 1024 ** 2
_LIVE: set[int] = set()  # pids of jails still running
_LIVE_LOCK = threading.Lock()
_STOPPED = threading.Event()  # set by stop_all: a child that starts after it is killed at once


@dataclass
class Limits:
    """What one child may use. ``cpu_seconds`` defaults to the wall limit times the threads, plus slack."""

    wall_seconds: float
    threads: int = 1
    memory_bytes: int = 4 * GiB
    processes: int = 64  # tasks (processes and threads) of the child's uid / cgroup
    file_bytes: int = 256 * MiB
    open_files: int = 512
    scratch_bytes: int = 512 * MiB  # each of /work, /tmp, /dev/shm (tmpfs, counted as memory)
    output_bytes: int = 20_000
    payload_bytes: int = 64 * MiB  # one check's results
    cpu_seconds: float | None = None

    @property
    def cpu(self) -> int:
        return int(self.cpu_seconds or self.wall_seconds * max(1, self.threads) * 1.5 + 10)

    def record(self) -> dict:
        return {**asdict(self), "cpu_seconds": self.cpu}


@dataclass
class ChildRun:
    """How a child ended: exit code or signal, timeout, memory exhaustion, tampering, what it printed."""

    returncode: int | None
    timed_out: bool
    seconds: float
    output: str
    frames: dict[str, bytes] = field(default_factory=dict)
    tampered: str = ""  # why the results channel was rejected, when it was
    out_of_memory: bool = False
    cpu_exceeded: bool = False
    arrived: dict[str, float] = field(default_factory=dict)  # when each frame was read (time.monotonic)

    def checks_seconds(self) -> float:
        """From the first check's start to the last check's results, as the frames arrived: the checks' own time in
        the child (inputs made, code run, results sent), which start-up, import and judging are not."""
        starts = [t for name, t in self.arrived.items() if name.startswith("start-")]
        ends = [t for name, t in self.arrived.items() if name.startswith("check-")]
        return max(ends) - min(starts) if starts and ends else 0.0


# --- what this machine provides ----------------------------------------------------------------


@dataclass(frozen=True)
class Isolation:
    namespaces: bool = False  # mount, net, pid, ipc, uts
    user_namespace: bool = False  # entered as an unprivileged user
    own_uid: bool = False  # root: each child runs as a uid of its own
    cgroups: tuple[str, ...] = ()  # parent folders for per-child cgroups, e.g. the memory and pids hierarchies

    def limits(self, controller: str) -> bool:
        """Whether the per-child cgroups limit ``controller`` (``memory`` or ``pids``)."""
        return any(controller in _controllers(c) for c in self.cgroups)

    def missing(self, device: str = "cpu") -> list[str]:
        lost = []
        if not self.namespaces:
            lost.append("namespaces (no unshare permission): the child can see the file system and the network, "
                        "and a process it detaches can outlive the time limit")
        if not self.own_uid:
            lost.append("a uid per child (the grader is not root): no process-count limit")
        if not self.limits("memory"):
            lost.append("a memory cgroup: on CUDA memory is not limited (CUDA maps far more address space than "
                        "it uses, so the data segment cannot be capped)" if device == "cuda" else
                        "a memory cgroup: memory is limited by the data segment's size only")
        if not self.limits("pids"):
            lost.append("a pids cgroup: processes are limited per uid only")
        return lost

    def describe(self) -> str:
        parts = []
        if self.namespaces:
            parts.append("namespaces (mount, net, pid" + (", user" if self.user_namespace else "") + ")")
        if self.own_uid:
            parts.append("a uid per child")
        parts += [f"{' and '.join(sorted(_controllers(c)))} cgroup" + (" (v2)" if _is_v2(c) else "")
                  for c in self.cgroups]
        return ", ".join(parts) or "process groups and rlimits only"


def _is_v2(folder: str) -> bool:
    return Path(folder, "cgroup.controllers").exists()


def _controllers(folder: str) -> set[str]:
    """The limits a per-child cgroup under ``folder`` sets: a v1 hierarchy's own, or both in v2."""
    return {"memory", "pids"} if _is_v2(folder) else {n for n in ("memory", "pids") if n in Path(folder).parts}


def _own_cgroup_parents() -> tuple[str, ...]:
    """Folders where this process may create child cgroups (v1 memory/pids, or a v2 group with both)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return ()
    found = []
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and not controllers:  # the unified (v2) hierarchy
            folder = Path("/sys/fs/cgroup") / path.lstrip("/")
            if _delegate_v2(folder) and _can_create_in(folder, "memory.max", "pids.max"):
                found.append(str(folder))
            continue
        for name in ("memory", "pids"):
            if name in controllers.split(","):
                folder = Path("/sys/fs/cgroup") / name / path.lstrip("/")
                if _can_create_in(folder, f"{name}.max" if name == "pids" else "memory.limit_in_bytes"):
                    found.append(str(folder))
    return tuple(found)


def _delegate_v2(folder: Path) -> bool:
    """Enable the memory and pids controllers for the children of a v2 group (refused where it holds processes)."""
    try:
        if not {"memory", "pids"} <= set((folder / "cgroup.controllers").read_text().split()):
            return False
        if not {"memory", "pids"} <= set((folder / "cgroup.subtree_control").read_text().split()):
            (folder / "cgroup.subtree_control").write_text("+memory +pids")
        return True
    except OSError:
        return False


def _can_create_in(folder: Path, *controls: str) -> bool:
    probe = folder / f"grader-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return all((probe / c).exists() and os.access(probe / c, os.W_OK) for c in controls)
    finally:
        try:
            probe.rmdir()
        except OSError:
            pass


@lru_cache(maxsize=1)
def detect() -> Isolation:
    """Try each layer once: a jail that only runs ``true``-like Python tells whether namespaces work here."""
    if os.environ.get("GRADER_ISOLATION") == "process" or not sys.platform.startswith("linux"):
        return Isolation()
    root = os.geteuid() == 0
    cgroups = _own_cgroup_parents() if root else ()
    for candidate in (Isolation(True, not root, root, cgroups), Isolation(True, True, False, ()),
                      Isolation(False, False, root, cgroups)):
        if candidate.user_namespace and root:
            continue
        with Sandbox([], "probe", isolation=candidate) as box:
            run = box.run([sys.executable, "-I", "-c", "import os; os.write(3, b'importing 0\\n')"],
                          Limits(wall_seconds=20), slot=0)
        if run.returncode == 0 and "importing" in run.frames:
            return candidate
    return Isolation(cgroups=())


# --- the parent side ----------------------------------------------------------------------------

TEMP_PREFIX = "grader-"  # every temporary folder of a run: grader-<pid of the grader>-...


def run_line(isolation: Isolation) -> str:
    """Which processes and folders are this run's, for its log: its pid (in its folders' names), its children's uids."""
    if isolation.own_uid:
        uids = run_uids()
        children = f"children run as uids {uids.start}-{uids[-1]}"
    else:
        children = "children run as the grader's uid" + (" in a user namespace" if isolation.user_namespace else "")
    return f"run {os.getpid()}: {children}; scratch folders {Path(tempfile.gettempdir()) / TEMP_PREFIX}{os.getpid()}-*"


def remove_tree(path: Path, patience: float = 5.0) -> None:
    """Remove a scratch folder, trying again for up to ``patience`` seconds: a child killed by an interruption may
    still be tearing down its mounts (busy) or writing its last files when the grader first tries."""
    deadline = time.monotonic() + patience
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path) or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def sweep_stale() -> int:
    """Remove the temporary folders of grader runs that were killed (their process is gone); returns how many."""
    swept = 0
    for path in [*Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"), *Path("/dev/shm").glob(f"{TEMP_PREFIX}*-*")]:
        match = re.match(rf"{TEMP_PREFIX}(\d+)-", path.name)
        if not match or not path.is_dir() or path.stat().st_uid != os.geteuid():
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # that grader is still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        swept += 1
    return swept



def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the jail leads its own session; without namespaces its group is all there is
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    """Kill every child still running, and any started from now on until ``allow_children`` (on Ctrl-C: the grading
    and preflight threads then see them end, and no thread starts another)."""
    with _LIVE_LOCK:
        _STOPPED.set()
        pids = list(_LIVE)
    for pid in pids:
        _kill(pid)


def allow_children() -> None:
    """Children may start again (a new run in this process, after an interrupted one)."""
    _STOPPED.clear()


def _register(pid: int) -> None:
    with _LIVE_LOCK:
        _LIVE.add(pid)
        stopped = _STOPPED.is_set()
    if stopped:
        _kill(pid)


def _ran_out_of_memory(folders: list[Path]) -> bool:
    """Whether a memory cgroup among ``folders`` hit its limit (an OOM kill, or allocations refused)."""
    for folder in folders:
        try:
            if (folder / "memory.oom_control").exists():
                text = (folder / "memory.oom_control").read_text()
                kills = re.search(r"oom_kill (\d+)", text)
                if kills and int(kills.group(1)) > 0:
                    return True
            elif (folder / "memory.events").exists():
                kills = re.search(r"oom_kill (\d+)", (folder / "memory.events").read_text())
                if kills and int(kills.group(1)) > 0:
                    return True
        except (OSError, ValueError):
            pass
    return False


@lru_cache(maxsize=1)
def _always_hidden() -> tuple[str, ...]:
    """Inside what the child sees, what it must not: the example class, and raw data sets holding held-out
    answers (the child gets its data from a pack the grader wrote)."""
    from . import sources

    examples = Path(grader.__file__).resolve().parent / "examples"
    return (str(examples), *(str(p) for p in sources.raw_sources()))


class Sandbox:
    """A scratch folder for one child run (deleted afterwards); ``run`` starts the jail there and waits."""

    def __init__(self, files: list[Path] | dict[str, bytes], label: str = "", hide: list[Path] = (),
                 isolation: Isolation | None = None, data_pack: Path | None = None, device: str = "cpu"):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:60]
        self.root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-{safe}-"))
        self.submission = self.root / "submission"
        self.mount_point = self.root / "root"
        self.results = self.root / "results"  # written by the grader only, from the channel
        for folder in (self.submission, self.mount_point, self.results):
            folder.mkdir()
        contents = files if isinstance(files, dict) else {p.name: p.read_bytes() for p in files if p.is_file()}
        for name, content in contents.items():  # the intake bounds what enters (grader/intake.py)
            (self.submission / name).write_bytes(content)
        self.isolation = isolation if isolation is not None else detect()
        self.hide = [str(Path(p).resolve()) for p in hide]
        self.cgroups: list[Path] = []
        self.data_pack, self.device = data_pack, device

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        remove_tree(self.root)

    @property
    def work(self) -> Path:
        """Where the submission's files are, as the child sees them."""
        return Path(WORK) if self.isolation.namespaces else self.submission

    def environment(self, limits: Limits) -> dict[str, str]:
        threads = str(limits.threads)
        home = str(self.work)
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp" if self.isolation.namespaces else home,
               "USER": "student", "LOGNAME": "student",  # for getpass.getuser(): the child's uid is in no passwd file
               "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
               "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "MPLBACKEND": "Agg", "MPLCONFIGDIR": home,
               # idle OpenMP threads sleep instead of spinning: on a busy machine spinning makes training crawl
               "OMP_WAIT_POLICY": "PASSIVE"}
        if self.device == "cuda":  # where the loader finds the driver, as the grader does
            for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
                if name in os.environ:
                    env[name] = os.environ[name]
        if self.data_pack is not None:
            env["COURSE_DATA_PACK"] = PACK_INSIDE if self.isolation.namespaces else str(self.data_pack)
        return env

    def _spec(self, argv: list[str], limits: Limits, slot: int) -> dict:
        iso = self.isolation
        rlimits = {"RLIMIT_CPU": [limits.cpu, limits.cpu + 5], "RLIMIT_CORE": [0, 0],
                   "RLIMIT_FSIZE": [limits.file_bytes] * 2, "RLIMIT_NOFILE": [limits.open_files] * 2}
        if self.device != "cuda" and not iso.limits("memory"):
            # no memory cgroup: cap the data segment instead (CUDA maps far more address space than it uses)
            rlimits["RLIMIT_DATA"] = [limits.memory_bytes] * 2
        if iso.own_uid:
            rlimits["RLIMIT_NPROC"] = [limits.processes] * 2
        return {"namespaces": iso.namespaces, "user_namespace": iso.user_namespace,
                "uid": child_uid(slot) if iso.own_uid else None, "cgroups": [str(c) for c in self.cgroups],
                "root": str(self.mount_point), "submission": str(self.submission),
                "binds": _binds() + (_driver_folders() if self.device == "cuda" else []),
                "masks": dict(_VIEW) if iso.namespaces and view_ready() else {},
                "hide": [*self.hide, *_always_hidden()], "devices": _devices(self.device == "cuda"),
                "pack": str(self.data_pack) if self.data_pack else None,
                "scratch_bytes": limits.scratch_bytes, "rlimits": rlimits, "argv": argv,
                "env": self.environment(limits), "cwd": str(self.work)}

    def _make_cgroups(self, limits: Limits, slot: int) -> None:
        for parent in self.isolation.cgroups:
            child = f"uid{child_uid(slot)}" if self.isolation.own_uid else f"slot{slot}"  # the run's own uids
            folder = Path(parent) / f"{TEMP_PREFIX}{os.getpid()}-{child}-{self.root.name[-8:]}"
            try:
                folder.mkdir()
                if _is_v2(parent):
                    (folder / "memory.max").write_text(str(limits.memory_bytes))
                    (folder / "pids.max").write_text(str(limits.processes))
                    try:  # no escape into swap either
                        (folder / "memory.swap.max").write_text("0")
                    except OSError:
                        pass
                elif "memory" in _controllers(parent):
                    (folder / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                    try:  # no escape into swap either, where the kernel keeps that account
                        (folder / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
                    except OSError:
                        pass
                else:
                    (folder / "pids.max").write_text(str(limits.processes))
                self.cgroups.append(folder)
            except OSError:
                continue

    def _remove_cgroups(self) -> None:
        for folder in self.cgroups:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)  # the last processes are still being reaped

    def run_python(self, module_args: list[str], limits: Limits, slot: int = 0) -> ChildRun:
        """Run ``python -m grader.<module_args...>`` in isolated mode (no student file can shadow a package)."""
        return self.run(python(module_args), limits, slot)

    def run(self, argv: list[str], limits: Limits, slot: int = 0) -> ChildRun:
        """Run ``argv`` in the jail with the results channel on fd 3; wait within the limits."""
        started = self.start(argv, limits, slot)
        started.go()
        return started.finish()

    def start(self, argv: list[str], limits: Limits, slot: int = 0, gated: bool = False) -> "Started":
        """Start ``argv`` in the jail with the results channel on fd 3, and return at once.

        A worker run goes to the warm zygote when one is running (``start_warm``), otherwise a fresh
        interpreter is started for it. ``gated``: the child also gets the read end of a gate on fd
        ``GATE`` (a worker started with ``--gate`` waits there, its jail built and its imports done,
        before it reads the student's file); ``Started.go`` opens it. The time limit counts from ``go``.
        """
        self._make_cgroups(limits, slot)
        spec = self._spec(argv, limits, slot)
        read_results, write_results = os.pipe()
        read_output, write_output = os.pipe()
        read_gate, write_gate = os.pipe() if gated else (None, None)
        zygote = _ZYGOTE
        try:
            if zygote is not None and zygote.alive() and "grader.worker" in argv:
                read_status, write_status = os.pipe()
                try:
                    zygote.spawn(spec, [write_results, write_output, write_status, *([read_gate] if gated else [])])
                finally:
                    os.close(write_status)
                child = WarmChild(read_status)
            else:
                (self.root / "spec.json").write_text(json.dumps(spec))
                jail = [*python(["grader.jail"]), str(self.root / "spec.json"), str(write_results),
                        *([str(read_gate)] if gated else [])]
                child = ColdChild(subprocess.Popen(
                    jail, cwd=self.root, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL,
                    stdout=write_output, stderr=write_output, start_new_session=True,
                    pass_fds=(write_results, *([read_gate] if gated else []))))
        except BaseException:
            for fd in (read_results, read_output, write_gate):
                if fd is not None:
                    os.close(fd)
            self._remove_cgroups()
            raise
        finally:
            for fd in (write_results, write_output, read_gate):
                if fd is not None:
                    os.close(fd)
        return Started(self, child, read_results, read_output, write_gate, limits)


class Started:
    """A child started in its jail: ``go`` lets it run (a gated worker waits until then), ``until_done`` reads until
    its ``done`` frame, ``finish`` reads the rest, ends it and returns how it ended; ``abandon`` ends it unused."""

    def __init__(self, box: Sandbox, child, read_results: int, read_output: int, gate: int | None, limits: Limits):
        self.box, self.child, self.limits, self.gate = box, child, limits, gate
        self.read_results, self.read_output = read_results, read_output
        self.channel = Channel(limits.payload_bytes, 4 * limits.payload_bytes + MiB)
        self.output = OutputTail(limits.output_bytes)
        self.begin = self.deadline = None
        self.timed_out = False

    def go(self) -> None:
        """Open the gate (when there is one); the time limit starts now."""
        self.begin = time.monotonic()
        self.deadline = self.begin + self.limits.wall_seconds
        if self.gate is not None:
            try:
                os.write(self.gate, GO)
            except OSError:  # the child is gone already: how it ended is read as for any other
                pass
            os.close(self.gate)
            self.gate = None

    def until_done(self) -> None:
        """Read the child's frames and output until it has sent ``done``, has ended, or is out of time."""
        if not self.timed_out:
            self.timed_out = self._read(self.deadline, stop_when_done=True)

    def finish(self) -> ChildRun:
        """Read the rest, end the child (killed if it is still running), remove its cgroups; how it ended."""
        try:
            if not self.timed_out:
                done = "done" in self.channel.frames  # in time: what is left (its last output) is read, not timed
                deadline = max(self.deadline, time.monotonic() + DRAIN_SECONDS) if done else self.deadline
                self.timed_out = self._read(deadline) and not done
        finally:
            self.child.kill()
            self.child.wait()
            os.close(self.read_results)
            os.close(self.read_output)
            out_of_memory = _ran_out_of_memory(self.box.cgroups)
            self.box._remove_cgroups()
        code = self.child.returncode
        for name, body in self.channel.frames.items():
            (self.box.results / name).write_bytes(body)
        return ChildRun(None if self.timed_out else code, self.timed_out, time.monotonic() - self.begin,
                        self.output.text(), dict(self.channel.frames), self.channel.error, out_of_memory,
                        code == -signal.SIGXCPU, dict(self.channel.arrived))

    def abandon(self) -> None:
        """End a child that was never let go: its gate closes unopened (a gated worker then exits at once)."""
        if self.gate is not None:
            os.close(self.gate)
            self.gate = None
        if self.deadline is None:
            self.begin = time.monotonic()
            self.deadline = self.begin + ABANDON_SECONDS
        self.finish()

    def _read(self, deadline: float, stop_when_done: bool = False) -> bool:
        """Read results and output until the child ends (``stop_when_done``: or its ``done`` frame is in) or the
        deadline passes; True when it was too late."""
        child, channel = self.child, self.channel
        sinks = {self.read_results: channel.feed, self.read_output: self.output.feed, **child.sinks()}
        open_fds = list(sinks)
        ended_at = None
        while open_fds and not (stop_when_done and "done" in channel.frames):
            now = time.monotonic()
            if child.poll() is not None:
                ended_at = ended_at or now
                if now - ended_at > 1.0:  # without a pid namespace a detached process may hold the pipes open
                    break
            elif now >= deadline:
                return True
            ready, _, _ = select.select(open_fds, [], [], max(0.0, min(0.25, deadline - now)))
            for fd in ready:
                data = os.read(fd, 1 << 20)
                if data:
                    sinks[fd](data)
                else:
                    open_fds.remove(fd)
                    if fd in child.sinks():
                        child.closed()
            if channel.error and child.poll() is None:
                child.kill()
        return False


GO = b"g"  # the byte that opens a gate
DRAIN_SECONDS = 5.0  # how long a child that sent ``done`` has to end, however late its rest is read
ABANDON_SECONDS = 10.0  # how long a child never let go has to notice its closed gate before it is killed


class ColdChild:
    """A jail started as a new interpreter: the grader's own child."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        _register(process.pid)

    def sinks(self) -> dict:
        return {}

    def closed(self) -> None:
        pass

    def poll(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        _kill(self.process.pid)

    def wait(self) -> None:
        self.process.wait()
        with _LIVE_LOCK:
            _LIVE.discard(self.process.pid)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode


class WarmChild:
    """A jail forked by the zygote: its keeper reports ``pid N``, then ``exit C`` or ``signal S``, on a pipe."""

    def __init__(self, status_fd: int):
        self.status_fd, self.buffer, self.pid, self.code, self.eof = status_fd, b"", None, None, False

    def sinks(self) -> dict:
        return {} if self.eof else {self.status_fd: self.feed}

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            word, _, number = line.decode(errors="replace").partition(" ")
            if word == "pid" and number.isdigit() and self.pid is None:
                self.pid = int(number)
                _register(self.pid)
            elif word in ("exit", "signal") and number.isdigit() and self.code is None:
                self.code = int(number) if word == "exit" else -int(number)

    def closed(self) -> None:
        self.eof = True
        if self.code is None:
            self.code = -signal.SIGKILL  # the keeper died without a word: killed

    def poll(self) -> int | None:
        return self.code

    def kill(self) -> None:
        if self.pid is not None and self.code is None:
            _kill(self.pid)

    def wait(self) -> None:
        deadline = time.monotonic() + 10
        while not self.eof and time.monotonic() < deadline:
            ready, _, _ = select.select([self.status_fd], [], [], 0.25)
            if ready:
                data = os.read(self.status_fd, 4096)
                self.feed(data) if data else self.closed()
        os.close(self.status_fd)
        if self.pid is not None:
            with _LIVE_LOCK:
                _LIVE.discard(self.pid)

    @property
    def returncode(self) -> int | None:
        return self.code


@lru_cache(maxsize=1)
def _binds() -> list[str]:
    """What the child sees, read-only: the system, Python and its packages, and the grader package."""
    import site

    wanted = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys",
              sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages(),
              str(Path(grader.__file__).resolve().parent)]
    present = [p for p in dict.fromkeys(wanted) if os.path.lexists(p)]
    reals = {p: os.path.realpath(p) for p in present}

    def covered(path: str) -> bool:  # already inside another bound folder
        return any(reals[path].startswith(reals[o].rstrip("/") + "/") for o in present
                   if o != path and not os.path.islink(o))

    return [p for p in present if os.path.islink(p) and os.path.dirname(p) == "/" or not covered(p)]


@lru_cache(maxsize=1)
def _driver_folders() -> list[str]:
    """The folders of the NVIDIA driver's libraries as this process loaded them; bound after ``_binds()``.

    The driver is often a mount of its own inside ``/usr`` (e.g. ``/usr/local/nvidia``), which a bind
    of ``/usr`` does not carry.
    """
    import torch

    torch.cuda.init()
    carried = {"/", *(os.path.realpath(p) for p in _binds())}
    folders = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and os.path.basename(fields[5]).startswith(("libcuda.so", "libnvidia-")):
            folder = os.path.dirname(os.path.realpath(fields[5]))
            while not os.path.ismount(folder):  # bind the whole mount that holds it
                folder = os.path.dirname(folder)
            if folder not in carried:
                folders.add(folder)
    return sorted(folders)


def _devices(cuda: bool) -> list[str]:
    names = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
    if cuda:
        names += sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    return [n for n in names if os.path.exists(n)]


# --- the jail: trusted code in the child, before the student's ---------------------------------

_ZYGOTE: Zygote | None = None


def start_warm(only: str | None = None) -> bool:
    """Start the zygote for this process's runs (where namespaces work), warmed for the exercises ``only`` names
    (``--only``; None: every one); False when runs stay cold."""
    global _ZYGOTE
    if _ZYGOTE is None and os.environ.get("GRADER_WARM", "1") != "0":
        # started before the probe of what this machine allows (a child of its own, a tenth of a second), which
        # its imports need not wait for; given up at once where children cannot be jailed
        zygote = Zygote(only, tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-zygote-"))  # its scratch
        if detect().namespaces:
            _ZYGOTE = zygote
        else:
            zygote.close(at_once=True)
    return _ZYGOTE is not None


@contextmanager
def started_early(device: str | None, only: str | None = None, views: Path | None = None):
    """Start what a run's first child waits for (the zygote's imports, the data-free view, its scans kept in
    ``views``) at once, beside the caller's own imports and intake; both end however the block ends (at once when
    it raised: a bad argument is told without waiting for starts nothing will use)."""
    failed = True
    try:
        if device == "cpu":
            start_warm(only)
        start_view(views)
        yield
        failed = False
    finally:
        stop_warm(at_once=failed)
        stop_view(at_once=failed)


def stop_warm(at_once: bool = False) -> None:
    """End the zygote (``at_once``: without letting it finish the import it is making)."""
    global _ZYGOTE
    if _ZYGOTE is not None:
        _ZYGOTE.close(at_once)
        _ZYGOTE = None


def stop_warm_and_view() -> None:
    """A run's end: the zygote killed (nothing is left for it to fork) while the view's whiteouts are removed, the two
    side by side (each takes a tenth of a second or more)."""
    ending = threading.Thread(target=stop_warm, kwargs={"at_once": True}, name="zygote-end")
    ending.start()
    try:
        stop_view()
    finally:
        ending.join()


_VIEW: dict[str, str] = {}  # tree -> its mask, while a run's data-free view is up
_VIEW_STATE: dict = {}  # the thread building it, the folder it lives in


def start_view(cache: Path | None = None) -> None:
    """Start building this run's data-free view of the trees a child sees (grader/view.py), in a thread; the first
    child waits for it (``view_ready``). ``cache``: where the trees' scans are kept between runs (``view.Scans``).
    Where the machine cannot make a view, children see the trees as they are."""
    if _VIEW_STATE or not detect().namespaces:
        return
    shm = Path("/dev/shm")  # whiteouts are made thousands at a time: a tmpfs makes them in microseconds
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-view-", dir=base))
    cancel = threading.Event()
    thread = threading.Thread(target=_build_view, args=(folder, cancel, cache), name="data-free-view", daemon=True)
    _VIEW_STATE.update(folder=folder, thread=thread, cancel=cancel)
    thread.start()


def _build_view(folder: Path, cancel: threading.Event, cache: Path | None) -> None:
    trees = [p for p in _binds() if os.path.realpath(p) in _masked_trees()]
    try:
        _VIEW.update(view.build(trees, folder, cancel.is_set, cache))
    except OSError:
        return
    if cancel.is_set():
        return
    with Sandbox([], "view") as box:  # can a child enter it? (an overlay needs a kernel that allows it here)
        run = box.run([sys.executable, "-I", "-c", "import os; os.write(3, b'importing 0\\n')"],
                      Limits(wall_seconds=30), slot=0)
    if run.returncode != 0 or "importing" not in run.frames:
        _VIEW.clear()


def view_ready() -> bool:
    """Wait for the view being built (if any); whether children get it."""
    thread = _VIEW_STATE.get("thread")
    if thread is not None and thread is not threading.current_thread():
        thread.join()
    return bool(_VIEW)


def stop_view(at_once: bool = False) -> None:
    if at_once and "cancel" in _VIEW_STATE:
        _VIEW_STATE["cancel"].set()
    view_ready()
    _VIEW.clear()
    folder = _VIEW_STATE.pop("folder", None)
    _VIEW_STATE.clear()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _masked_trees() -> set[str]:
    """The bound trees that get a mask: the system's /usr and every Python tree (not /etc, /sys, the grader)."""
    package = os.path.realpath(Path(grader.__file__).parent)
    return {os.path.realpath(p) for p in _binds()
            if os.path.realpath(p) not in ("/etc", "/sys", package) and os.path.isdir(p)
            and not (os.path.islink(p) and os.path.dirname(p) == "/")}
