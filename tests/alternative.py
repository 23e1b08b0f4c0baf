"""An alternative correct solution: the reference rewritten in one or more places, as another student would."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Alternative:
    """One alternative: ``edits`` turn ``reference/<exercise>.py`` into it (``source``).

    ``rejected_by`` names the checks (ids, ``.hidden`` included) known to take points from it although it does
    what its docstrings ask, and ``why`` says why: a finding about the rubric, kept visible as an expected failure.
    """

    name: str
    exercise: str
    edits: tuple[tuple[str, str], ...]  # (old, new) pairs, applied in order; each old occurs once
    what: str  # how it differs from the reference, in a few words
    rejected_by: tuple[str, ...] = ()
    why: str = ""

    def source(self, reference: Path) -> str:
        text = (reference / f"{self.exercise}.py").read_text()
        for n, (old, new) in enumerate(self.edits, 1):
            count = text.count(old)
            if count != 1:
                raise AssertionError(f"{self.name}: edit {n} of {len(self.edits)}: the snippet to replace occurs "
                                     f"{count} times in reference/{self.exercise}.py (it must occur once):\n{old}")
            text = text.replace(old, new)
        return text


def code(text: str, indent: int = 4) -> str:
    """A block of code written flush left (or indented anyhow), indented by ``indent`` spaces, ending in a newline."""
    return textwrap.indent(textwrap.dedent(text).strip("\n") + "\n", " " * indent)


EX01 = "ex01_tensors_autograd"
EX02 = "ex02_gradients"
EX03 = "ex03_regression"
EX04 = "ex04_training_loop"
EX05 = "ex05_heteroscedastic"
EX06 = "ex06_cnn_mnist"
EX07 = "ex07_matrix_factorization"
EX08 = "ex08_rnn_sunspots"
EX09 = "ex09_attention"
EX10 = "ex10_data_pipeline"
EX11 = "ex11_checkpoints"
EX12 = "ex12_gradient_flow"
