#!/usr/bin/env bash
# The full benchmark behind docs/performance.md: every task, real MNIST digits tiled to 60,000
# samples (random data when ../shared is absent).  About 25 minutes on 2 cores; run it on an
# otherwise idle machine, since a second busy process distorts multi-threaded BLAS timings.
#   bash bench/run_full.sh [OUT_DIR]     (default docs/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/bench}
data=${DATA_DIR:-../shared/datasets/mnist-test}
mkdir -p "$out"
dd=(); [ -d "$data" ] && dd=(--data-dir "$data")
py() { python bench/bench_mlp.py "$@" "${dd[@]}"; }
py --task train --batch-size 128 32 --optimizer sgd adam --repeats 15 \
   --systems numpy chainrule chainrule-compiled torch torch-dataloader sklearn --json "$out/train.json" | tee "$out/train.txt"
py --task inference --repeats 31 --systems numpy chainrule chainrule-compiled torch --json "$out/inference.json" | tee "$out/inference.txt"
py --task overhead --repeats 7 --systems chainrule torch --json "$out/overhead.json" | tee "$out/overhead.txt"
py --task memory --systems numpy chainrule torch sklearn --json "$out/memory.json" | tee "$out/memory.txt"
py --task scaling --n 12000 --repeats 9 --batch-size 128 --optimizer sgd --systems numpy chainrule chainrule-compiled torch \
   --min-time 10 --max-repeats 40 --plot "$out/scaling.png" --json "$out/scaling.json" | tee "$out/scaling.txt"
