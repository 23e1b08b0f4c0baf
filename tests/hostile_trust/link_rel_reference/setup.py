"""The exercise files are relative symbolic links (../../.../reference/exNN.py), as tar and unzip restore them."""
import os
from pathlib import Path


def build(student_dir: Path, tokens: dict) -> None:
    for name in ("ex01_tensors_autograd.py", "ex02_gradients.py"):
        target = os.path.relpath(Path(tokens["__REFERENCE__"]) / name, student_dir)
        assert target.startswith(".."), target
        (student_dir / name).symlink_to(target)
