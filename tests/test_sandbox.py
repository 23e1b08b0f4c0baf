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
    assert facts["uid"] >= sandbox.BASE_UID and facts["pid"] == 1
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
