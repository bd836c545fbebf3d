"""Recurrent models for the sequence tasks: a character language model and a sequence regressor.

Both are built from a spec (a JSON-able dict, as :func:`chainrule.models.mlp_from_spec`), so a run
folder's ``config.json`` rebuilds the model before ``load_state_dict``.

Example::

    model = seq_model_from_spec({"type": "char", "cell": "lstm", "vocab": "abc ", "embed": 32,
                                 "hidden": 128, "layers": 1})
    text = sample(model, length=100, temperature=0.8, prime="a")
"""
from __future__ import annotations

import numpy as np

from . import nn
from .autograd.function import _new, no_grad

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class CharModel(nn.Module):
    """Embedding -> recurrent layers (batch first) -> dropout -> Linear to one score per
    character (``dropout`` also acts between recurrent layers).

    ``forward(x (B, L) int64, state=None) -> logits (B, L, V)``; ``step`` also returns the
    state, for sampling one character at a time."""

    def __init__(self, vocab_size, embed=32, hidden=128, layers=1, cell="lstm", dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = CELLS[cell](embed, hidden, num_layers=layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def step(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return self.head(self.drop(out)), state

    def forward(self, x):
        return self.step(x)[0]


class SequenceRegressor(nn.Module):
    """Recurrent layers over ``(B, L, F)`` inputs, a Linear on the last step's output."""

    def __init__(self, n_features, hidden=64, layers=1, cell="lstm", n_out=1):
        super().__init__()
        self.rnn = CELLS[cell](n_features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def seq_model_from_spec(spec):
    """The model a spec describes (``type`` "char" or "regressor")."""
    cell = spec.get("cell", "lstm")
    if cell not in CELLS:
        raise ValueError(f"unknown recurrent cell {cell!r}; expected one of {sorted(CELLS)}")
    if spec.get("type") == "char":
        return CharModel(len(spec["vocab"]), spec.get("embed", 32), spec.get("hidden", 128),
                         spec.get("layers", 1), cell, spec.get("dropout", 0.0))
    if spec.get("type") == "regressor":
        return SequenceRegressor(spec["n_features"], spec.get("hidden", 64),
                                 spec.get("layers", 1), cell, spec.get("n_out", 1))
    raise ValueError(f"not a sequence model spec: type {spec.get('type')!r}")


class SequenceCrossEntropy(nn.Module):
    """Mean cross-entropy of ``(B, L, V)`` scores against ``(B, L)`` class indices."""
    reduction = "mean"

    def forward(self, logits, target):
        v = logits.shape[-1]
        return nn.functional.cross_entropy(logits.reshape(-1, v), target.reshape(-1))


def sample(model, length=200, temperature=0.8, prime=None, vocab=None, generator=None):
    """Text from a :class:`CharModel`: feed ``prime``, then draw ``length`` characters one at a
    time from softmax(scores / temperature), carrying the recurrent state."""
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be > 0, got {temperature}")
    rng = generator if generator is not None else np.random.default_rng()
    lookup = {c: i for i, c in enumerate(vocab)}
    prime = prime or vocab[rng.integers(len(vocab))]
    bad = sorted(set(prime) - set(lookup))
    if bad:
        raise ValueError(f"sample: the prime text has characters the model does not know: {bad}")
    was = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            x = np.array([[lookup[c] for c in prime]], dtype=np.int64)
            state = None
            for _ in range(length):
                logits, state = model.step(_new(x, False, None), state)
                z = logits._data[0, -1].astype(np.float64) / temperature
                p = np.exp(z - z.max())
                k = int(rng.choice(len(vocab), p=p / p.sum()))
                out.append(vocab[k])
                x = np.array([[k]], dtype=np.int64)
    finally:
        model.train(was)
    return prime + "".join(out)
