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


class PostAccumulateGradHook:
    """A hook kept in a leaf's hook dict that backward calls as ``fn(tensor)`` after the leaf's
    ``.grad`` holds its total gradient (``Tensor.register_post_accumulate_grad_hook``).  Living
    in the same dict as the gradient hooks, it makes a leaf "hooked" for everything that
    checks (``cr.compile`` stays eager for such tensors); the gradient-hook loop skips it."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn
