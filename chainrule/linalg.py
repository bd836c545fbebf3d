"""``cr.linalg``: the norms of ``torch.linalg`` (``norm``, ``vector_norm``, ``matrix_norm``)."""
from .ops.api_math import linalg_norm as norm
from .ops.api_math import matrix_norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm"]
