#!/bin/bash
# `caffe time` forward/backward per iteration for every full and lite train_val net on this
# machine, recorded in bench/RESULTS.md. Needs the datasets the nets read (make lmdb lmdb-bgr).
#   bench/bench_nets.sh [ITERATIONS]   (default 3; full nets are slow on a CPU)
# Run it on an otherwise idle machine: the numbers are wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-3}"
logs=logs/bench
mkdir -p "$logs"
nets=(color_lite color fcn_lite fcn lab313_lite lab313)
for net in "${nets[@]}"; do
    echo "caffe time: $net ($iterations iterations)" >&2
    GLOG_minloglevel=0 GLOG_logtostderr=1 caffe time -model "prototxt/train_val_$net.prototxt" \
        -iterations "$iterations" > "$logs/$net.log" 2>&1 \
        || { echo "caffe time failed for $net: see $logs/$net.log" >&2; exit 1; }
done
python3 bench/caffe_time.py $(printf "$logs/%s.log " "${nets[@]}") --section "bench_nets: caffe time per net" \
    --note "$iterations timed iterations per net after one warm-up; train_val nets as generated."
