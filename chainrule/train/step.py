"""What ``fit`` runs of one batch before it checks the loss: ``zero_grad``, forward, loss,
``backward``; and how it compiles that."""
from __future__ import annotations

from ..nn.module import Module
from ..tensor import Tensor


def _replayable_loss(loss_fn):
    """chainrule's own losses (``chainrule.nn.functional`` functions, ``chainrule.nn`` loss
    modules) run ops only, so a replay may stand for them; a user's loss function may have
    Python side effects (a counter, a print) that a replay would skip, so it stays eager."""
    owner = type(loss_fn) if isinstance(loss_fn, Module) else loss_fn
    return (getattr(owner, "__module__", None) or "").startswith("chainrule.nn")


def train_step(model, loss_fn, optimizer, compile):  # noqa: A002  (torch.compile's name)
    """``step(x, y) -> (loss, output)``: ``zero_grad``, forward, loss and ``backward`` of one
    batch (the loop then checks the loss and takes the optimizer step).

    With ``compile``, for one of chainrule's own losses the whole function goes through
    ``cr.compile`` (forward, loss and backward replayed as one program).  If that cannot be
    replayed (a loss that indexes with the targets, a module hook, a value read into Python),
    or for any other loss, the model alone is compiled (``cr.compile(model)``: the loss and the
    backward stay eager), which warns once if it cannot be replayed either.  Either way the
    numbers are eager mode's, bit for bit.  The model itself is what callbacks and checkpoints
    see."""
    from ..compiler import CompiledModule, compile as compile_

    def run(forward, batch):
        *xs, y = batch
        optimizer.zero_grad()
        out = forward(*xs)
        loss = loss_fn(out, y)
        loss.backward()
        return loss, out

    if not compile:
        return lambda x, y: run(model, _batch(x, y))
    whole = forward = None

    def gave_up(why):            # no warning: the model alone is compiled from now on
        nonlocal whole
        whole = None

    if _replayable_loss(loss_fn):
        whole = compile_(lambda *batch: run(model, batch))
        whole._compiled.on_give_up = gave_up

    def step(x, y):
        nonlocal forward
        batch = _batch(x, y)
        if whole is not None and all(isinstance(t, Tensor) for t in batch):
            return whole(*batch)
        if forward is None:
            own = isinstance(model, Module) and not isinstance(model, CompiledModule)
            forward = compile_(model) if own else model
        return run(forward, batch)
    return step


def _batch(x, y):
    """The step's positional tensors: the model's inputs (several as a tuple), then the target."""
    return (*x, y) if isinstance(x, tuple) else (x, y)
