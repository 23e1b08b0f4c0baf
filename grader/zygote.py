"""Warm workers: a zygote process that imports torch and the grader once (never student code) and forks each child.

The grader's ``Zygote`` starts ``python -m grader.zygote CONTROL_FD [ONLY]`` and sends it, per child,
a spec and the child's pipe ends over a Unix socket; the zygote forks, and the fork goes through
the same jail as a cold child (``grader/jail.py``) before running the worker in the already
initialised interpreter (``run_warm``). ``python`` and ``_bootstrap`` give the command that runs a
grader module in a fresh, isolated interpreter.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path

import grader

from .jail import GATE, _die_with_parent, _libc, jail


@lru_cache(maxsize=1)
def _bootstrap() -> str:
    package_parent = str(Path(grader.__file__).resolve().parent.parent)
    return (f"import sys; sys.path.insert(0, {package_parent!r}); import runpy; "
            f"sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)")


def python(module_args: list[str]) -> list[str]:
    """``python -m grader.<module_args...>`` in isolated mode (no student file can shadow a package)."""
    return [sys.executable, "-I", "-c", _bootstrap(), *module_args]


def _preload(only: str) -> list[str]:
    """What every worker imports, once, in the zygote: torch, the grader and the rubrics of the exercises ``only``
    names (every one when empty or unknown). Returns what their code imports at a cost (``Exercise.warm``), for
    the zygote to import between spawn requests: a child forked before then imports what it uses itself."""
    import torch  # noqa: F401

    from . import GraderError, checks, course, data, payload, probes, rubric, worker  # noqa: F401

    try:
        exercises = rubric.select(only or None)
    except GraderError:  # the run reports it
        exercises = [rubric.load(name) for name in rubric.exercise_names()]
    return list(dict.fromkeys(m for e in exercises for m in e.warm))  # in the order the first exercises need them


def run_warm(spec: dict) -> None:
    """Process 1 of a warm child: the environment of ``spec``, then the worker's ``main``, in this interpreter."""
    import torch

    from . import worker

    os.environ.clear()
    os.environ.update(spec["env"])
    torch.set_num_threads(int(spec["env"].get("OMP_NUM_THREADS", "1")))
    code = 1
    try:
        code = worker.main(spec["argv"][spec["argv"].index("grader.worker") + 1:]) or 0
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def zygote(control_fd: int, only: str = "") -> None:
    """Serve spawn requests (a spec, three pipes and a gate's read end when the child is gated) from the grader until it closes the control socket; ``only``:
    the exercises whose imports it makes first (``_preload``)."""
    import socket

    libc = _libc()
    _die_with_parent(libc)
    control = socket.socket(fileno=control_fd)
    warm = _preload(only)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel: keepers report their end
    while True:
        if warm and not select.select([control], [], [], 0)[0]:  # nothing to fork now: the next costly import
            importlib.import_module(warm.pop(0))  # matplotlib's backend: MPLBACKEND=Agg in the zygote's environment
            continue
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
        except OSError:
            break
        if not message:
            break
        if len(fds) not in (3, 4):
            for fd in fds:
                os.close(fd)
            continue
        if os.fork() == 0:
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                channel, output, status, *gate = fds
                fds = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16) for fd in fds]  # above the targets: no clobbering
                for fd, target in zip(fds, (3, 1, 4, GATE)):
                    os.dup2(fd, target)
                os.dup2(1, 2)
                os.closerange(GATE + 1 if gate else GATE, 1 << 16)  # nothing of the zygote's stays open (its control
                os.setsid()                                             # socket least of all)
                jail(json.loads(message), 3, 4, GATE if gate else None)
            except BaseException as exc:  # noqa: BLE001 (report, never return into the zygote's loop)
                os.write(2, f"grader sandbox: cannot set up the child: {exc}\n".encode())
            os._exit(70)
        for fd in fds:
            os.close(fd)
    os._exit(0)  # nothing to save: skip tearing down torch (a second or more)


class Zygote:
    """The grader's handle on its zygote process: ``spawn`` sends a spec and the child's pipe ends (three, and a
    gate's). ``scratch``: a folder of the caller's that the zygote's own caches (matplotlib's) use, removed at
    ``close``."""

    def __init__(self, only: str | None, scratch: str):
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.scratch = scratch
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "OMP_WAIT_POLICY": "PASSIVE", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1", "HOME": self.scratch, "MPLCONFIGDIR": self.scratch}
        self.process = subprocess.Popen(python(["grader.zygote", str(theirs.fileno()), only or ""]),
                                        pass_fds=(theirs.fileno(),), env=env,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.control, self.lock = ours, threading.Lock()

    def spawn(self, spec: dict, fds: list[int]) -> None:
        import socket

        with self.lock:
            socket.send_fds(self.control, [json.dumps(spec).encode()], fds)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, at_once: bool = False) -> None:
        """End the zygote: it exits when its control socket closes, once its imports are done (``at_once``: now,
        when the run gave up before needing it)."""
        self.control.close()
        try:
            if at_once:
                self.process.kill()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) in (1, 2) and argv[0].isdigit():
        zygote(int(argv[0]), *argv[1:])
        return 0
    print("usage: python -m grader.zygote CONTROL_FD [EXERCISES]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
