"""Op-table rows for convolution, pooling, normalisation and padding (issue 13).

Imported by tests/test_ops_table.py, which runs every row through gradcheck, gradgradcheck
(float64), the PyTorch comparison (rtol 1e-7) and the float32 check, and by
tests/test_ops_edge_cases.py, which runs every BAD row through its error check.  ``m`` is
``chainrule`` or ``torch``; ``m.nn.functional`` is F in both.
"""
from __future__ import annotations

import chainrule as cr


def F(m):
    return m.nn.functional


def _f(name, **kw):
    return lambda m, *a: getattr(F(m), name)(*a, **kw)


X2 = (2, 4, 6, 5)
CONV = [
    # name, kwargs, input shapes (x, w[, b])
    ("conv2d", {}, [(X2, (3, 4, 3, 3), (3,)), ((1, 2, 4, 4), (2, 2, 2, 3))]),
    ("conv2d", dict(stride=2, padding=1), [(X2, (3, 4, 3, 2), (3,))]),
    ("conv2d", dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1)), [(X2, (2, 4, 2, 2))]),
    ("conv2d", dict(groups=2), [(X2, (4, 2, 2, 2), (4,))]),
    ("conv2d", dict(groups=4), [(X2, (4, 1, 3, 3))]),                     # depthwise
    ("conv2d", dict(padding="same"), [(X2, (3, 4, 2, 3), (3,))]),        # asymmetric 'same'
    ("conv2d", dict(padding="same", dilation=2), [(X2, (2, 4, 3, 2))]),
    ("conv2d", dict(padding="valid"), [(X2, (2, 4, 3, 3))]),
    ("conv1d", {}, [((2, 3, 7), (4, 3, 3), (4,))]),
    ("conv1d", dict(stride=2, padding=1, dilation=2, groups=3), [((2, 3, 9), (6, 1, 2))]),
    ("conv1d", dict(padding="same"), [((2, 3, 7), (2, 3, 4))]),
    ("conv_transpose2d", {}, [((2, 3, 3, 4), (3, 2, 2, 2), (2,))]),
    ("conv_transpose2d", dict(stride=2, padding=1, output_padding=1),
     [((2, 3, 3, 3), (3, 2, 3, 3), (2,))]),
    ("conv_transpose2d", dict(stride=(2, 1), groups=3, dilation=(1, 2)),
     [((1, 3, 3, 3), (3, 1, 2, 2))]),
]
POOL = [
    ("max_pool2d", dict(kernel_size=2), [(X2,)]),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), [((2, 2, 7, 6),)]),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=1, dilation=(2, 1)), [(X2,)]),
    ("max_pool1d", dict(kernel_size=3, stride=2, padding=1), [((2, 3, 8),)]),
    ("max_pool1d", dict(kernel_size=2, ceil_mode=True), [((2, 3, 7),)]),
    ("avg_pool2d", dict(kernel_size=2), [(X2,)]),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), [((2, 2, 8, 7),)]),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False), [((2, 2, 7, 6),)]),
    ("avg_pool2d", dict(kernel_size=2, divisor_override=3), [(X2,)]),
    ("avg_pool1d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
     [((2, 3, 8),)]),
    ("adaptive_avg_pool2d", dict(output_size=(3, 2)), [(X2,)]),
    ("adaptive_avg_pool2d", dict(output_size=(4, 3)), [((2, 2, 7, 5),)]),    # unequal windows
    ("adaptive_avg_pool2d", dict(output_size=1), [(X2,)]),
    ("adaptive_avg_pool1d", dict(output_size=3), [((2, 3, 7),)]),
    ("adaptive_max_pool2d", dict(output_size=(3, 2)), [((2, 2, 7, 5),)]),
    ("adaptive_max_pool2d", dict(output_size=(2, 1)), [(X2,)]),
]


def _bn(m, x, w, b):
    return F(m).batch_norm(x, None, None, w, b, training=True)


