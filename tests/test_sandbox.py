"""The sandbox on its own: what a child can see and do, and how the results channel reads what it sends."""

import sys
from pathlib import Path

import pytest
from conftest import ROOT

from grader import sandbox
from grader.sandbox import Channel, Limits, OutputTail, Sandbox

needs_namespaces = pytest.mark.skipif(not sandbox.detect().namespaces,
                                      reason="this machine gives the grader no namespaces")

PROBE = '''
import json, os, socket
facts = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "files": sorted(os.listdir("."))}
def attempt(name, action):
    try:
        facts[name] = repr(action())
    except BaseException as exc:
        facts[name] = type(exc).__name__
attempt("reference", lambda: open(REFERENCE).read())
attempt("examples", lambda: os.listdir(EXAMPLES))
import getpass
attempt("user", getpass.getuser)  # torch's caches ask for it; the child's uid is in no passwd file
attempt("connect", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1))
attempt("write_package", lambda: open(PACKAGE + "/planted.py", "w"))
attempt("big_file", lambda: open("big", "wb").write(b"x" * (300 << 20)))
def forks():
    n = 0
    while n < 500:
        if os.fork() == 0:
            import time; time.sleep(60); os._exit(0)
        n += 1
    return n
attempt("forks", forks)
facts["processes"] = len([p for p in os.listdir("/proc") if p.isdigit()])
print(json.dumps(facts))
os.write(3, b"importing 0\\n")
'''


@needs_namespaces
def test_a_child_sees_only_its_own_world(tmp_path):
    import json

    import grader

    package = Path(grader.__file__).resolve().parent
    script = tmp_path / "probe.py"
    script.write_text(f"REFERENCE = {str(ROOT / 'reference' / 'ex01_tensors_autograd.py')!r}\n"
                      f"EXAMPLES = {str(package / 'examples')!r}\nPACKAGE = {str(package)!r}\n" + PROBE)
    with Sandbox([script], "probe", hide=[ROOT / "reference"]) as box:
        run = box.run([sys.executable, "-I", f"{box.work}/probe.py"], Limits(wall_seconds=60))
    facts = json.loads(run.output.strip().splitlines()[-1])
    assert facts["pid"] == 1 and (not sandbox.detect().own_uid or facts["uid"] == sandbox.child_uid(0))  # its run's uid
    assert facts["cwd"] == sandbox.WORK and facts["files"] == ["probe.py"]
    assert facts["reference"] == "FileNotFoundError"
    assert facts["examples"] == "[]" and facts["user"] == "'student'"
    assert facts["connect"] == "OSError"  # no route: the namespace has no network
    assert facts["write_package"] == "OSError"  # read-only
    assert facts["big_file"] == "OSError"  # over the file-size limit
    assert facts["forks"] == "BlockingIOError" and facts["processes"] <= Limits(1).processes
    assert run.returncode == 0 and "importing" in run.frames


def test_the_childs_environment_names_its_scratch_folder_and_a_user():
    for isolation in (sandbox.Isolation(), sandbox.detect()):
        with Sandbox([], "env", isolation=isolation) as box:
            env = box.environment(Limits(wall_seconds=1))
        assert env["TMPDIR"] == ("/tmp" if isolation.namespaces else str(box.work)) and env["HOME"] == str(box.work)
        assert env["USER"] == env["LOGNAME"] == "student" and "LD_LIBRARY_PATH" not in env  # kept on CUDA only


def test_a_child_over_its_wall_clock_is_killed_with_everything_it_started(tmp_path):
    script = tmp_path / "sleeper.py"
    script.write_text("import os, subprocess, time\nos.write(3, b'importing 0\\n')\n"
                      "subprocess.Popen(['sleep', '300'], start_new_session=True)\ntime.sleep(300)\n")
    with Sandbox([script], "sleeper") as box:
        run = box.run([sys.executable, "-I", f"{box.work}/sleeper.py"], Limits(wall_seconds=3))
    assert run.timed_out and "importing" in run.frames and run.seconds < 10


GATED = "import os\nif os.read(5, 1):\n    os.write(3, b'importing 0\\n')\n"  # what a gated worker does first


def test_a_gated_child_held_past_its_time_limit_runs_its_whole_limit_once_let_go(tmp_path):
    import time

    (tmp_path / "gated.py").write_text(GATED)
    with Sandbox([tmp_path / "gated.py"], "gated") as box:
        started = box.start([sys.executable, "-I", f"{box.work}/gated.py"], Limits(wall_seconds=1), gated=True)
        time.sleep(1.5)  # held at its gate (as the class grader holds the next exercise's child) longer than its limit
        started.go()
        run = started.finish()
    assert not run.timed_out and run.returncode == 0 and "importing" in run.frames


def test_a_gated_child_never_let_go_ends_without_running_on(tmp_path):
    (tmp_path / "gated.py").write_text(GATED)
    with Sandbox([tmp_path / "gated.py"], "abandoned") as box:
        started = box.start([sys.executable, "-I", f"{box.work}/gated.py"], Limits(wall_seconds=30), gated=True)
        started.abandon()
        assert not started.channel.frames and started.child.returncode == 0  # it read its closed gate and left


