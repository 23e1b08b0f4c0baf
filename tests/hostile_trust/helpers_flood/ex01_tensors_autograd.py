# Trust corpus: 200 helper modules beside this file (setup.py makes them); it imports the first, which the
# intake's cap keeps out of the sandbox. Implements nothing.
try:
    from h000 import make_grid  # noqa: F401
except ImportError as exc:
    print(f"no helper: {exc}")
