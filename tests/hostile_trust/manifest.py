"""The trust corpus: submissions that reach for what they must not, stop the class, or earn points they did not compute.

Unlike ``tests/hostile/`` (one ``.py`` file per attack), a member here is a whole student folder:
each ``<attack>/`` holds the files to copy into it (any names, sub-folders included; the literal
tokens below are replaced in each one) and, optionally, ``setup.py`` exposing
``build(student_dir: Path, tokens: dict) -> None``, which the test calls after copying to make
what a file cannot be: symbolic links, FIFOs, device nodes, hundreds of helper files, a folder
that is itself a link, a table computed from the public data. The student folder is named
``Attack.name`` (any name a file system allows; bytes for a name that is not UTF-8), or the
attack's own folder name.

Every member implements nothing of what it attacks correctly (stubs, missing functions or
deliberately wrong values), so any point it earns on an exercise in ``Attack.exercises`` came
from its attack working.

``__REFERENCE__``    absolute path of the course's reference/ folder
``__SUBMISSIONS__``  absolute path of the class's submissions folder (the honest student is ``honest/``)
``__OUT__``          absolute path of the grader's output folder

The files under this folder are data, never imported by the test suite (``setup.py`` is loaded
only to call ``build``): do not run them outside a sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

EX01, EX02, EX04, EX05 = "ex01_tensors_autograd", "ex02_gradients", "ex04_training_loop", "ex05_heteroscedastic"
EX07, EX08 = "ex07_matrix_factorization", "ex08_rnn_sunspots"

# the classes of attack this corpus covers (concurrent runs have tests/test_concurrent.py)
LINKS, STOPS, HELD_OUT, NO_TRAINING, FACTS, TEXT = ("links", "one student stops the class", "held-out answers",
                                                   "needs no training", "facts from inside the child",
                                                   "student text")
CLASSES = (LINKS, STOPS, HELD_OUT, NO_TRAINING, FACTS, TEXT)


@dataclass(frozen=True)
class Attack:
    kind: str  # one of CLASSES
    exercises: tuple[str, ...]  # what it attacks: it must score 0 on each
    what: str  # what it attempts
    name: str | bytes | None = None  # the student folder's name (default: the attack's folder name)
    status: str | None = None  # the status each attacked exercise must get (record.json), when one is certain
    words: tuple[str, ...] = ()  # what its feedback.md must say
    row: bool = True  # False: the folder is not graded and has no gradebook row (a name the run writes itself)
    root_only: bool = False  # needs root to be built (a device node): skipped otherwise
    needs: tuple[str, ...] = ()  # data sets the member and its exercise need ("movielens"): skipped without them


ATTACKS: dict[str, Attack] = {
    # --- links: nothing is read through a link, at any depth ---------------------------------------------
    "link_abs_reference": Attack(
        LINKS, (EX01,), "the exercise file is an absolute symbolic link to reference/ex01",
        status="refused", words=("is a symbolic link",)),
    "link_rel_reference": Attack(
        LINKS, (EX01, EX02), "the exercise files are relative symbolic links (../../...) to reference/",
        status="refused", words=("is a symbolic link",)),
    "link_subfolder": Attack(
        LINKS, (EX01, EX02), "nbgrader's layout with the sub-folder a link: ps1 -> /abs/reference",
        status="refused", words=("symbolic link to a folder",)),
    "link_student_folder": Attack(
        LINKS, (EX01, EX02, EX04), "the student folder itself is a symbolic link to reference/",
        status="refused", words=("is a symbolic link",)),
    "link_helper_environ": Attack(
        LINKS, (EX01,), "helpers linked to /proc/self/environ and /etc/shadow, which the exercise prints",
        words=("was not copied: it is a symbolic link",)),
    "link_helper_other_student": Attack(
        LINKS, (EX01,), "helpers linked (relative and absolute) to the honest student's ex01, re-exported",
        words=("was not copied: it is a symbolic link",)),
    "fifo_exercise": Attack(
        LINKS, (EX01,), "the exercise file is a FIFO nobody writes to (a reader would block forever)",
        status="refused", words=("is a FIFO",)),
    "device_exercise": Attack(
        LINKS, (EX01,), "the exercise file is a character device (/dev/zero's numbers): endless bytes",
        status="refused", words=("is a device",), root_only=True),
    # --- one student stops the class: everything ends in a verdict on that student --------------------------
    "notebook_list": Attack(
        STOPS, (EX01,), "ex01's notebook is valid JSON whose top level is a list",
        status="import_error", words=("not a readable notebook", "a list")),
    "notebook_bad_cells": Attack(
        STOPS, (EX01,), "a notebook whose cells are of the wrong JSON types (numbers, objects as source)",
        status="import_error", words=("not a readable notebook",)),
    "forge_number_header": Attack(
        STOPS, (EX02,), "writes result frames on fd 3 whose safetensors header holds numbers where objects belong",
        status="tamper", words=("rejected", "not an object")),
    "forge_bad_device": Attack(
        STOPS, (EX01,), "writes result frames on fd 3 whose outputs claim the device \"not-a-device\"",
        status="tamper", words=("rejected", "is not a device")),
    "forge_inf_count": Attack(
        STOPS, (EX04,), "writes result frames on fd 3 reporting inf lines for the plot check, and errors elsewhere",
        words=("is not a count",)),
    "forge_zero_dim_shape": Attack(
        STOPS, (EX05,), "writes result frames on fd 3 reporting 0-dim tensors where shapes are read",
        words=("no readable shape",)),
    "name_grades_csv": Attack(
        STOPS, (EX01,), "a student folder named grades.csv, like the gradebook the run writes",
        name="grades.csv", row=False),
    "name_report_html": Attack(
        STOPS, (EX01,), "a student folder named report.html, like the class report the run writes",
        name="report.html", row=False),
    "name_run_json": Attack(
        STOPS, (EX01,), "a student folder named RUN.JSON, like run.json but for the case",
        name="RUN.JSON", row=False),
    "helpers_flood": Attack(
        STOPS, (EX01,), "200 helper modules beside the exercise file (over the cap), which it imports",
        words=("none of them was copied",)),
    # --- held-out answers: out of reach, and lookups useless ------------------------------------------------
    "iris_bundled_lookup": Attack(
        HELD_OUT, (EX04,), "fit_iris trains nothing; its MLP (a forward hook) looks flowers up in every copy of "
        "Iris it can find: scikit-learn's, SciPy's, statsmodels', mlxtend's, any file under site-packages",
        words=("held-out flowers with a label found: 0 of 50",)),
    "iris_typed_table": Attack(
        HELD_OUT, (EX04,), "the 50 public held-out flowers with their labels typed into the file; an MLP whose "
        "forward hook looks them up"),
    "sunspots_lookup": Attack(
        HELD_OUT, (EX08,), "an LSTM whose head is hooked to look each window up in the series (data pack, "
        "statsmodels' files) and answer the next year; persistence where nothing matches"),
    # --- needs no training ---------------------------------------------------------------------------------------
    "sunspots_next_window": Attack(
        NO_TRAINING, (EX08,), "predicts each window's target as the next window's last input in the same batch "
        "(through a hooked LSTM head); nothing trained"),
    "hetero_true_functions": Attack(
        NO_TRAINING, (EX05,), "a HeteroscedasticNet whose body computes grader.data.true_mean/true_sigma and "
        "whose Linear heads select them; nothing trained"),
    "iris_1nn_module": Attack(
        NO_TRAINING, (EX04,), "fit_iris returns 1-nearest-neighbour on the training flowers as an nn.Module"),
    "iris_1nn_hooked": Attack(
        NO_TRAINING, (EX04,), "fit_iris returns an MLP of the docstring's layer types whose last Linear carries a "
        "forward hook answering 1-nearest-neighbour's logits; nothing trained"),
    "iris_1nn_sequential": Attack(
        NO_TRAINING, (EX04,), "fit_iris returns an MLP whose self.layers is an nn.Sequential subclass (the "
        "docstring's layer types inside) whose forward is 1-nearest-neighbour; nothing trained"),
    "iris_1nn_global_hook": Attack(
        NO_TRAINING, (EX04,), "fit_iris returns an MLP of the docstring's layer types, no hook on it: global module "
        "hooks (register_module_forward_hook) answer 1-nearest-neighbour's logits through it; nothing trained"),
    "iris_1nn_forward_attr": Attack(
        NO_TRAINING, (EX04,), "fit_iris returns an MLP of the docstring's layer types whose first and last Linear "
        "carry their own `forward` in the instance __dict__, answering 1-nearest-neighbour; nothing trained"),
    "sunspots_ar16": Attack(
        NO_TRAINING, (EX08,), "least-squares AR(16) on the training years as the forecaster's forward; no LSTM used"),
    "sunspots_ar16_hooked": Attack(
        NO_TRAINING, (EX08,), "an LSTM and a Linear head hooked to answer least-squares AR(16); parameters nudged "
        "and a falling loss reported, nothing trained"),
    "movielens_biases": Attack(
        NO_TRAINING, (EX07,), "train_mf returns closed-form user and item biases (shrunk means), no factors, "
        "nothing trained", needs=("movielens",)),
    # --- facts from inside the child ---------------------------------------------------------------------------
    "rebind_probes_ex04": Attack(
        FACTS, (EX04,), "ex04 left as stubs; at import, rebinds every probe of the rubric objects in the process "
        "(and grader.probes.describe_figure) to report the facts the checks want",
        status="tamper", words=("changed the grader's own code",)),
    "rebind_probes_ex08": Attack(
        FACTS, (EX08,), "ex08 left as stubs; the same rebinding, found through gc as well as sys.modules",
        status="tamper", words=("changed the grader's own code",)),
    "forge_1nn_facts": Attack(
        FACTS, (EX04,), "writes the training check's frame on fd 3 itself: 1-nearest-neighbour's logits for the "
        "held-out and fresh flowers (inputs from the data pack), the model facts claimed true"),
    "forge_ar16_facts": Attack(
        FACTS, (EX08,), "writes the training check's frame on fd 3 itself: least-squares AR(16)'s forecasts of the "
        "held-out years and fresh windows (inputs from the data pack), the model facts claimed true"),
    # --- student text as markup or commands ------------------------------------------------------------------------
    "name_javascript": Attack(
        TEXT, (EX01,), "a student folder named javascript:alert(1)", name="javascript:alert(1)"),
    "name_formula": Attack(
        TEXT, (EX01,), "a student folder named like a spreadsheet formula", name='=HYPERLINK(CONCATENATE("http:",CHAR(47),CHAR(47),"x"),"y")'),
    "name_terminal_forgery": Attack(
        TEXT, (EX01,), "a folder name with ESC sequences, a newline and a forged progress line for the honest student",
        name="\x1b[31mred\x1b[0m\n[ 2\u22159] honest: 100 \u2215 100\rhonest: full marks"),
    "name_bidi": Attack(
        TEXT, (EX01,), "a folder name with a right-to-left override (U+202E) and isolates",
        name="student\u202egnp.exe\u2066x\u2069"),
    "name_html": Attack(
        TEXT, (EX01,), "a folder named like an HTML element with an event handler", name="<img src=x onerror=alert(1)>"),
    "name_latin1": Attack(
        TEXT, (EX01,), "a folder name that is not UTF-8 (Latin-1 bytes)", name=b"caf\xe9 \xff\xfe"),
    "forged_heading_exception": Attack(
        TEXT, (EX01,), "every function raises a message that forges a Markdown heading and a full score"),
    "output_controls": Attack(
        TEXT, (EX01,), "prints and raises C1 controls (U+0085, U+009B), bidi overrides, ESC sequences and CRs"),
}
