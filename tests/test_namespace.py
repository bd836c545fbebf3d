"""The array namespace ``xp`` that rules are written against, where it is not NumPy's own."""
import numpy as np
import pytest

from chainrule.autograd.op import ARRAY


@pytest.mark.parametrize("shape, dtype, order", [(5, np.float32, "C"), ((2, 3), np.float64, "F"),
                                                 ((), None, "C"), ((0, 4), np.int64, "C")])
def test_array_namespace_ones_is_numpys(shape, dtype, order):
    """A rule's ``xp.ones`` on arrays (one call instead of NumPy's two): NumPy's result."""
    got, want = ARRAY.ones(shape, dtype, order), np.ones(shape, dtype, order)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.flags.f_contiguous == want.flags.f_contiguous
    np.testing.assert_array_equal(got, want)
    assert ARRAY.ones(3, dtype=np.float32).dtype == np.float32
