"""`grader bench` runs end to end and prints its table (the figures themselves are not judged by tests)."""

from conftest import EXERCISES, run_grader


def test_the_benchmark_prints_a_row_per_measure_with_the_machine_in_its_header():
    run = run_grader("bench", "--repeats", "1", "--class-size", "2", "--only", EXERCISES[0], "--no-nbgrader")
    assert run.returncode == 0, run.stderr[-3000:]
    header, _, head, rule, *rows = run.stdout.strip().splitlines()
    assert "cores, torch" in header and "device cpu" in header
    assert head.split("|")[1].strip() == "measure" and rule.startswith("|-")
    measures = [r.split("|")[1].strip() for r in rows]
    assert measures == ["pytest exercises/ --impl reference", "grade one reference submission",
                        "reference preflight", "children: start-up (process, sandbox, imports)",
                        "children: the checks", "reporting", "the same, a fresh interpreter per child",
                        "sandbox overhead per submission",
                        "class of 2, --jobs 1", "class of 2, --jobs 2"]
    for row in rows:
        median = row.split("|")[2].strip()
        assert median.split()[0].replace(".", "", 1).lstrip("-").isdigit(), row