def _bn_eval(m, x, w, b):
    rm = m.linspace(-0.5, 0.5, x.shape[1], dtype=x.dtype)
    rv = m.linspace(0.5, 1.5, x.shape[1], dtype=x.dtype)
    return F(m).batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)


def rows(Row):
    out = []
    for i, (name, kw, shapes) in enumerate(CONV + POOL):
        dom = "distinct" if "max" in name else "real"
        out.append(Row(f"{name}_{i}", _f(name, **kw), shapes, dom))
    out += [
        Row("batch_norm_train", _bn, [((4, 3, 2, 2), (3,), (3,)), ((5, 2), (2,), (2,)),
                                      ((3, 2, 4), (2,), (2,))]),
        Row("batch_norm_eval", _bn_eval, [((4, 3, 2, 2), (3,), (3,))]),
        Row("batch_norm_no_affine", lambda m, x: F(m).batch_norm(x, None, None,
                                                                 training=True, eps=1e-3),
            [((4, 3, 2, 2),)]),
        Row("layer_norm", lambda m, x, w, b: F(m).layer_norm(x, (3, 2), w, b),
            [((4, 3, 2), (3, 2), (3, 2)), ((2, 5, 3, 2), (3, 2), (3, 2))]),
        Row("layer_norm_plain", lambda m, x: F(m).layer_norm(x, (4,), eps=1e-3), [((3, 4),)]),
        Row("group_norm", lambda m, x, w, b: F(m).group_norm(x, 2, w, b),
            [((3, 4, 2, 3), (4,), (4,)), ((3, 6, 5), (6,), (6,))]),
        Row("pad_reflect", lambda m, x: F(m).pad(x, (1, 2, 2, 1), mode="reflect"),
            [((2, 3, 4, 5),)]),
        Row("pad_replicate", lambda m, x: F(m).pad(x, (2, 1, 0, 3), mode="replicate"),
            [((2, 3, 4, 5),)]),
        Row("pad_replicate_1d", lambda m, x: F(m).pad(x, (2, 3), mode="replicate"),
            [((2, 3, 4),)]),
        Row("pad_circular", lambda m, x: F(m).pad(x, (1, 2), mode="circular"), [((2, 3, 4),)]),
        Row("pad_constant_F", lambda m, x: F(m).pad(x, (1, 1, 0, 2), value=0.5),
            [((2, 3, 4),)]),
        # composition: conv -> relu -> pool -> norm is one chain of nodes
        Row("conv_relu_pool", lambda m, x, w: F(m).max_pool2d(F(m).relu(
            F(m).conv2d(x, w, padding=1)), 2), [(X2, (3, 4, 3, 3))], "nonzero"),
    ]
    return out


def _t(*shape, dtype=cr.float64):
    return cr.ones(*shape, dtype=dtype)


