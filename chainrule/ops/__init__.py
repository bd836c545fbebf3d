"""The primitives: one class per op (forward and backward side by side) and its wrapper.

Importing this package registers every op; ``FUNCTIONS`` then holds the ``cr.`` functions and
the Tensor methods are attached (see ``autograd/op.py``'s ``export``).
"""
from ..autograd.op import FUNCTIONS
from . import (arithmetic, cast, compare, elementwise, inplace, linalg, loss,  # noqa: F401
               movement, reduce, special)

__all__ = sorted(FUNCTIONS)
globals().update(FUNCTIONS)
