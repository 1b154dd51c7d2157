#!/usr/bin/env bash
# colornet set-up: Debian packages, pinned Python packages, and stock BVLC Caffe 1.0 built from
# Debian's `caffe` source package with the patches in tools/caffe-patches/.
#
# Usage: tools/setup_caffe.sh [--gpu]        (normally through `make setup` / `make setup GPU=1`)
#
# --gpu builds a CUDA Caffe (no cuDNN: this Caffe's cuDNN code predates cuDNN 8) for sm_90 plus
# sm_90 PTX (CUDA_ARCH_BIN to change), installed beside the CPU build (which it leaves alone)
# with a `caffe-gpu` command. It needs the CUDA compiler and cudart (CUDA_HOME, else /usr/local/cuda, else nvcc on
# PATH); cuBLAS and cuRAND come from the PyPI wheels nvidia-cublas / nvidia-curand if the toolkit
# lacks them, and NCCL (for `caffe train -gpu all`) from nvidia-nccl-cu13. It compiles and links
# without a GPU; running needs an NVIDIA driver and GPU.
#
# Environment (all optional):
#   CAFFE_PREFIX    where Caffe is installed           (default /opt/colornet/caffe-cpu, -gpu)
#   COLORNET_CACHE  downloaded source and build trees  (default /var/cache/colornet)
#   COLORNET_BINDIR where the `caffe` command goes     (default /usr/local/bin)
#   PYTHON          the interpreter Caffe is built for (default: python3 on PATH)
#
# Idempotent: a finished install carries a stamp of everything that went into it; a second run
# with the same inputs checks the stamps and exits in seconds without root.
set -Eeuo pipefail

readonly CAFFE_DEB_VERSION="1.0.0+git20180821.99bd997-8"
readonly CAFFE_DEB_SUITE="bullseye"
# cuBLAS / cuRAND wheels matching CUDA 13.0 (the major version must match the toolkit's cudart).
readonly CUDA_WHEELS=(nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35)
# NCCL for `caffe train -gpu all` (several GPUs): header and library from its PyPI wheel (305 MB).
readonly NCCL_WHEEL=nvidia-nccl-cu13==2.32.3
readonly APT_PACKAGES=(
  cmake make g++ patch dpkg-dev pkg-config
  libprotobuf-dev protobuf-compiler libboost-system-dev libboost-thread-dev
  libboost-filesystem-dev libboost-python-dev libgoogle-glog-dev libgflags-dev libhdf5-dev
  liblmdb-dev libleveldb-dev libsnappy-dev libopencv-dev libopenblas-dev
  graphviz chromium chromium-driver
)

gpu=0
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
if [[ ${1:-} == "--gpu" ]]; then
  gpu=1; shift
