"""Utilities: data loading (``cr.utils.data``) and removable hook handles."""
from . import data, hooks  # noqa: F401
