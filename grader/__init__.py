"""Course pack runtime: the rubric, the checks, the student pytest plugin and the class grader."""

import os

__version__ = "0.1.0"

# Idle OpenMP threads sleep instead of spinning. Set before torch is imported: on a machine that is
# busy with other work (a class graded in parallel), spinning threads slow training down many times.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class GraderError(Exception):
    """The grader itself cannot go on (bad arguments, a broken reference, an unwritable folder).

    Never raised because of what a student submitted: student problems become verdicts.
    """
