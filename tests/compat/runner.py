"""Run the compatibility scripts under one backend and print what each printed, as JSON.

    python tests/compat/runner.py torch|chainrule script.py [script.py ...]

Each script runs in a fresh namespace (``runpy``) in its own empty working folder, with its
stdout captured; an exception ends that script only and is recorded as its error.  With
``chainrule`` the :mod:`torch_alias` hook is installed first, so the scripts' ``import torch``
gets chainrule.  One process per backend keeps the suite to two interpreter starts.
"""
import contextlib
import io
import json
import os
import random
import runpy
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main(argv):
    backend, scripts = argv[0], argv[1:]
    if backend == "chainrule":
        sys.path.insert(0, ROOT)      # the checkout's chainrule, not an installed one
        sys.path.insert(0, HERE)
        import torch_alias
        torch_alias.install()
    elif backend != "torch":
        raise SystemExit(f"backend must be torch or chainrule, got {backend!r}")
    results = {}
    start = os.getcwd()
    for script in scripts:
        out = io.StringIO()
        error = None
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            random.seed(0)
            try:
                with contextlib.redirect_stdout(out):
                    runpy.run_path(os.path.join(start, script), run_name="__main__")
            except BaseException as exc:   # noqa: BLE001  (a script's failure is its result)
                tb = traceback.extract_tb(exc.__traceback__)
                where = next((f"line {f.lineno}: {f.line}" for f in reversed(tb)
                              if f.filename.endswith(os.path.basename(script))), "")
                error = f"{type(exc).__name__}: {exc} ({where})"
            finally:
                os.chdir(start)
        results[os.path.basename(script)] = {"stdout": out.getvalue(), "error": error}
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
