"""The exercise file is an absolute symbolic link to the reference solution."""
from pathlib import Path


def build(student_dir: Path, tokens: dict) -> None:
    (student_dir / "ex01_tensors_autograd.py").symlink_to(Path(tokens["__REFERENCE__"]) / "ex01_tensors_autograd.py")
