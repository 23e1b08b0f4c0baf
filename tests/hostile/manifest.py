"""The hostile corpus: one submission per folder, each built to earn 0 points from an honest grader.

Every ``<attack>/<exercise>.py`` implements nothing correctly (stubs or deliberately wrong values), so any
point it earns came from its attack working. Before use, copy each file replacing these literal tokens:

``__REFERENCE__``    absolute path of the course's reference/ folder
``__SUBMISSIONS__``  absolute path of the class's submissions folder (the honest student is ``honest/``)
``__OUT__``          absolute path of the grader's output folder (grades.csv, <student>/...)
``__PORT__``         a TCP port on 127.0.0.1 where the test listens (any connection is a leak)
``__SENTINEL__``     a unique string carried by everything an attack leaves behind (file names, argv)

The files under this folder are data, never imported by the test suite: do not run them outside a sandbox.
"""

EX01, EX02 = "ex01_tensors_autograd", "ex02_gradients"

# attack folder: (the exercise it targets, what it attempts), in the order they were written
ATTACKS = {
    "syntax_error":
        (EX01, "a syntax error: the file cannot even be compiled"),
    "import_crash":
        (EX01, "raises an exception while the file is being imported"),
    "infinite_loop":
        (EX01, "spins forever (`while True: pass`) in the first checked function"),
    "ignores_sigterm":
        (EX01, "ignores and blocks SIGTERM, SIGINT and friends at import, then loops (up to 10 minutes)"),
    "memory_bomb":
        (EX01, "allocates memory without bound in make_grid (100 MB at a time; stops at 30 GB or MemoryError)"),
    "fork_bomb":
        (EX01, "forks up to 2,000 children at import that become `sleep 90` (half escape into a new session)"),
    "segfault":
        (EX01, "reads address 0 (`ctypes.string_at(0)`) in make_grid: its process dies of SIGSEGV"),
    "sys_exit_zero":
        (EX01, "calls sys.exit(0) at import, as if everything had gone well"),
    "os_exit_zero":
        (EX01, "calls os._exit(0) at import: the process ends at once with status 0"),
    "fake_output":
        (EX01, "prints fake passing output (100/100, all checks passed, {\"score\": 100}); nothing implemented"),
    "fake_results":
        (EX01, "writes fake full-marks results.json / grades.csv / feedback.md wherever a grader might look"),
    "detached_rewriter":
        (EX01, "double-forks a detached daemon that rewrites grades.csv with full marks for ~85 s"),
    "patch_allclose":
        (EX01, "patches torch.allclose / equal / isclose / eq and Tensor.__eq__ to always agree; wrong values"),
    "patch_assert_close":
        (EX01, "patches torch.testing.assert_close (and torch.testing._comparison) to pass; wrong values"),
    "patch_gradcheck":
        (EX02, "patches torch.autograd.gradcheck / gradgradcheck (and their module) to pass; wrong backwards"),
    "patch_numpy_testing":
        (EX01, "patches numpy.testing.assert_allclose / assert_array_equal, np.allclose / isclose; wrong values"),
    "patch_grader":
        (EX01, "imports the grader's modules in its process and patches every verdict to passed; wrong values"),
    "always_equal_object":
        (EX01, "returns an object that claims to equal, be close to and be an instance of whatever it meets"),
    "tensor_subclass":
        (EX01, "returns wrong values as a Tensor subclass whose __eq__ / __torch_function__ always agree"),
    "nan_inf":
        (EX01, "returns NaN / inf tensors of the right shape, dtype and device"),
    "wrong_shape_dtype_device":
        (EX01, "returns the right numbers with a wrong shape, a wrong dtype or on the meta device"),
    "read_reference":
        (EX01, "looks for reference/ (given path, parents, sys.path, grader package) and re-exports it"),
    "read_other_student":
        (EX01, "reads another student's ex01 (honest/, then any folder beside it) and re-exports its functions"),
    "overwrite_other_student":
        (EX01, "renames away and overwrites the honest student's ex01 and ex02 with stubs; wrong values"),
    "network":
        (EX01, "connects to 127.0.0.1:PORT (TCP, UDP), to 1.1.1.1:53 and looks up a name at import; wrong values"),
    "stdout_flood":
        (EX01, "writes 100 MB to stdout and 100 MB to stderr at import (fake scores, markup, bad UTF-8)"),
    "disk_fill":
        (EX01, "fills cwd, /tmp, /dev/shm, home and its own folder (up to 20 GB each); wrong values"),
    "thread_bomb":
        (EX01, "starts up to 10,000 sleeping threads at import"),
    "alarm_interrupt":
        (EX01, "arms a repeating SIGALRM whose handler raises KeyboardInterrupt in the grader's code"),
    "kill_parent":
        (EX01, "sends SIGKILL to its parent process (the grader, if nothing stands between them) at import"),
    "killpg_self":
        (EX01, "kills its own process group with SIGKILL from make_grid"),
    "proc_snoop":
        (EX01, "reads its ancestors' cwd and command lines in /proc to find reference/, then uses the solution"),
    "patch_selfgradcheck":
        (EX02, "patches the grader's gradcheck probe in its process to report identical Jacobians"),
    "forge_payload":
        (EX02, "sends the worker's result frames itself (identical gradcheck Jacobians, done), then exits"),
    "evil_exception":
        (EX01, "raises odd exceptions: SystemExit, GeneratorExit, bad stub labels, a __str__ that raises"),
    "payload_bomb":
        (EX01, "returns enormous tensors (200 MB, then 512 MB expanded views) to blow the result-size limits"),
    "corrupt_channel":
        (EX01, "sends a premature done and garbage on the results channel, has it held open by a detached process"),
}
