"""The progress bar callback: a live bar per epoch on a terminal, one summary line per epoch."""
from __future__ import annotations

import sys
import time

from .callbacks import Callback

__all__ = ["ProgressBar"]


def _fmt(logs, skip=("epoch", "batch", "size", "time", "batch_loss")):
    parts = []
    for k, v in logs.items():
        if k in skip or "/" in k:      # per-layer monitor keys stay out of the bar
            continue
        if isinstance(v, float):
            parts.append(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}")
        else:
            parts.append(f"{k} {v}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A live progress bar per epoch, then one summary line per epoch.

    Uses ``tqdm`` when installed, else a single ``\\r``-redrawn line on ``file`` (stderr).  When
    ``file`` is not a terminal (or ``verbose=2``) only the per-epoch line is written;
    ``verbose=0`` writes nothing.
    """

    def __init__(self, verbose=1, file=None, min_interval=0.1, width=24):
        self.verbose, self.file = int(verbose), file
        self.min_interval, self.width = float(min_interval), int(width)
        self._live = False
        self._tqdm = None

    def _out(self):
        return self.file if self.file is not None else sys.stderr

    @property
    def wants_batches(self):
        return self._live

    def on_train_begin(self, logs=None):
        out = self._out()
        isatty = getattr(out, "isatty", None)
        self._live = self.verbose == 1 and bool(isatty and isatty())
        self._use_tqdm = False
        if self._live:
            try:
                import tqdm  # noqa: F401
                self._use_tqdm = True
            except ImportError:
                pass

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._t0, self._last = epoch, time.perf_counter(), 0.0
        if self._live and self._use_tqdm:
            from tqdm import tqdm
            self._tqdm = tqdm(total=self.params.get("steps"), file=self._out(), leave=False,
                              desc=self._title(), dynamic_ncols=True)

    def _title(self):
        return f"Epoch {self._epoch + 1}/{self.params.get('epochs', '?')}"

    def on_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        steps = self.params.get("steps") or 0
        if now - self._last < self.min_interval and batch + 1 != steps:
            if self._tqdm is not None:
                self._tqdm.update(1)
            return
        self._last = now
        if self._tqdm is not None:
            self._tqdm.update(1)
            self._tqdm.set_postfix_str(_fmt(logs or {}), refresh=False)
            return
        done = min(batch + 1, steps) if steps else batch + 1
        filled = int(self.width * done / steps) if steps else 0
        bar = "=" * filled + "." * (self.width - filled)
        out = self._out()
        out.write(f"\r{self._title()} [{bar}] {done}/{steps or '?'}  {_fmt(logs or {})}\x1b[K")
        out.flush()

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 0:
            return
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        out = self._out()
        secs = (logs or {}).get("time", time.perf_counter() - self._t0)
        line = f"{self._title()}  {secs:.2f}s  {_fmt(logs or {})}"
        out.write(("\r" + line + "\x1b[K\n") if self._live and not self._use_tqdm else line + "\n")
        out.flush()

    def close(self):
        """Ends a half-drawn line (called by ``fit`` when training is interrupted)."""
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        elif self._live:
            self._out().write("\n")
