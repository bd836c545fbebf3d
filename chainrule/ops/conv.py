"""Convolution primitives: one node per convolution, windows gathered once, one GEMM.

Storage is channels-last (NHWC) behind an NCHW view: the windows of an NHWC array are copied
once into a ``(groups, N*Ho*Wo, kh*kw*C/groups)`` matrix whose rows read contiguous channel runs,
and one batched ``matmul`` with the weight gives the output, returned as an NCHW view of NHWC
memory.  Elementwise ops and pooling keep that layout, so the next convolution reads it without
a transposing copy.

Three ops close the family under differentiation (as PyTorch's convolution double backward):

* ``conv2d(x, w)``                       y = x (*) w
* ``conv2d_input_grad(g, w)``            the adjoint of x -> conv2d(x, w)   (conv_transpose2d)
* ``conv2d_weight_grad(x, g)``           the adjoint of w -> conv2d(x, w)

Each backward is written with the other two, so second derivatives come from the same code.
``conv1d`` is ``conv2d`` on a height-1 image.
"""
from __future__ import annotations

from ..autograd.op import Op
from .kernels import accelerated


def _geometry(ctx, stride, padding, dilation, groups):
    ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def _nhwc(xp, x, padding):
    """x (N, C, H, W) as NHWC, zero padded by ``padding = (top, bottom, left, right)``."""
    xt = x.transpose(0, 2, 3, 1)
    if not any(padding):
        return xt
    n, h, w, c = xt.shape
    pt, pb, pl, pr = padding
    out = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    out[:, pt:pt + h, pl:pl + w] = xt
    return out


