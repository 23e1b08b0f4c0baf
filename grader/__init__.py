"""Course pack runtime: the rubric, the checks, the student pytest plugin and the class grader."""

__version__ = "0.1.0"


class GraderError(Exception):
    """The grader itself cannot go on (bad arguments, a broken reference, an unwritable folder).

    Never raised because of what a student submitted: student problems become verdicts.
    """
