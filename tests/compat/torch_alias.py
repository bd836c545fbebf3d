"""``import torch`` gives chainrule: the import hook the compatibility suite runs scripts under.

A finder on ``sys.meta_path`` answers ``torch`` and every ``torch.<sub>`` with the module object
``chainrule`` / ``chainrule.<sub>`` itself (imported normally, then handed over as it is).
Nothing is added, wrapped or patched: a name chainrule lacks is an ``AttributeError`` or
``ModuleNotFoundError`` in the script, exactly as a user would meet it.  (Putting a ``torch``
folder on ``sys.path`` that re-exports chainrule would instead load chainrule's submodules a
second time under ``torch.*`` names, with their own classes.)

Use::

    python tests/compat/torch_alias.py script.py     # runs script.py with torch -> chainrule
"""
import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "chainrule" + fullname[len("torch"):]
        if importlib.util.find_spec(real) is None:
            return None        # ModuleNotFoundError: No module named 'torch.<sub>'
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module("chainrule" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass                   # already executed as chainrule.<sub>


def install():
    if "torch" in sys.modules and not sys.modules["torch"].__name__.startswith("chainrule"):
        raise RuntimeError("the real torch is already imported in this process")
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())


if __name__ == "__main__":
    install()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
