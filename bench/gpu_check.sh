#!/usr/bin/env bash
# The GPU check in one prepared run: the device, `caffe time` for every full-size net, CPU/GPU
# agreement of the deploy nets, and the default model's recipe trained for the minutes left.
#
#   bench/gpu_check.sh --prepare          # here: .gpu/{photos,wheels,gpu-bundle.tar.xz}, size checked
#   bench/gpu_check.sh                    # on the GPU machine (9 minutes): results in $OUT
#   bench/gpu_check.sh --cpu --minutes 1  # here, on the CPU, tiny counts: checks the script
#   bench/gpu_check.sh --prepare --short-side 160 --quality 75   # here, for the squeeze recipe
#   bench/gpu_check.sh --recipe squeeze --steps train   # the default family's training (gpu_squeeze.py)
#
# Options (bench/gpu_check.py --help has them all): --cpu, --minutes N, --bundle DIR,
# --photos DIR, --wheels DIR, --recipe lite|squeeze, --trunk FILE, -o DIR. Results:
# gpu_check.json and gpu_check.md, the training logs and the weights (trained_*.caffemodel) in
# the output folder.
# With the device tool: carry .gpu, and run `bench/gpu_check.sh` with timeout_s 600.
set -Eeuo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The device machine has no `make setup` (no editable install): the checkout is the package.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "gpu_check: error: no $python on PATH" >&2; exit 2; }
exec "$python" bench/gpu_check.py "$@"
