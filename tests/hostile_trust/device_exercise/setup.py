"""The exercise file is a character device with /dev/zero's numbers (needs root): reading it never ends."""
import os
import stat
from pathlib import Path


def build(student_dir: Path, tokens: dict) -> None:
    os.mknod(student_dir / "ex01_tensors_autograd.py", stat.S_IFCHR | 0o644, os.makedev(1, 5))
