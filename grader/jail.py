"""The jail: trusted code that walls a child in before any student code exists in its process.

``jail(spec, ...)`` enters new mount, network, pid, IPC and UTS namespaces (a user namespace too
when the grader is not root), forks process 1 of the new pid namespace and stays as its keeper;
process 1 joins its cgroups, builds a root of its own (``_build_root``), sets its rlimits, takes
its uid and ``no_new_privs``, then execs the command (cold) or runs the worker in the zygote's
interpreter it was forked from (warm, ``grader/zygote.py``). ``python -m grader.jail SPEC
CHANNEL_FD [GATE_FD]`` is the cold entry; ``grader/sandbox.py`` writes the spec and judges nothing.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import sys
from pathlib import Path

from . import view

WORK = "/submission"  # the child's working folder: a copy of the submission on a size-capped tmpfs
PACK_INSIDE = "/data/course.safetensors"  # where the child finds the grader's data pack
GATE = 5  # the gate's file descriptor in a gated child (``grader.sandbox.Sandbox.start``)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 1, 38, 24
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)


class JailError(Exception):
    pass


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise JailError(f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    _check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                      ctypes.c_ulong(flags), data and data.encode()), f"mount {source} on {target}")


def _die_with_parent(libc) -> None:
    parent = os.getppid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(137)


def _build_root(libc, spec: dict) -> None:
    """Mount the child's file system under ``spec['root']`` and make it the root."""
    new = spec["root"]
    size = spec["scratch_bytes"]
    uid = spec["uid"] if spec["uid"] is not None else 0
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")

    def inside(path: str) -> str:
        return os.path.join(new, path.lstrip("/"))

    # first the scratch folders: something bound below (a venv under /tmp) stays visible
    for folder, mode in (("/tmp", "1777"), (WORK, "700")):
        os.makedirs(inside(folder), exist_ok=True)
        _mount(libc, "tmpfs", inside(folder), "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={size},mode={mode},uid={uid},gid={uid}" if folder == WORK else f"size={size},mode={mode}")
    for path in Path(spec["submission"]).iterdir():
        shutil.copyfile(path, inside(f"{WORK}/{path.name}"))
        os.chown(inside(f"{WORK}/{path.name}"), uid, uid)
    for path in spec["binds"]:
        if os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-/usr systems
            os.symlink(os.readlink(path), inside(path))
            continue
        target = inside(os.path.realpath(path))
        if os.path.isdir(target) and os.path.ismount(target):
            continue
        os.makedirs(target, exist_ok=True)
        mask = spec["masks"].get(os.path.realpath(path))
        if mask:  # the tree without its data files (grader/view.py)
            _mount(libc, "overlay", target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   view.overlay_options(mask, os.path.realpath(path)))
            continue
        _mount(libc, os.path.realpath(path), target, None, MS_BIND)
        _mount(libc, None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path in spec["hide"]:  # inside something bound: cover it with an empty read-only folder
        target = inside(path)
        if os.path.isdir(target):
            _mount(libc, "tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
        elif os.path.isfile(target):
            _mount(libc, "/dev/null", target, None, MS_BIND)
    os.makedirs(inside("/dev"))
    _mount(libc, "tmpfs", inside("/dev"), "tmpfs", MS_NOSUID, "size=64k,mode=755")
    for device in spec["devices"]:
        if os.path.isdir(device):  # e.g. /dev/nvidia-caps
            os.makedirs(inside(device))
            _mount(libc, device, inside(device), None, MS_BIND | MS_REC)
        else:
            open(inside(device), "w").close()
            _mount(libc, device, inside(device), None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, inside(f"/dev/{name}"))
    os.makedirs(inside("/dev/shm"))
    _mount(libc, "tmpfs", inside("/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    if spec["pack"]:
        os.makedirs(inside(os.path.dirname(PACK_INSIDE)))
        open(inside(PACK_INSIDE), "w").close()
        _mount(libc, spec["pack"], inside(PACK_INSIDE), None, MS_BIND)
        _mount(libc, None, inside(PACK_INSIDE), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(inside("/proc"))
    _mount(libc, "proc", inside("/proc"), "proc", MS_NOSUID | MS_NODEV)
    _mount(libc, None, new, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(new)
    if SYS_PIVOT_ROOT is not None and libc.syscall(SYS_PIVOT_ROOT, b".", b".") == 0:
        _check(libc.umount2(b".", MNT_DETACH), "detach the old root")
    else:
        os.chroot(".")
    os.chdir("/")


def _enter_user_namespace(libc) -> None:
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER), "unshare(user)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _drop_privileges(libc, spec: dict) -> None:
    for name, (soft, hard) in spec["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (int(soft), int(hard)))
    if spec["uid"] is not None:
        uid = spec["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to an ordinary uid: every capability goes with it
    else:
        for cap in range(64):  # unprivileged in a user namespace: give up the namespace's capabilities too
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        libc.capset(header, data)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _die_with_parent(libc)  # again: a change of uid clears the request


def jail(spec: dict, channel_fd: int, status_fd: int | None = None, gate_fd: int | None = None) -> None:
    """Enter the namespaces, fork process 1 of the new pid namespace, and there build the root and run the worker.

    Cold (``status_fd`` None): process 1 execs ``spec['argv']`` and the keeper exits as it did. Warm
    (forked from the zygote): the keeper reports ``pid``/``exit``/``signal`` lines on ``status_fd``
    and process 1 runs the worker in the already-initialised interpreter. ``gate_fd``: the gate's read
    end, which process 1 gets as ``GATE`` (the keeper closes it).
    """
    libc = _libc()
    if gate_fd is not None and gate_fd != GATE:  # to GATE, clear of the channel's 3 (a cold jail's fds are any)
        moved = fcntl.fcntl(gate_fd, fcntl.F_DUPFD, 16)
        os.close(gate_fd)
        if channel_fd == GATE:
            channel_fd = fcntl.fcntl(channel_fd, fcntl.F_DUPFD, 16)
            os.close(GATE)
        os.dup2(moved, GATE)
        os.close(moved)
    _die_with_parent(libc)
    if spec["namespaces"]:
        if spec["user_namespace"]:
            _enter_user_namespace(libc)
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS),
               "unshare(mount, net, pid, ipc, uts)")
        pid = os.fork()
        if pid:  # stay as the namespace's keeper: its death (or ours) ends everything inside
            if gate_fd is not None:
                os.close(GATE)
            if status_fd is not None:
                os.close(channel_fd)  # only process 1 speaks on the channel; EOF comes when it is gone
                os.write(status_fd, f"pid {os.getpid()}\n".encode())
            _, status = os.waitpid(pid, 0)
            if status_fd is not None:
                line = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
                os.write(status_fd, f"{line}\n".encode())
                os._exit(0)
            if os.WIFSIGNALED(status):
                signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
                os.kill(os.getpid(), os.WTERMSIG(status))
            os._exit(os.waitstatus_to_exitcode(status))
        _die_with_parent(libc)
    if status_fd is not None:
        os.close(status_fd)
    for folder in spec["cgroups"]:
        Path(folder, "cgroup.procs").write_text(str(os.getpid()))
    if spec["namespaces"]:
        _build_root(libc, spec)
    os.chdir(spec["cwd"])
    if channel_fd != 3:
        os.dup2(channel_fd, 3)
        os.close(channel_fd)
    _drop_privileges(libc, spec)
    if status_fd is None:
        os.execve(spec["argv"][0], spec["argv"], spec["env"])
    from .zygote import run_warm

    run_warm(spec)


def main(argv: list[str]) -> int:
    try:
        if len(argv) in (2, 3):
            jail(json.loads(Path(argv[0]).read_text()), int(argv[1]), None, int(argv[2]) if len(argv) == 3 else None)
    except (JailError, OSError) as exc:
        print(f"grader sandbox: cannot set up the child: {exc}", file=sys.stderr)
        return 70
    print("usage: python -m grader.jail SPEC CHANNEL_FD [GATE_FD]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
