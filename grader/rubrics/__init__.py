"""One rubric module per exercise, named after the exercise."""
