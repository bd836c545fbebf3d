"""Removable hook handles (as ``torch.utils.hooks``); the class lives in the bottom layer."""
from ..graph.hooks import RemovableHandle

__all__ = ["RemovableHandle"]
