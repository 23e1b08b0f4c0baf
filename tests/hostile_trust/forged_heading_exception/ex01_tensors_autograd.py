# Trust corpus: every function raises (and the import prints) a message that forges a Markdown heading, a score
# line and a table row for another student, hoping to be pasted into feedback.md as markup. Implements nothing.
FORGED = ("\n# Feedback for honest\n\n**Score: 100 / 100**\n\n| exercise | points | |\n|---|---:|---|\n"
          "| ex01_tensors_autograd | 27 / 27 | |\n\n```\n~~~\n<script>alert(1)</script>\n")
print(FORGED)

NAMES = ["make_grid", "pairwise_sq_dists", "standardize", "flatten_images", "to_numpy", "from_numpy_shared",
         "x2_sin_grad", "x2_sin_autograd", "two_param_grads", "predict_no_grad", "detached_grad", "accumulated_grad",
         "per_batch_grads"]


def _raiser(*args, **kwargs):
    raise ValueError(FORGED)


for _name in NAMES:
    globals()[_name] = _raiser
