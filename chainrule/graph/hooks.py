"""Removable handles for hooks (as ``torch.utils.hooks.RemovableHandle``)."""
import itertools

_ids = itertools.count()


class RemovableHandle:
    def __init__(self, hooks_dict, extra=None):
        self.hooks_dict = hooks_dict
        self.extra = extra
        self.id = next(_ids)

    def remove(self):
        self.hooks_dict.pop(self.id, None)
        if self.extra is not None:
            self.extra.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
