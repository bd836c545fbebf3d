"""Shared pytest setup: ``tests/`` on the import path (for ``_helpers``) and a fixed seed."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:  # keep property tests short and free of timing flakiness
    from hypothesis import settings
    settings.register_profile("chainrule", max_examples=40, deadline=None)
    settings.load_profile("chainrule")
except ImportError:  # pragma: no cover - hypothesis is a test extra
    pass


@pytest.fixture(autouse=True)
def _seed_and_grad_mode():
    """Every test starts from the same global seed and with grad mode on (and leaves it on)."""
    import chainrule as cr
    cr.manual_seed(0)
    yield
    from chainrule.graph.modes import STATE
    enabled, STATE.enabled = STATE.enabled, True   # restore first: one failure must not cascade
    assert enabled, "a test left grad mode disabled"
