"""Randomness: a global generator seeded by ``manual_seed`` plus explicit ``Generator`` objects."""
from __future__ import annotations

import numpy as np


class Generator:
    """An explicit source of randomness, passed as ``generator=`` (as ``torch.Generator``).

    Example::

        g = cr.Generator().manual_seed(0)
        a = cr.randn(3, generator=g)
    """

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        # as PyTorch: any int in [-2**63, 2**64); a negative seed is taken modulo 2**64
        seed = int(seed)
        if not -2 ** 63 <= seed < 2 ** 64:
            raise RuntimeError(f"manual_seed: seed must be in [-2**63, 2**64), got {seed}")
        self._seed = seed % 2 ** 64
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    """Seed the global generator: the same seed gives bit-identical runs."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.manual_seed(np.random.SeedSequence().entropy % (2 ** 63))


def initial_seed():
    return default_generator.initial_seed()


def get_rng(generator=None) -> np.random.Generator:
    if generator is None:
        return default_generator.rng
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a chainrule.Generator, got {type(generator).__name__}")
