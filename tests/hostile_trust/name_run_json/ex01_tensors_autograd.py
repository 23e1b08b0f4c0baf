# Trust corpus: a student folder named like a file the run writes in OUT. Implements nothing.
def make_grid(n_rows, n_cols, device):
    raise RuntimeError("nothing here")
