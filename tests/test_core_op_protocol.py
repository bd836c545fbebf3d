"""The op protocol's one spelling (issue 12): one entry per op, kept values, several outputs."""
from __future__ import annotations

import numpy as np
import pytest
from test_core import INPLACE, leaf

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck


# -- the op protocol: one entry gives the function, the method and both orders -------------------
def test_an_op_entry_gives_function_method_and_second_order():
    from chainrule.autograd.op import ARRAY, REGISTRY, TENSOR
    assert REGISTRY["sinh"].__module__ == "chainrule.ops.elementwise"
    assert cr.Tensor.sinh is cr.sinh
    x = leaf([0.2, -1.3])
    assert gradgradcheck(cr.sinh, (x,))
    assert ARRAY.cosh is np.cosh and callable(TENSOR.cosh)
    with pytest.raises(RuntimeError, match="no second derivative|einsum"):
        TENSOR.einsum


def test_a_rule_with_an_unregistered_numpy_call_says_so_under_create_graph():
    from chainrule.autograd.op import Op

    class Square(Op):
        name = "test_square_einsum"
        save = ("x",)

        def forward(ctx, xp, x):
            return x * x

        def backward(ctx, xp, g, x):
            return xp.einsum("i,i->i", g, x) * 2

    x = leaf([1.0, 2.0])
    y = Square.apply(x)
    g, = cr.grad(y.sum(), x)                       # first order: NumPy
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="Square's backward uses xp.einsum"):
        cr.grad(Square.apply(x).sum(), x, create_graph=True)


def test_in_place_on_an_output_of_a_node_with_several_outputs():
    from chainrule.autograd.op import Op

    class Two(Op):            # (2x, 3x); the backward reads output 1 only
        name = "test_two_outputs"
        outputs = 2
        save = ("out1",)

        def forward(ctx, xp, x):
            return x * 2, x * 3

        def backward(ctx, xp, g, y1):
            return g[0] * 2 + g[1] * (y1 / y1) * 3

    x = leaf([1.0, 2.0])
    a, b = Two.apply(x)
    a.mul_(5)                 # not saved: the gradient goes through the in-place node
    (a.sum() + b.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [13.0, 13.0])
    a, b = Two.apply(x)
    b.mul_(5)                 # saved: refused, naming that output
    with pytest.raises(RuntimeError, match=INPLACE + ".*output 1 of Two"):
        (a.sum() + b.sum()).backward()


def test_in_place_on_lstm_outputs_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    lstm = nn.LSTM(4, 5, dtype=cr.float64)
    ref = torch.nn.LSTM(4, 5).double()
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in lstm.state_dict().items()})
    xc, xt = leaf(x), torch.tensor(x, requires_grad=True)
    for inp, m in ((xc, lstm), (xt, ref)):
        out, (h, c) = m(inp)
        out.mul_(2)
        h.add_(1)
        (out.sum() + h.sum() * 3 + c.sum()).backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_kept_value_is_read_to_first_order_and_recomputed_under_create_graph():
    from chainrule.autograd.op import Op

    class Cube(Op):              # y = x^3; the backward reads 3 x^2, which the forward keeps
        name = "test_cube_kept"
        save = ("slope",)

        def forward(ctx, xp, x):
            ctx.slope = 3 * x * x
            return x * x * x

        def slope(ctx, xp, x):
            return 3 * x * x

        def backward(ctx, xp, g, slope):
            return g * slope

    x = leaf([0.5, -2.0])
    y = Cube.apply(x)
    y._node.slope[...] = 100.0        # proof that a plain backward reads what the forward kept
    g, = cr.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [100.0, 100.0])
    g, = cr.grad(Cube.apply(x).sum(), x, create_graph=True)     # recomputed: 3x^2, then 6x
    np.testing.assert_allclose(g.detach().numpy(), [0.75, 12.0])
    gg, = cr.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [3.0, -12.0])
    assert gradcheck(Cube.apply, (x,)) and gradgradcheck(Cube.apply, (x,))


def test_a_kept_value_the_forward_did_not_set_or_cannot_recompute_is_an_error():
    from chainrule.autograd.op import Op

    class Forgets(Op):
        name = "test_forgets_kept"
        save = ("twice",)

        def forward(ctx, xp, x):
            return x * 2

        def twice(ctx, xp, x):
            return 2 * x

        def backward(ctx, xp, g, twice):
            return g * 2

    with pytest.raises(RuntimeError, match=r"Forgets.forward did not set ctx.twice"):
        Forgets.apply(leaf([1.0])).sum().backward()
    with pytest.raises(TypeError, match="not array arguments of its forward"):
        class Wrong(Op):
            name = "test_wrong_kept"
            save = ("k",)

            def forward(ctx, xp, x):
                return x

            def k(ctx, xp, y):
                return y

            def backward(ctx, xp, g, k):
                return g


def test_a_replay_traceback_shows_the_generated_line():
    import linecache
    import traceback

    lin = nn.Linear(3, 2)
    step = cr.compile(lambda x: lin(x).sum())
    x = cr.randn(4, 3)
    for _ in range(3):
        step(x)
    prog = next(p for p in step._compiled.cache.values() if not isinstance(p, (str, tuple)))
    fn = prog.run
    src = linecache.getlines(fn.__code__.co_filename)
    assert src and "def replay(args):" in src[0]
    bad = cr.randn(4, 5)                             # break the forward inside the replay
    with pytest.raises(Exception) as info:
        fn((bad,))
    text = "".join(traceback.format_exception(info.value))
    assert "cr.compile replay" in text and "F0(c0, XP" in text
