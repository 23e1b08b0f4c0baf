"""Running student code in a child process: its own session, a fresh folder, a clean environment and limits.

The child gets a working folder holding a copy of the submission's files, an environment with
nothing of the grader's, a wall-clock limit (on expiry its whole process group is killed, as is
anything it left running), a cap on file sizes and no core dumps; its output is kept to a bounded
size. Stronger isolation (namespaces, another uid, memory limits) belongs here too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grader

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_COPIED_BYTES = 1024 * 1024
_LIVE: set[int] = set()  # process groups of children still running
_LIVE_LOCK = threading.Lock()


@dataclass
class Limits:
    wall_seconds: float
    output_bytes: int = 20_000
    payload_bytes: int = 64 * 1024 * 1024
    threads: int = 1


@dataclass
class ChildRun:
    """How a child process ended, and what it printed (truncated to the limit)."""

    returncode: int | None
    timed_out: bool
    seconds: float
    output: str


def limit_prefix() -> list[str]:
    """``prlimit`` (util-linux) for no core dumps and a file-size cap, when it is installed."""
    tool = shutil.which("prlimit")
    if tool is None:
        return []
    return [tool, "--core=0:0", f"--fsize={MAX_FILE_BYTES}:{MAX_FILE_BYTES}", "--"]


def missing_layers() -> list[str]:
    """The isolation layers this machine cannot provide (said once per grading run)."""
    return [] if shutil.which("prlimit") else ["prlimit (util-linux): no core-dump or file-size limits"]


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    """Kill every child still running (on Ctrl-C: the grading threads then see them end)."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for pgid in groups:
        _kill_group(pgid)


def _tail(path: Path, limit: int) -> str:
    size = path.stat().st_size
    with path.open("rb") as f:
        if size <= limit:
            return f.read().decode(errors="replace")
        head = f.read(limit // 2).decode(errors="replace")
        f.seek(size - limit // 2)
        tail = f.read().decode(errors="replace")
    return f"{head}\n[... {size - limit} bytes of output cut ...]\n{tail}"


class Sandbox:
    """A scratch folder for one child run; ``run`` starts the child there and waits, within limits."""

    def __init__(self, files: list[Path], label: str = ""):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:60]
        self.root = Path(tempfile.mkdtemp(prefix=f"grader-{safe}-"))
        self.work = self.root / "work"
        self.out = self.root / "out"
        self.work.mkdir()
        self.out.mkdir()
        for path in files:
            if path.is_file() and path.stat().st_size <= MAX_COPIED_BYTES:
                shutil.copyfile(path, self.work / path.name)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def environment(self, limits: Limits) -> dict[str, str]:
        threads = str(limits.threads)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.work), "TMPDIR": str(self.work), "LANG": "C.UTF-8",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads, "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.work),
               # idle OpenMP threads sleep instead of spinning: on a busy machine spinning makes training crawl
               "OMP_WAIT_POLICY": "PASSIVE"}
        for name in ("CUDA_VISIBLE_DEVICES", "COURSE_DATA_DIR", "COURSE_MOVIELENS"):  # the device, where data are
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def run_python(self, module_args: list[str], limits: Limits) -> ChildRun:
        """Run ``python -m grader.<module_args...>`` in isolated mode (no student file can shadow a package)."""
        package_parent = str(Path(grader.__file__).resolve().parent.parent)
        bootstrap = (f"import sys; sys.path.insert(0, {package_parent!r}); import runpy; "
                     f"sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)")
        argv = [*limit_prefix(), sys.executable, "-I", "-c", bootstrap, *module_args]
        log = self.root / "output.txt"
        start = time.monotonic()
        with log.open("wb") as sink:
            child = subprocess.Popen(argv, cwd=self.work, env=self.environment(limits), stdin=subprocess.DEVNULL,
                                     stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
            timed_out = False
            with _LIVE_LOCK:
                _LIVE.add(child.pid)
            try:
                child.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            except BaseException:
                _kill_group(child.pid)
                child.wait()
                raise
            finally:
                _kill_group(child.pid)  # also whatever the child left running in its group
                with _LIVE_LOCK:
                    _LIVE.discard(child.pid)
            child.wait()
        return ChildRun(None if timed_out else child.returncode, timed_out, time.monotonic() - start,
                        _tail(log, limits.output_bytes))
