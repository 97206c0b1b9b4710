#!/usr/bin/env bash
# Installs rgflow's Debian 12 dependencies when missing (idempotent; needs root), then configures
# and builds rgflow in ./build (or $RGFLOW_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run: MPI, parallel HDF5, PETSc, libyaml (pipeline files), Eigen, GoogleTest, Google
# Benchmark; figures: matplotlib and h5py; the files read by name (tests/reference/xarray_test.py):
# xarray and h5netcdf; the SLURM tests (tests/slurm, tests/cluster): slurm and munge, and
# iproute2 for the cluster test's network namespaces (unshare, nsenter: util-linux, always
# installed); the fuzzers (scripts/fuzz.sh, run by CI): clang 14 and its libFuzzer and sanitizer
# runtimes.
packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
          hdf5-tools petsc-dev libyaml-dev libeigen3-dev libgtest-dev libbenchmark-dev
          python3-matplotlib python3-h5py python3-xarray python3-h5netcdf
          slurmctld slurmd slurm-client munge iproute2
          clang-14 libclang-rt-14-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_dir=${RGFLOW_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$(nproc)"
