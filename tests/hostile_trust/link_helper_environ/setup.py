"""Helper modules that are links to the grader's own environment and to a root-only file."""
from pathlib import Path


def build(student_dir: Path, tokens: dict) -> None:
    (student_dir / "environ_dump.py").symlink_to("/proc/self/environ")
    (student_dir / "shadow.py").symlink_to("/etc/shadow")
