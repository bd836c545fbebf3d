"""The primitives (one class per op: forward and backward side by side) and their wrappers."""
from . import elementwise, linalg, movement, reduce  # noqa: F401