def test_only_a_gated_child_has_a_gate(tmp_path):
    (tmp_path / "gate.py").write_text("import os\ntry:\n    os.fstat(5)\nexcept OSError:\n    os._exit(0)\nos._exit(9)\n")
    with Sandbox([tmp_path / "gate.py"], "ungated") as box:
        run = box.run([sys.executable, "-I", f"{box.work}/gate.py"], Limits(wall_seconds=30))
    assert run.returncode == 0


def frames(*parts: tuple[str, bytes]) -> bytes:
    return b"".join(f"{name} {len(body)}\n".encode() + body for name, body in parts)


def test_the_channel_accepts_frames_in_the_workers_order_even_in_pieces():
    data = frames(("importing", b""), ("start-000", b""), ("check-000", b"abc"), ("start-001", b""),
                  ("check-001", b"de"), ("done", b""))
    channel = Channel(max_frame=100, max_total=1000)
    for i in range(0, len(data), 3):
        channel.feed(data[i:i + 3])
    assert channel.error == ""
    assert channel.frames == {"importing": b"", "start-000": b"", "check-000": b"abc", "start-001": b"",
                              "check-001": b"de", "done": b""}


@pytest.mark.parametrize("data, reason", [
    (frames(("done", b"")), "unexpected result frame 'done'"),
    (frames(("importing", b""), ("start-001", b"")), "unexpected result frame 'start' #1"),
    (frames(("importing", b""), ("start-000", b""), ("check-000", b"x"), ("check-000", b"y")), "'check' #0"),
    (frames(("importing", b""), ("passed", b"")), "unexpected result frame 'passed'"),
    (frames(("importing", b""), ("start-000", b""), ("check-000", b"x" * 200)), "over the cap"),
    (b"importing 0\nSCORE: 100/100\n", "not a result frame"),
])
def test_the_channel_rejects_anything_else_and_keeps_what_came_before(data, reason):
    channel = Channel(max_frame=100, max_total=1000)
    channel.feed(data)
    assert reason in channel.error
    assert "importing" in channel.frames or data.startswith(b"done")


def test_output_keeps_its_head_and_tail_and_drops_control_characters():
    tail = OutputTail(limit=20)
    tail.feed(b"\x1b[1m012345" + b"x" * 10_000 + b"31mEND\x00\r\n")
    text = tail.text()
    assert text.startswith("\ufffd[1m012345") and text.endswith("31mEND\ufffd\n")
    assert "bytes of output cut" in text and "\x1b" not in text


def test_runs_lease_disjoint_uid_blocks_until_they_end(tmp_path):
    import os
    import subprocess

    from grader import GraderError
    from grader.uids import BASE_UID, UidLease, _uids_running

    folder = tmp_path / "leases"
    first, second = (UidLease(folder, blocks=2, size=4).take(busy=set()) for _ in range(2))
    assert set(first.uids).isdisjoint(second.uids)
    assert set(first.uids) | set(second.uids) == set(range(BASE_UID, BASE_UID + 8))
    with pytest.raises(GraderError, match="every one of the 2 uid blocks"):
        UidLease(folder, blocks=2, size=4).take(busy=set())
    block = first.block
    first.close()
    assert UidLease(folder, blocks=2, size=4).take(busy=set()).block == block  # closed: free again
    # a run killed outright: the kernel drops its lock with it
    holder = subprocess.Popen([sys.executable, "-c", f"from grader.uids import UidLease; import time\n"
                               f"UidLease({str(tmp_path / 'one')!r}, blocks=1).take(busy=set()); print(flush=True)\n"
                               "time.sleep(120)"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        with pytest.raises(GraderError):
            UidLease(tmp_path / "one", blocks=1).take(busy=set())
    finally:
        holder.kill()
        holder.wait()
    assert UidLease(tmp_path / "one", blocks=1).take(busy=set()).uids.start == BASE_UID
    assert os.getuid() in _uids_running()


def test_a_uid_block_some_process_still_runs_under_is_passed_over(tmp_path):
    from grader.uids import BASE_UID, UidLease

    for _ in range(10):  # blocks are tried in random order
        lease = UidLease(tmp_path, blocks=3, size=4).take(busy={BASE_UID + 1, BASE_UID + 11, 1000})
        assert lease.block == 1
        lease.close()


@pytest.mark.parametrize("make, words", [
    (lambda p: (p.mkdir(), p.chmod(0o777)), "others may write"),
    (lambda p: (p.with_name("real").mkdir(), p.symlink_to(p.with_name("real"))), "is not a folder"),
    (lambda p: p.write_text(""), "is not a folder"),
])
def test_a_lease_folder_others_could_tamper_with_is_refused(tmp_path, make, words):
    from grader import GraderError
    from grader.uids import UidLease

    make(tmp_path / "leases")
    with pytest.raises(GraderError, match=words):
        UidLease(tmp_path / "leases").take(busy=set())
