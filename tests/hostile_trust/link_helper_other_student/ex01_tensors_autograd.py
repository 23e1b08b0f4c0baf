# Trust corpus: re-exports the honest student's ex01 through helper modules that are links to it.
# Whatever the links give, this file implements nothing itself.
for module in ("mine", "theirs"):
    try:
        exec(f"from {module} import *")
        print(f"re-exported {module}")
        break
    except BaseException as exc:
        print(f"from {module} import *: {type(exc).__name__}: {exc}")
