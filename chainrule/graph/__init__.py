"""The bottom layer: per-thread modes and the backward traversal.

Nothing here knows the :class:`~chainrule.Tensor` class or any op: the engine works on any object
with a tensor's fields (``_data``, ``requires_grad``, ``grad``, ``_node``, ``_hooks``,
``_retain``) and on any node with ``inputs``, ``seq``, ``needs_input_grad`` and ``vjp``.  So the
layers above (tensor, autograd, ops) import it, and it imports none of them.
"""