_F = cr.nn.functional
BAD = [
    ("conv2d_channels", lambda: _F.conv2d(_t(2, 1, 5, 5), _t(4, 3, 3, 3)), RuntimeError,
     ["(4, 3, 3, 3)", "(2, 1, 5, 5)", "(N, 3, H, W)"]),
    ("conv2d_groups_channels", lambda: _F.conv2d(_t(2, 4, 5, 5), _t(4, 1, 3, 3), groups=2),
     RuntimeError, ["groups=2", "(N, 2, H, W)", "(2, 4, 5, 5)"]),
    ("conv2d_groups_divide", lambda: _F.conv2d(_t(2, 4, 5, 5), _t(3, 2, 3, 3), groups=2),
     ValueError, ["groups=2", "out_channels=3"]),
    ("conv2d_too_small", lambda: _F.conv2d(_t(1, 1, 2, 2), _t(1, 1, 3, 3)), ValueError,
     ["(1, 1, 2, 2)", "3x3", "too small"]),
    ("conv2d_bias_shape", lambda: _F.conv2d(_t(1, 1, 4, 4), _t(2, 1, 3, 3), _t(3)),
     RuntimeError, ["(2,)", "(3,)"]),
    ("conv2d_dtype", lambda: _F.conv2d(_t(1, 1, 4, 4, dtype=cr.float32), _t(2, 1, 3, 3)),
     RuntimeError, ["float32", "float64"]),
    ("conv2d_same_stride", lambda: _F.conv2d(_t(1, 1, 4, 4), _t(2, 1, 3, 3), stride=2,
                                             padding="same"), ValueError, ["same", "stride"]),
    ("conv2d_bad_padding", lambda: _F.conv2d(_t(1, 1, 4, 4), _t(2, 1, 3, 3), padding="full"),
     ValueError, ["'full'"]),
    ("conv2d_stride_0", lambda: _F.conv2d(_t(1, 1, 4, 4), _t(2, 1, 3, 3), stride=0),
     ValueError, ["stride", ">= 1"]),
    ("conv2d_3d_input", lambda: _F.conv2d(_t(1, 4, 4), _t(2, 1, 3, 3)), RuntimeError,
     ["(1, 4, 4)"]),
    ("conv2d_int", lambda: _F.conv2d(cr.ones(1, 1, 4, 4, dtype=cr.int64), _t(2, 1, 3, 3)),
     TypeError, ["input", "int64"]),
    ("conv1d_channels", lambda: _F.conv1d(_t(2, 3, 5), _t(4, 2, 3)), RuntimeError,
     ["(N, 2, L)", "(2, 3, 5)"]),
    ("conv_transpose2d_channels", lambda: _F.conv_transpose2d(_t(2, 3, 4, 4), _t(2, 3, 3, 3)),
     RuntimeError, ["(N, 2, H, W)", "(2, 3, 4, 4)"]),
    ("conv_transpose2d_output_padding", lambda: _F.conv_transpose2d(
        _t(1, 2, 3, 3), _t(2, 2, 3, 3), stride=1, output_padding=1), ValueError,
     ["output_padding", "stride"]),
    ("max_pool2d_3d", lambda: _F.max_pool2d(_t(2, 3, 4), 2), RuntimeError, ["(2, 3, 4)"]),
    ("max_pool2d_too_small", lambda: _F.max_pool2d(_t(1, 1, 1, 1), 2), ValueError,
     ["(1, 1, 1, 1)", "too small"]),
    ("max_pool2d_pad_half", lambda: _F.max_pool2d(_t(1, 1, 4, 4), 2, padding=2), ValueError,
     ["padding", "half"]),
    ("avg_pool2d_divisor", lambda: _F.avg_pool2d(_t(1, 1, 4, 4), 2, divisor_override=0),
     ValueError, ["divisor_override"]),
    ("adaptive_bad_size", lambda: _F.adaptive_avg_pool2d(_t(1, 1, 4, 4), (1, 2, 3)),
     TypeError, ["output_size"]),
    ("batch_norm_shape", lambda: _F.batch_norm(_t(2, 3, 4), _t(4), _t(4)), RuntimeError,
     ["running_mean", "(3,)", "(4,)"]),
    ("batch_norm_one_value", lambda: _F.batch_norm(_t(1, 3), None, None, training=True),
     ValueError, ["more than 1 value", "(1, 3)"]),
    ("layer_norm_shape", lambda: _F.layer_norm(_t(2, 3), (4,)), RuntimeError,
     ["(4,)", "(2, 3)"]),
    ("group_norm_groups", lambda: _F.group_norm(_t(2, 3, 4), 2), RuntimeError,
     ["2 groups", "(2, 3, 4)"]),
    ("pad_reflect_big", lambda: _F.pad(_t(1, 3), (3, 0), mode="reflect"), ValueError,
     ["(3, 0)", "size 3"]),
    ("pad_mode", lambda: _F.pad(_t(1, 3), (1, 0), mode="mirror"), NotImplementedError,
     ["'mirror'"]),
    ("dropout2d_p", lambda: _F.dropout2d(_t(1, 2, 3, 3), 1.5), ValueError, ["1.5"]),
]
