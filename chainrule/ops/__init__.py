"""The primitives: one class per op (forward and backward side by side) and its wrapper.

Importing this package registers every op; ``FUNCTIONS`` then holds the ``cr.`` functions and
the Tensor methods are attached (see ``autograd/op.py``'s ``export``).
"""
from ..autograd.op import FUNCTIONS
from . import (arithmetic, cast, compare, elementwise, inplace, linalg, loss,  # noqa: F401
               movement, reduce, special)
from . import (api_index, api_math, api_misc, cumulative, einsum, mathops,  # noqa: F401,E402
               rounding)  # issue 15's breadth
from . import out_arg  # noqa: F401,E402  (last: wraps the cr. functions PyTorch gives out=)
from . import kernels  # noqa: F401,E402  (the NumPy / numba kernel switch, cr.ops.kernels)

__all__ = sorted(FUNCTIONS)
globals().update(FUNCTIONS)
