#!/usr/bin/env bash
# Collect the CUDA `caffe` binary (from `make setup GPU=1`) and the shared libraries it needs that
# a stock CUDA 13 machine lacks into one folder, for a GPU machine with no package registry:
#
#   tools/make_gpu_bundle.sh [OUTPUT_DIR]          (default: out/gpu-bundle; `make gpu-bundle`)
#   # on the GPU machine, from a colornet checkout with its data:
#   LD_LIBRARY_PATH=/path/to/gpu-bundle/lib /path/to/gpu-bundle/bin/caffe train -gpu 0 \
#       --solver prototxt/solver_color.prototxt
#
# Left out on purpose: glibc's own libraries and the CUDA libraries (cudart, cuBLAS, cuRAND,
# NCCL: 344 MB), which the target machine has (a PyTorch install brings them all), and the driver
# (libcuda). OpenBLAS is swapped for the reference BLAS (see below). Python is not needed for the
# YUV-64 nets (no Python layers); libpython is bundled only because the binary links it.
set -Eeuo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
[[ ${1:-} != -* ]] || { printf 'gpu-bundle: error: unknown option %s (usage: %s [OUTPUT_DIR])\n' "$1" "$0" >&2; exit 2; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${CAFFE_PREFIX:-/opt/colornet/caffe-gpu}
output=${1:-$repo_root/out/gpu-bundle}
limit_mb=60

die() { printf 'gpu-bundle: error: %s\n' "$*" >&2; exit 1; }
[[ -x $prefix/bin/caffe ]] || die "no CUDA Caffe in $prefix: run 'make setup GPU=1' first"
[[ -n $output && $output != / ]] || die "bad output folder '$output'"

staging="$output.partial"
rm -rf "$staging"
mkdir -p "$staging/bin" "$staging/lib"
cp -L "$prefix/bin/caffe" "$staging/bin/caffe"
# Stock on any Linux with glibc, or part of the CUDA installation / driver on the target.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libgcc_s\.so|libcuda\.so|libcudart\.so|libcublas\.so|libcublasLt\.so|libcurand\.so|libnccl\.so)'
while read -r name path; do
  [[ $name =~ $skip ]] && continue
  [[ -f $path ]] || die "ldd cannot resolve $name for $prefix/bin/caffe"
  cp -L "$path" "$staging/lib/$name"
done < <(ldd "$prefix/bin/caffe" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
# OpenBLAS is 35 MB of CPU kernels; on the GPU Caffe's matrix products run in cuBLAS and the CPU
# BLAS only serves small bookkeeping. Debian's reference BLAS (libblas3, with CBLAS, 0.5 MB)
# goes in under OpenBLAS's file name: Caffe calls only cblas_* functions, which both provide.
reference_blas=/usr/lib/x86_64-linux-gnu/blas/libblas.so.3
if [[ -f $staging/lib/libopenblas.so.0 ]]; then
  [[ -f $reference_blas ]] || die "need Debian's reference BLAS ($reference_blas) to keep the bundle small: apt-get install libblas3"
  cp -L "$reference_blas" "$staging/lib/libopenblas.so.0"
  while read -r name path; do
    [[ $name =~ $skip || -f $staging/lib/$name ]] || cp -L "$path" "$staging/lib/$name"
  done < <(ldd "$reference_blas" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
fi
# Debug symbols are most of the size and nothing the binary needs.
strip --strip-unneeded "$staging/bin/caffe" "$staging"/lib/* 2>/dev/null || true
cp -r "$repo_root/prototxt" "$staging/prototxt"
{
  echo "colornet GPU bundle: stock BVLC Caffe 1.0 with CUDA for sm_90 (+ sm_90 PTX), no cuDNN,"
  echo "made $(date +%Y-%m-%d) by tools/make_gpu_bundle.sh from $prefix."
  echo
  echo "Needs on the GPU machine: an NVIDIA driver and CUDA 13's libcudart, libcublas, libcublasLt"
  echo "and libcurand (any CUDA 13 installation), and NCCL's libnccl.so.2 (the nvidia-nccl-cu13 wheel). Everything else is in lib/. From a colornet checkout"
  echo "with its LMDBs (data/train_lmdb, data/val_lmdb):"
  echo
  echo "  export LD_LIBRARY_PATH=/path/to/gpu-bundle/lib:\$LD_LIBRARY_PATH"
  echo "  /path/to/gpu-bundle/bin/caffe device_query -gpu 0"
  echo "  /path/to/gpu-bundle/bin/caffe train -gpu 0 --solver prototxt/solver_color.prototxt"
  echo "  /path/to/gpu-bundle/bin/caffe time -gpu 0 -model prototxt/train_val_fcn.prototxt"
  echo
  echo "The YUV-64 nets (color, fcn) have no Python layers. The Lab/313 nets also need Python 3.11"
  echo "with numpy on that machine and PYTHONPATH set to the checkout."
} > "$staging/README.txt"

size_mb=$(du -sm "$staging" | cut -f1)
if (( size_mb > limit_mb )); then
  du -sh "$staging"/lib/* | sort -h | tail -n 5 >&2
  rm -rf "$staging"
  die "bundle is ${size_mb} MB, over the ${limit_mb} MB limit (largest libraries above)"
fi
# The bundle alone must resolve everything but what the target machine provides.
unresolved=$(LD_LIBRARY_PATH="$staging/lib" ldd "$staging/bin/caffe" | grep 'not found' | grep -v -E "^\s*(libcuda|libcudart|libcublas|libcurand)" || true)
if [[ -n $unresolved ]]; then
  printf '%s\n' "$unresolved" >&2
  rm -rf "$staging"
  die "the bundle misses the libraries above"
fi
rm -rf "$output"
mv "$staging" "$output"
printf 'gpu-bundle: %s (%s MB); run with LD_LIBRARY_PATH=%s/lib\n' "$output" "$size_mb" "$output" >&2
