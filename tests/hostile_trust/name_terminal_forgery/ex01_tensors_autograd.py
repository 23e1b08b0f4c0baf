# Trust corpus: the attack is this student folder's name (see the manifest). Implements nothing.
def make_grid(n_rows, n_cols, device):
    raise RuntimeError("nothing here")
