"""L-BFGS: a quasi-Newton method that calls the closure several times per step."""
from __future__ import annotations

import numpy as np

from ..autograd.function import enable_grad, no_grad
from ..tensor import Tensor
from ._checks import _check_nonneg
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _arr(v):
    return v._data if isinstance(v, Tensor) else v


class LBFGS(Optimizer):
    r"""Limited-memory BFGS, as ``torch.optim.LBFGS`` (same iteration, same line search).

    Each :meth:`step` runs up to ``max_iter`` iterations: a search direction from the last
    ``history_size`` pairs of parameter and gradient changes (the two-loop recursion), then a
    step of ``lr`` along it, or the step a strong-Wolfe line search finds.  It stops early when
    the largest gradient entry is below ``tolerance_grad`` or the loss or the step changes by
    less than ``tolerance_change``.

    Arguments:
        params: Tensors (one group only: L-BFGS treats all parameters as one vector).
        lr: learning rate (default 1).
        max_iter: iterations per step (default 20).
        max_eval: closure calls per step (default ``max_iter * 5 // 4``).
        tolerance_grad, tolerance_change: stopping tolerances (defaults 1e-7, 1e-9).
        history_size: how many update pairs to keep (default 100).
        line_search_fn: ``None`` or ``'strong_wolfe'``.

    Returns:
        ``step(closure)`` returns the closure's first loss of the step.  The closure must zero
        the gradients, compute the loss, call ``backward()`` and return the loss.

    Example::

        opt = cr.optim.LBFGS([w], line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad(); loss = ((x @ w - y) ** 2).mean(); loss.backward(); return loss
        for _ in range(5):
            opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_nonneg("LBFGS", lr=lr)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    _numbers = ("func_evals", "n_iter", "t", "H_diag", "ro", "al", "prev_loss")

    # the parameters as one vector (C order) ----------------------------------------------------
    def _flat_grad(self):
        return np.concatenate([np.zeros(p._data.size, p._data.dtype) if p.grad is None
                               else p.grad._data.reshape(-1) for p in self._params])

    def _move(self, t, d):
        """``params += t d``."""
        off = 0
        for p in self._params:
            n = p._data.size
            p._data += t * d[off:off + n].reshape(p._data.shape)
            p._version += 1
            off += n

    def _evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are put back to ``x`` after."""
        self._move(t, d)
        loss = float(closure())
        g = self._flat_grad()
        for p, v in zip(self._params, x):
            p._data[...] = v
            p._version += 1
        return loss, g

    def step(self, closure=None):
        """One L-BFGS step (up to ``max_iter`` iterations); ``closure`` is required."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that zeroes the gradients, computes "
                               "the loss, calls backward() and returns the loss")
        with no_grad():
            return self._step(enable_grad()(closure))

    def _step(self, closure):
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        st = self.state[self._params[0]]
        st.setdefault("func_evals", 0)
        st.setdefault("n_iter", 0)
        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        st["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss
        d, t, H_diag = _arr(st.get("d")), st.get("t"), st.get("H_diag")
        dirs = [_arr(v) for v in st.get("old_dirs", [])]
        stps = [_arr(v) for v in st.get("old_stps", [])]
        ro = list(st.get("ro", []))
        prev_g, prev_loss = _arr(st.get("prev_flat_grad")), st.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d, dirs, stps, ro, H_diag = -g, [], [], [], 1
            else:
                y, s = g - prev_g, d * t
                ys = float(y @ s)
                if ys > 1e-10:              # curvature condition: keep the pair
                    if len(dirs) == history:
                        del dirs[0], stps[0], ro[0]
                    dirs.append(y)
                    stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                al = st.setdefault("al", [None] * history)
                d = _two_loop(-g, dirs, stps, ro, H_diag, al)
            prev_g = g.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if st["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:           # not a descent direction
                break
            ls_evals = 0
            if group["line_search_fn"] is not None:
                x0 = [p._data.copy() for p in self._params]
                loss, g, t, ls_evals = _strong_wolfe(
                    lambda t_: self._evaluate(closure, x0, t_, d), t, d, loss, g, gtd,
                    tol_change, max_eval - evals)
                self._move(t, d)
                converged = np.abs(g).max() <= tol_grad
            else:
                self._move(t, d)
                converged = False
                if n_iter != max_iter:       # the last iteration's loss is the next step's
                    loss = float(closure())
                    g = self._flat_grad()
                    converged = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            st["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        st.update(d=d, t=t, old_dirs=dirs, old_stps=stps, ro=ro, H_diag=H_diag,
                  prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss


def _two_loop(q, dirs, stps, ro, H_diag, al):
    """The L-BFGS direction ``-H g`` from ``q = -g`` and the kept pairs (Nocedal & Wright,
    algorithm 7.4); ``al`` is work space kept in the state, as PyTorch's."""
    for i in range(len(dirs) - 1, -1, -1):
        al[i] = float(stps[i] @ q) * ro[i]
        q -= al[i] * dirs[i]
    r = q * H_diag
    for i in range(len(dirs)):
        be_i = float(dirs[i] @ r) * ro[i]
        r += (al[i] - be_i) * stps[i]
    return r


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through ``(x1, f1)``, ``(x2, f2)`` with slopes ``g1``, ``g2``,
    clipped to ``bounds`` (default: the interval between the points); its middle when the cubic
    has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, tol_change, max_ls, c1=1e-4, c2=0.9):
    """A step ``t`` along ``d`` meeting the strong Wolfe conditions (Nocedal & Wright,
    algorithms 3.5 and 3.6: bracket, then zoom by cubic interpolation).

    Returns ``(loss, flat gradient, t, evaluations)`` at the chosen step."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = float(g_new @ d)
    prev = (0, f, g, gtd)
    done = False
    br = None
    while ls_iter < max_ls:                  # bracketing phase
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= prev[1]):
            br = [prev, (t, f_new, g_new.copy(), gtd_new)]
            break
        if abs(gtd_new) <= -c2 * gtd:
            br, done = [(t, f_new, g_new, gtd_new)], True
            break
        if gtd_new >= 0:                     # past a minimum: it lies between prev and t
            br = [prev, (t, f_new, g_new.copy(), gtd_new)]
            break
        t_next = _cubic_min(prev[0], prev[1], prev[3], t, f_new, gtd_new,
                            bounds=(t + 0.01 * (t - prev[0]), t * 10))
        prev = (t, f_new, g_new.copy(), gtd_new)
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        br = [(0, f, g, None), (t, f_new, g_new, None)]
    low, high = (0, 1) if br[0][1] <= br[-1][1] else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:     # zoom phase
        (a, fa, _, ga), (b, fb, _, gb) = br
        if abs(b - a) * d_norm < tol_change:
            break
        t = _cubic_min(a, fa, ga, b, fb, gb)
        top, bottom = max(a, b), min(a, b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:   # too close to an end: move away, or next time
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        point = (t, f_new, g_new.copy(), gtd_new)
        if f_new > f + c1 * t * gtd or f_new >= br[low][1]:
            br[high] = point
            low, high = (0, 1) if br[0][1] <= br[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[high][0] - br[low][0]) >= 0:
                br[high] = br[low]
            br[low] = point
    t, f_new, g_new, _ = br[low]
    return f_new, g_new, t, evals