def conv_windows(xp, x, ksize, stride, padding, dilation, groups):
    """The windows of x as one (G, N*Ho*Wo, kh*kw*Cg) matrix (one copy) and (Ho, Wo)."""
    kh, kw = ksize
    (sh, sw), (dh, dw) = stride, dilation
    xt = _nhwc(xp, x, padding)
    win = xp.lib.stride_tricks.sliding_window_view(
        xt, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    win = win[:, ::sh, ::sw, :, ::dh, ::dw]                  # (N, Ho, Wo, C, kh, kw)
    n, ho, wo, c = win.shape[:4]
    win = win.reshape(n, ho, wo, groups, c // groups, kh, kw)
    cols = xp.ascontiguousarray(win.transpose(3, 0, 1, 2, 5, 6, 4))   # (G, N, Ho, Wo, kh, kw, Cg)
    return cols.reshape(groups, n * ho * wo, kh * kw * (c // groups)), (ho, wo)


@accelerated
def conv_scatter_windows(xp, dcols, in_shape, ksize, stride, padding, dilation, out_hw):
    """The adjoint of ``conv_windows``: window gradients (G, N*Ho*Wo, kh*kw*Cg) added back onto
    an (N, C, H, W) input (an NCHW view of NHWC memory), one slice-add per kernel offset."""
    n, c, h, wd = in_shape
    groups = dcols.shape[0]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = ksize, stride, dilation, out_hw
    pt, pb, pl, pr = padding
    dcols = dcols.reshape(groups, n, ho, wo, kh, kw, c // groups).transpose(1, 2, 3, 4, 5, 0, 6)
    buf = xp.zeros((n, h + pt + pb, wd + pl + pr, groups, c // groups), dtype=dcols.dtype)
    for i in range(kh):        # never a Python loop per window
        for j in range(kw):
            buf[:, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                j * dw:j * dw + sw * (wo - 1) + 1:sw] += dcols[:, :, :, i, j]
    gx = buf[:, pt:pt + h, pl:pl + wd].reshape(n, h, wd, c)
    return gx.transpose(0, 3, 1, 2)


def _wmat(w, groups):
    """Weight (O, Cg, kh, kw) as (G, O/G, kh*kw*Cg), the column order of ``conv_windows``."""
    o, cg, kh, kw = w.shape
    return w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 1, 3, 4, 2).reshape(
        groups, o // groups, kh * kw * cg)


def _gmat(g, groups):
    """An output gradient (N, O, Ho, Wo) as (G, N*Ho*Wo, O/G)."""
    n, o, ho, wo = g.shape
    gm = g.transpose(0, 2, 3, 1).reshape(n * ho * wo, groups, o // groups)
    return gm.transpose(1, 0, 2)


def _mm(a, b):
    """Batched ``a @ b`` over groups with BLAS: NumPy's matmul takes a slow non-BLAS loop for
    strided 3-D operands, so one group is a 2-D product and several are made contiguous."""
    if a.shape[0] == 1:
        return (_blasable(a[0]) @ _blasable(b[0]))[None]
    return _blasable(a) @ _blasable(b)


def _blasable(a):
    if a.flags.c_contiguous or (a.ndim == 2 and a.flags.f_contiguous):
        return a
    return a.copy()


def _to_nchw(y, n, ho, wo):
    """(G, M, Og) GEMM result as an NCHW view of NHWC memory."""
    g, m, og = y.shape
    y = y[0] if g == 1 else y.transpose(1, 0, 2).reshape(m, g * og)
    return y.reshape(n, ho, wo, g * og).transpose(0, 3, 1, 2)


def _weight_grad(cols, g, w_shape, groups):
    """dL/dw from the window matrix and the output gradient, as (O, Cg, kh, kw)."""
    o, cg, kh, kw = w_shape
    # cols^T @ g, not g^T @ cols: OpenBLAS is ~50x slower on the (Og, M) @ (M, K) form
    gwt = _mm(cols.transpose(0, 2, 1), _gmat(g, groups))          # (G, K, Og)
    gw = gwt.reshape(groups, kh, kw, cg, o // groups).transpose(0, 4, 3, 1, 2)
    return gw.reshape(o, cg, kh, kw)


class Conv2d(Op):
    """2-D cross-correlation ``y[n,o] = sum_c x[n,c] (*) w[o,c] (+ b[o])``."""
    name = "conv2d"
    save = ("x", "w")

    def forward(ctx, xp, x, w, b=None, *, stride, padding, dilation, groups):
        _geometry(ctx, stride, padding, dilation, groups)
        cols, (ho, wo) = conv_windows(xp, x, w.shape[2:], stride, padding, dilation, groups)
        y = _mm(cols, _wmat(w, groups).transpose(0, 2, 1))
        # The window matrix is handed to conv2d_weight_grad as a constant cache of windows(x),
        # so the weight gradient needs no second window copy; the version check on the saved
        # x guarantees the cache still equals windows(x)
        ctx.cols = cols
        if b is not None:          # fused: added to the fresh GEMM output in place
            y += b.reshape(groups, 1, -1)
        return _to_nchw(y, x.shape[0], ho, wo)

    def backward(ctx, xp, g, x, w):
        need = ctx.needs_input_grad
        p = dict(stride=ctx.stride, padding=ctx.padding, dilation=ctx.dilation,
                 groups=ctx.groups)
        gx = xp.conv2d_input_grad(g, w, in_shape=tuple(x.shape), **p) if need[0] else None
        gw = None
        if need[1]:
            gw = xp.conv2d_weight_grad(x, g, w_shape=tuple(w.shape), cols=ctx.cols, **p)
        if len(need) == 2:
            return gx, gw
        return gx, gw, (xp.conv_bias_grad(g) if need[2] else None)


class ConvBiasGrad(Op):
    """The adjoint of adding a per-channel bias: ``g`` summed over all but its channel axis.

    For a channels-last ``g`` (what a convolution leaves) the sum is one BLAS product
    ``ones @ g`` of the (N*H*W, C) matrix, about 10x faster at LeNet's shapes than NumPy's
    reduction over axes (0, 2, 3); others reduce with NumPy."""
    name = "conv_bias_grad"

    def forward(ctx, xp, g):
        ctx.shape = g.shape
        gt = g.transpose(0, 2, 3, 1)
        if gt.flags.c_contiguous:
            m = gt.reshape(-1, g.shape[1])
            return xp.ones(m.shape[0], dtype=g.dtype) @ m
        return g.sum(axis=(0, 2, 3))

    def backward(ctx, xp, gb):
        return xp.broadcast_to(xp.reshape(gb, (1, -1, 1, 1)), ctx.shape)


class Conv2dInputGrad(Op):
    """The adjoint of ``x -> conv2d(x, w)``: scatter-adds ``g @ w`` back over the windows."""
    name = "conv2d_input_grad"
    save = ("g", "w")

    def forward(ctx, xp, g, w, *, in_shape, stride, padding, dilation, groups):
        _geometry(ctx, stride, padding, dilation, groups)
        ctx.in_shape = in_shape
        dcols = _mm(_gmat(g, groups), _wmat(w, groups))          # (G, M, K)
        return conv_scatter_windows(xp, dcols, in_shape, w.shape[2:], stride, padding,
                                    dilation, g.shape[2:])

    def backward(ctx, xp, gg, g, w):
        need = ctx.needs_input_grad
        p = dict(stride=ctx.stride, padding=ctx.padding, dilation=ctx.dilation,
                 groups=ctx.groups)
        dg = xp.conv2d(gg, w, **p) if need[0] else None
        dw = xp.conv2d_weight_grad(gg, g, w_shape=tuple(w.shape), **p) if need[1] else None
        return dg, dw


class Conv2dWeightGrad(Op):
    """The adjoint of ``w -> conv2d(x, w)``: ``g^T @ windows(x)`` as one GEMM."""
    name = "conv2d_weight_grad"
    save = ("x", "g")

    def forward(ctx, xp, x, g, *, w_shape, stride, padding, dilation, groups, cols=None):
        # cols: windows(x) when the caller already has them (a cache, not an input: this op's
        # derivative with respect to x is written below, not through it)
        _geometry(ctx, stride, padding, dilation, groups)
        if cols is None:
            cols, _ = conv_windows(xp, x, w_shape[2:], stride, padding, dilation, groups)
        return _weight_grad(cols, g, w_shape, groups)

    def backward(ctx, xp, gw, x, g):
        need = ctx.needs_input_grad
        p = dict(stride=ctx.stride, padding=ctx.padding, dilation=ctx.dilation,
                 groups=ctx.groups)
        dx = xp.conv2d_input_grad(g, gw, in_shape=tuple(x.shape), **p) if need[0] else None
        dg = xp.conv2d(x, gw, **p) if need[1] else None
        return dx, dg


# ---------------------------------------------------------------------------------------------
# wrappers: PyTorch's arguments, checked, with errors that name both shapes
# ---------------------------------------------------------------------------------------------
def _tuple(v, n, what, opname, minimum=0):
    t = (v,) * n if isinstance(v, int) else tuple(v)
    if len(t) != n or not all(isinstance(i, int) and not isinstance(i, bool) for i in t):
        raise TypeError(f"{opname}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    if any(i < minimum for i in t):
        raise ValueError(f"{opname}: {what} must be >= {minimum}, got {v!r}")
    return t


def _check_tensor(x, name, opname):
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{opname}: {name} must be a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{opname}: {name} must be floating point, got {x._data.dtype}")


def _same_dtypes(opname, *ts):
    dts = {t._data.dtype for t in ts if t is not None}
    if len(dts) > 1:
        raise RuntimeError(f"{opname}: input, weight and bias must have one dtype, got "
                           f"{', '.join(str(t._data.dtype) for t in ts if t is not None)}")


def conv_padding(padding, ksize, dilation, stride, opname):
    """PyTorch's padding argument as (top, bottom, left, right) for a 2-D geometry."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"{opname}: padding must be 'same', 'valid', an int or a tuple, "
                             f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{opname}: padding='same' is not supported for strided "
                             f"convolutions (stride {stride})")
        out = []
        for k, d in zip(ksize, dilation):
            total = d * (k - 1)
            out += [total // 2, total - total // 2]
        return tuple(out)
    ph, pw = _tuple(padding, 2, "padding", opname)
    return (ph, ph, pw, pw)


def _conv_checks(x, weight, bias, groups, opname, spatial=2):
    _check_tensor(x, "input", opname)
    _check_tensor(weight, "weight", opname)
    if bias is not None:
        _check_tensor(bias, "bias", opname)
    _same_dtypes(opname, x, weight, bias)
    if weight.ndim != spatial + 2:
        raise RuntimeError(f"{opname}: weight must be {spatial + 2}-D (out_channels, "
                           f"in_channels/groups, kernel...), got {tuple(weight.shape)}")
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise ValueError(f"{opname}: groups={groups!r} must be a positive int dividing "
                         f"out_channels={weight.shape[0]}")
    cin = weight.shape[1] * groups
    want = "(N, C, H, W)" if spatial == 2 else "(N, C, L)"
    if x.ndim != spatial + 2 or x.shape[1] != cin:
        want = want.replace("C", str(cin))
        raise RuntimeError(f"{opname}: weight {tuple(weight.shape)} with groups={groups} "
                           f"expects input {want}, got {tuple(x.shape)}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"{opname}: bias must have shape ({weight.shape[0]},), got "
                           f"{tuple(bias.shape)}")


def out_size(n, k, s, p0, p1, d):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    Example::

        y = F.conv2d(x, w, b, stride=1, padding=1)   # x (N, C, H, W), w (O, C, 3, 3)
    """
    opname = "conv2d"
    _conv_checks(input, weight, bias, groups, opname)
    stride = _tuple(stride, 2, "stride", opname, 1)
    dilation = _tuple(dilation, 2, "dilation", opname, 1)
    ks = tuple(weight.shape[2:])
    pad = conv_padding(padding, ks, dilation, stride, opname)
    h, w = input.shape[2:]
    ho = out_size(h, ks[0], stride[0], pad[0], pad[1], dilation[0])
    wo = out_size(w, ks[1], stride[1], pad[2], pad[3], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"{opname}: input {tuple(input.shape)} is too small for kernel "
                         f"{ks[0]}x{ks[1]} (padding {pad}, dilation {dilation}): the output "
                         f"would be {ho}x{wo}")
    args = (input, weight) if bias is None else (input, weight, bias)
    return Conv2d.apply(*args, stride=stride, padding=pad, dilation=dilation, groups=groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution, as ``torch.nn.functional.conv1d``: ``conv2d`` on a height-1 image."""
    opname = "conv1d"
    _conv_checks(input, weight, bias, groups, opname, spatial=1)
    (s,), (d,) = _tuple(stride, 1, "stride", opname, 1), _tuple(dilation, 1, "dilation",
                                                                opname, 1)
    if isinstance(padding, str):
        pad = padding
    else:
        (p,) = _tuple(padding, 1, "padding", opname)
        pad = (0, p)
    x2 = input.unsqueeze(2)
    w2 = weight.unsqueeze(2)
    y = conv2d(x2, w2, bias, (1, s), pad, (1, d), groups)
    return y.squeeze(2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    The gradient of ``conv2d`` with respect to its input; weight is (C_in, C_out/groups, kh, kw).
    """
    opname = "conv_transpose2d"
    for t, nm in ((input, "input"), (weight, "weight")):
        _check_tensor(t, nm, opname)
    if bias is not None:
        _check_tensor(bias, "bias", opname)
    _same_dtypes(opname, input, weight, bias)
    if weight.ndim != 4 or input.ndim != 4 or input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"{opname}: weight {tuple(weight.shape)} expects input "
                           f"(N, {weight.shape[0] if weight.ndim == 4 else 'C'}, H, W), got "
                           f"{tuple(input.shape)}")
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise ValueError(f"{opname}: groups={groups!r} must divide in_channels="
                         f"{weight.shape[0]}")
    stride = _tuple(stride, 2, "stride", opname, 1)
    dilation = _tuple(dilation, 2, "dilation", opname, 1)
    ph, pw = _tuple(padding, 2, "padding", opname)
    oph, opw = _tuple(output_padding, 2, "output_padding", opname)
    if oph >= max(stride[0], dilation[0]) or opw >= max(stride[1], dilation[1]):
        raise ValueError(f"{opname}: output_padding {(oph, opw)} must be smaller than stride "
                         f"{stride} or dilation {dilation}")
    n, _, hi, wi = input.shape
    kh, kw = weight.shape[2:]
    ho = (hi - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    wo = (wi - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{opname}: input {tuple(input.shape)} with padding {(ph, pw)} gives "
                         f"an empty output {ho}x{wo}")
    cout = weight.shape[1] * groups
    y = Conv2dInputGrad.apply(input, weight, in_shape=(n, cout, ho, wo), stride=stride,
                              padding=(ph, ph, pw, pw), dilation=dilation, groups=groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y
