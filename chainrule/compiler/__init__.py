"""``cr.compile``: capture a call once per input signature, then replay it (``capture.py``), as
generated Python code (``replay.py``).  It sits above ``nn`` and ``optim``: it uses both, and
they never import it."""
from .capture import compile  # noqa: A004
from .module import CompiledModule

__all__ = ["compile", "CompiledModule"]
