# Trust corpus: prints and raises C1 controls (NEL U+0085, CSI U+009B), bidi overrides and isolates, ESC
# sequences (clear screen, set title, colours), BEL, backspaces and bare CRs. Implements nothing.
import sys

NASTY = ("ok\x1b[2J\x1b]0;pwned\x07\x9b31mred\x85next\u202eevil\u2066x\u2069\u200f\x08\x08\rOVERWRITTEN"
         "\u2028line\u2029para\x00end")
print(NASTY)
print(NASTY, file=sys.stderr)
sys.stdout.buffer.write(b"raw bytes: \xc2\x9b\xc2\x85\x1b[31m\xe2\x80\xae\n")

NAMES = ["make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
         "x2_sin_grad", "x2_sin_autograd", "two_param_grads", "predict_no_grad", "detached_grad", "accumulated_grad",
         "per_batch_grads"]


def _raiser(*args, **kwargs):
    raise ValueError(NASTY)


for _name in NAMES:
    globals()[_name] = _raiser
