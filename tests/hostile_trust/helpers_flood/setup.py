"""Two hundred helper modules beside the exercise file: more than the intake copies."""
from pathlib import Path


def build(student_dir: Path, tokens: dict) -> None:
    for i in range(200):
        (student_dir / f"h{i:03d}.py").write_text(
            f"# helper {i}\ndef make_grid(n_rows, n_cols, device):\n    raise RuntimeError('helper {i}')\n"
            + "# padding\n" * 20)