fi
[[ $# -eq 0 ]] || { printf 'setup: error: unknown argument %s (usage: tools/setup_caffe.sh [--gpu])\n' "'$1'" >&2; exit 1; }
variant=$([[ $gpu == 1 ]] && echo gpu || echo cpu)
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${CAFFE_PREFIX:-/opt/colornet/caffe-$variant}
cache=${COLORNET_CACHE:-/var/cache/colornet}
bindir=${COLORNET_BINDIR:-/usr/local/bin}
current_step="start"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
step() { current_step=$1; log "==> $1"; }
on_error() {
  local status=$?
  printf 'setup: FAILED during step "%s" (exit %d); nothing half-built was installed.\n' \
    "$current_step" "$status" >&2
  exit "$status"
}
trap on_error ERR

cuda_root="" cuda_libs="" toolkit=""
if [[ $gpu == 1 ]]; then
  # The CUDA compiler and runtime: CUDA_HOME if set (and only it), else /usr/local/cuda, else PATH.
  if [[ -n ${CUDA_HOME:-} ]]; then
    nvcc_bin="$CUDA_HOME/bin/nvcc"
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
    nvcc_bin=/usr/local/cuda/bin/nvcc
  else
    nvcc_bin=$(command -v nvcc || true)
  fi
  [[ -n $nvcc_bin && -x $nvcc_bin ]] || die "GPU=1 needs the CUDA compiler: no nvcc in ${CUDA_HOME:-/usr/local/cuda or PATH}. Install NVIDIA's CUDA toolkit 13 (nvcc and cudart; cuBLAS/cuRAND are fetched from PyPI if missing) or set CUDA_HOME."
  nvcc_bin=$(readlink -f "$nvcc_bin")
  cuda_root=$(dirname "$(dirname "$nvcc_bin")")
  [[ -d $cuda_root/include && ( -e $cuda_root/lib64/libcudart.so || -e $cuda_root/lib/libcudart.so ) ]] \
    || die "GPU=1: $cuda_root has nvcc but no cudart (lib64/libcudart.so); install the CUDA runtime development files"
  cuda_version=$("$nvcc_bin" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  [[ ${cuda_version%%.*} == 13 ]] || die "GPU=1 is set up for CUDA 13 (nvcc here is $cuda_version); the pinned cuBLAS wheels must match the toolkit's major version"
  toolkit="$cache/cuda-toolkit-$cuda_version"
fi

python_bin=$(command -v "${PYTHON:-python3}") || die "no python3 on PATH (set PYTHON=/path/to/python3)"
python_bin=$("$python_bin" -c 'import sys; print(sys.executable)')
read -r py_version py_libdir py_ldlibrary py_include py_site < <("$python_bin" - <<'EOF'
import sys, sysconfig, site
print(sys.version.split()[0], sysconfig.get_config_var("LIBDIR"),
      sysconfig.get_config_var("LDLIBRARY"), sysconfig.get_paths()["include"],
      sysconfig.get_paths()["purelib"])
EOF
)
py_library="$py_libdir/$py_ldlibrary"
[[ $py_ldlibrary == *.so* && -f $py_library ]] || die "$python_bin has no shared libpython ($py_library); Caffe's Python layers need one. Use a Python built with --enable-shared."

cmake_flags=(
  -DCMAKE_BUILD_TYPE=Release -DCPU_ONLY=ON -DBLAS=Open
  -DUSE_OPENCV=ON -DUSE_LMDB=ON -DUSE_LEVELDB=ON
  -DBUILD_python=ON -DBUILD_python_layer=ON -Dpython_version=3 -DBUILD_docs=OFF
  # One interpreter: the caffe binary embeds the same libpython that runs pycaffe and tools/.
  "-DPYTHON_EXECUTABLE=$python_bin" "-DPYTHON_LIBRARY=$py_library" "-DPYTHON_INCLUDE_DIR=$py_include"
  "-DCMAKE_INSTALL_PREFIX=$prefix" "-DCMAKE_INSTALL_RPATH=$prefix/lib;$py_libdir"
)
if [[ $gpu == 1 ]]; then
  # OpenCV and LevelDB off: our nets read LMDB, and without them the GPU bundle stays small.
  # (Later -D options override the earlier ones of the CPU list.)
  cmake_flags+=(
    -DCPU_ONLY=OFF -DUSE_CUDNN=OFF -DUSE_OPENCV=OFF -DUSE_LEVELDB=OFF
    # NCCL: Caffe's multi-GPU training (`-gpu all`); its header and library are linked into
    # the toolkit folder by prepare_cuda_toolkit.
    -DUSE_NCCL=ON "-DNCCL_INCLUDE_DIR=$toolkit/include" "-DNCCL_LIBRARIES=$toolkit/lib64/libnccl.so"
    # Caffe's own architecture list stops at 2018's GPUs: H100 (sm_90) code, and sm_90 PTX so
    # that newer GPUs can JIT-compile it. Add to CUDA_ARCH_BIN for others (each one costs
    # compile time: 8+ minutes per architecture on 2 cores).
    -DCUDA_ARCH_NAME=Manual "-DCUDA_ARCH_BIN=${CUDA_ARCH_BIN:-90}" -DCUDA_ARCH_PTX=90
    "-DCUDA_TOOLKIT_ROOT_DIR=$toolkit"
    "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$toolkit/lib64"
    "-DCMAKE_SHARED_LINKER_FLAGS=-Wl,-rpath-link,$toolkit/lib64"
    "-DCMAKE_INSTALL_RPATH=$prefix/lib;$py_libdir;$toolkit/lib64"
  )
fi
patch_files=("$repo_root"/tools/caffe-patches/*.patch)
if [[ $gpu == 1 ]]; then patch_files+=("$repo_root"/tools/caffe-patches/gpu/*.patch); fi

build_key=$( {
  echo "$CAFFE_DEB_VERSION"; printf '%s\n' "${cmake_flags[@]}"; echo "$py_version"
  cat "${patch_files[@]}"
} | sha256sum | cut -d' ' -f1)
requirements_key=$( { echo "$python_bin"; echo "$repo_root"; cat "$repo_root/requirements.txt" "$repo_root/pyproject.toml"; } \
  | sha256sum | cut -d' ' -f1)
caffe_stamp="$prefix/.colornet-build-stamp"
requirements_stamp="$py_site/colornet-requirements.stamp"

missing_apt_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

caffe_is_current() { [[ -f $caffe_stamp && $(cat "$caffe_stamp") == "$build_key" ]]; }
requirements_are_current() { [[ -f $requirements_stamp && $(cat "$requirements_stamp") == "$requirements_key" ]]; }
command_name=$([[ $gpu == 1 ]] && echo caffe-gpu || echo caffe)
wrapper_is_current() { [[ -x $bindir/$command_name ]] && grep -qF "$prefix/bin/caffe" "$bindir/$command_name"; }

need_root() {
  [[ $(id -u) -eq 0 ]] || die "this step ($current_step) installs system files and needs root. Run: sudo make setup  (or, as root: make setup)"
}

debian_mirror() {
  if [[ -n ${COLORNET_DEBIAN_MIRROR:-} ]]; then echo "$COLORNET_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [[ -n $uri ]] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{for (i=2;i<=NF;i++) if ($i ~ /^(https?|ftp):/) {print $i; exit}}' | grep -v security | head -n1 || true)
  [[ -n $uri ]] || die "cannot find the Debian mirror in /etc/apt/sources.list*; set COLORNET_DEBIAN_MIRROR"
  echo "$uri"
}

install_apt_packages() {
  step "Debian packages"
  local missing
  missing=$(missing_apt_packages)
  if [[ -z $missing ]]; then log "all ${#APT_PACKAGES[@]} Debian packages present"; return; fi
  need_root
  # shellcheck disable=SC2086
  log "installing: $(echo $missing)"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

install_python_packages() {
  step "Python packages ($python_bin)"
  if requirements_are_current; then log "requirements.txt already installed"; return; fi
  [[ -w $py_site ]] || need_root
  export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 HDF5_PKGCONFIG_NAME=hdf5
  log "pip install -r requirements.txt (h5py compiles against Debian's HDF5: about 4 minutes the first time)"
  "$python_bin" -m pip install --quiet -r "$repo_root/requirements.txt"
  # An h5py wheel installed earlier satisfies the pin but bundles another HDF5: rebuild it.
  local system_hdf5 h5py_hdf5 h5py_pin
  system_hdf5=$(pkg-config --modversion hdf5)
  h5py_hdf5=$("$python_bin" -c 'import h5py; print(h5py.version.hdf5_version)' 2>/dev/null)
  if [[ $h5py_hdf5 != "$system_hdf5" ]]; then
    h5py_pin=$(grep -E '^h5py==' "$repo_root/requirements.txt")
    log "h5py uses HDF5 $h5py_hdf5, Caffe uses $system_hdf5: rebuilding $h5py_pin from source"
    "$python_bin" -m pip install --quiet --force-reinstall --no-deps --no-binary h5py "$h5py_pin"
  fi
  # colornet itself, editable: this checkout's package is what tools/, bench/ and tests/ import
  # (and what Caffe's embedded interpreter finds for the Python layers).
  log "pip install -e . (colornet's package, editable)"
  "$python_bin" -m pip install --quiet --no-deps -e "$repo_root"
  # Under pyenv, new commands (`ray`, for `ray start` in the README) reach PATH only through its
  # shims, which pip does not rewrite.
  if command -v pyenv >/dev/null; then pyenv rehash || log "pyenv rehash failed: run it before 'ray start'"; fi
  echo "$requirements_key" > "$requirements_stamp"
}

fetch_caffe_source() {
  step "fetch Caffe $CAFFE_DEB_VERSION source"
  local src="$cache/src" lists="$cache/apt-lists"
  mkdir -p "$src" "$lists/partial" 2>/dev/null || need_root
  [[ -w $src && -w $lists ]] || need_root
  if ! ls "$src"/caffe_"${CAFFE_DEB_VERSION}".dsc >/dev/null 2>&1; then
    # A private sources list and state dir: the system's apt configuration stays untouched.
    local list="$cache/caffe-src.list"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $CAFFE_DEB_SUITE main" > "$list"
    local apt_opts=(-o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$lists")
    apt-get "${apt_opts[@]}" update -qq
    (cd "$src" && apt-get "${apt_opts[@]}" source --download-only -qq "caffe=$CAFFE_DEB_VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    ls "$src"/caffe_"${CAFFE_DEB_VERSION}".dsc >/dev/null 2>&1 || die "apt-get source did not deliver caffe_$CAFFE_DEB_VERSION.dsc"
  else
    log "using cached source in $src"
  fi
}

build_caffe() {
  local work="$cache/build-$variant"
  rm -rf "$work"; mkdir -p "$work"
  step "unpack and patch Caffe"
  dpkg-source --no-check -x "$cache/src/caffe_${CAFFE_DEB_VERSION}.dsc" "$work/caffe" >/dev/null
  local patch_file
  for patch_file in "${patch_files[@]}"; do
    log "patch $(basename "$patch_file"): $(head -n1 "$patch_file")"
    patch -d "$work/caffe" -p1 --quiet --forward < "$patch_file"
  done

  step "configure Caffe (cmake)"
  mkdir -p "$work/build"
  (cd "$work/build" && cmake "${cmake_flags[@]}" ../caffe >"$work/cmake.log" 2>&1) \
    || { tail -n 30 "$work/cmake.log" >&2; false; }

  step "compile Caffe (about $([[ $gpu == 1 ]] && echo 10-20 || echo 8) minutes on 2 cores)"
  (cd "$work/build" && make -j"$(( $(nproc) + 1 ))" >"$work/make.log" 2>&1) \
    || { grep -m 20 -B2 -A8 'error' "$work/make.log" >&2 || tail -n 40 "$work/make.log" >&2; false; }

  step "install Caffe to $prefix"
  need_root_for_prefix
  (cd "$work/build" && make install DESTDIR="$work/stage" >"$work/install.log" 2>&1) \
    || { tail -n 20 "$work/install.log" >&2; false; }
  echo "$build_key" > "$work/stage$prefix/.colornet-build-stamp"
  # Swap the finished tree in whole, so an interrupted build never leaves a prefix that looks good.
  mkdir -p "$(dirname "$prefix")"
  rm -rf "$prefix.old"
  if [[ -e $prefix ]]; then mv "$prefix" "$prefix.old"; fi
  mv "$work/stage$prefix" "$prefix"
  rm -rf "$prefix.old" "$work"
}

need_root_for_prefix() {
  local parent
  parent=$(dirname "$prefix")
  mkdir -p "$parent" 2>/dev/null || need_root
  [[ -w $parent ]] || need_root
}

install_entry_points() {
  step "entry points (caffe command, pycaffe path)"
  if ! wrapper_is_current; then
    [[ -w $bindir ]] || need_root
    local tmp="$bindir/.$command_name.$$"
    cat > "$tmp" <<EOF
#!/bin/sh
# Installed by colornet's setup. Runs stock Caffe from $prefix with the working directory on
# PYTHONPATH, so that Python layers named "layers.<module>" load from the repo it runs in.
PYTHONPATH="\${PWD}\${PYTHONPATH:+:\$PYTHONPATH}" exec "$prefix/bin/caffe" "\$@"
EOF
    chmod 755 "$tmp"; mv "$tmp" "$bindir/$command_name"
  fi
  # pycaffe on the interpreter's path is the CPU build's; a GPU build leaves it alone.
  [[ $gpu == 1 ]] && return
  local pth="$py_site/colornet-caffe.pth"
  if [[ ! -f $pth || $(cat "$pth") != "$prefix/lib/python3/dist-packages" ]]; then
    echo "$prefix/lib/python3/dist-packages" > "$pth"
  fi
}

verify() {
  step "verify"
  "$bindir/$command_name" --version >&2
  [[ $gpu == 1 ]] && return  # running CUDA code needs a GPU; --version only needs the libraries
  (cd /tmp && "$python_bin" -c 'import caffe, cv2, lmdb, h5py, skimage; print("pycaffe", caffe.__file__)') >&2
}

prepare_cuda_toolkit() {
  # One folder that looks like a full CUDA toolkit to Caffe's CMake: the machine's nvcc, nvvm,
  # headers and cudart, plus cuBLAS and cuRAND (the machine's if it has them, else PyPI's wheels).
  step "CUDA toolkit ($cuda_root, CUDA $cuda_version)"
  local lib_dir=$cuda_root/lib64 wheels="$cache/cuda-wheels" extra_lib="" extra_include=""
  [[ -d $lib_dir ]] || lib_dir=$cuda_root/lib
  if [[ ! -e $lib_dir/libcublas.so || ! -e $lib_dir/libcurand.so ]]; then
    mkdir -p "$wheels" 2>/dev/null || need_root
    if ! ls "$wheels"/nvidia_cublas-*.whl "$wheels"/nvidia_curand-*.whl >/dev/null 2>&1; then
      log "cuBLAS/cuRAND not in $lib_dir: downloading ${CUDA_WHEELS[*]} from PyPI (about 500 MB)"
      "$python_bin" -m pip download --quiet --no-deps --only-binary :all: -d "$wheels" "${CUDA_WHEELS[@]}"
    fi
    if [[ ! -d $wheels/unpacked ]]; then
      rm -rf "$wheels/unpacked.partial"; mkdir -p "$wheels/unpacked.partial"
      local wheel
      for wheel in "$wheels"/nvidia_cublas-*.whl "$wheels"/nvidia_curand-*.whl; do
        "$python_bin" -m zipfile -e "$wheel" "$wheels/unpacked.partial"
      done
      mv "$wheels/unpacked.partial" "$wheels/unpacked"
    fi
    extra_lib=$(dirname "$(find "$wheels/unpacked" -name 'libcublas.so.*' | head -n1)")
    extra_include=$(dirname "$(find "$wheels/unpacked" -name 'cublas_v2.h' | head -n1)")
    [[ -d $extra_lib && -d $extra_include ]] || die "the cuBLAS wheel in $wheels has no libcublas.so.* / cublas_v2.h"
  fi
  rm -rf "$toolkit"; mkdir -p "$toolkit/lib64" "$toolkit/include"
  ln -s "$cuda_root/bin" "$toolkit/bin"
  [[ -d $cuda_root/nvvm ]] && ln -s "$cuda_root/nvvm" "$toolkit/nvvm"
  local item
  for item in "$cuda_root"/include/* ${extra_include:+"$extra_include"/*}; do
    ln -sfn "$item" "$toolkit/include/$(basename "$item")"
  done
  for item in "$lib_dir"/lib* ${extra_lib:+"$extra_lib"/lib*}; do
    ln -sfn "$item" "$toolkit/lib64/$(basename "$item")"
  done
  # NCCL: the machine's if the toolkit has it, else PyPI's wheel.
  if [[ ! -e $toolkit/include/nccl.h ]]; then
    mkdir -p "$wheels" 2>/dev/null || need_root
    if ! ls "$wheels"/nvidia_nccl_cu13-*.whl >/dev/null 2>&1; then
      log "NCCL not in $cuda_root: downloading $NCCL_WHEEL from PyPI (305 MB)"
      "$python_bin" -m pip download --quiet --no-deps --only-binary :all: -d "$wheels" "$NCCL_WHEEL"
    fi
    if [[ ! -d $wheels/nccl ]]; then
      rm -rf "$wheels/nccl.partial"
      "$python_bin" -m zipfile -e "$(ls "$wheels"/nvidia_nccl_cu13-*.whl | head -n1)" "$wheels/nccl.partial"
      mv "$wheels/nccl.partial" "$wheels/nccl"
    fi
    local nccl_header
    nccl_header=$(find "$wheels/nccl" -name nccl.h | head -n1)
    [[ -f $nccl_header ]] || die "the NCCL wheel in $wheels has no nccl.h"
    ln -sfn "$nccl_header" "$toolkit/include/nccl.h"
    for item in "$(dirname "$(dirname "$nccl_header")")"/lib/libnccl.so*; do
      ln -sfn "$item" "$toolkit/lib64/$(basename "$item")"
    done
  fi
  # CMake links against the unversioned names the wheels do not ship.
  for item in cublas cublasLt curand nccl; do
    [[ -e $toolkit/lib64/lib$item.so ]] || ln -s "$(basename "$(ls "$toolkit"/lib64/lib$item.so.* | head -n1)")" "$toolkit/lib64/lib$item.so"
  done
}

if [[ -z $(missing_apt_packages) ]] && requirements_are_current && caffe_is_current && wrapper_is_current \
   && { [[ $gpu == 1 ]] || [[ -f $py_site/colornet-caffe.pth ]]; }; then
  log "already set up: Caffe in $prefix, $command_name command in $bindir, Python $python_bin (nothing to do)"
  exit 0
fi

install_apt_packages
install_python_packages
if caffe_is_current; then
  step "Caffe"; log "Caffe in $prefix is current"
else
  fetch_caffe_source
  if [[ $gpu == 1 ]]; then prepare_cuda_toolkit; fi
  build_caffe
fi
install_entry_points
verify
log "done: Caffe in $prefix; '$command_name' in $bindir$([[ $gpu == 1 ]] || echo "; pycaffe on $python_bin")"
