#!/usr/bin/env bash
# The installed rgflow as another project sees it (CTest `install`):
#   1. `cmake --install BUILD --prefix` into a temporary folder, then the installation is moved
#      (both package files must work wherever the prefix ends up);
#   2. the installed `rgflow -version` prints the build's version, and the installed executable's
#      dataset, model and results files store it;
#   3. tests/install/consumer (find_package(rgflow), rgflow::rgflow) is configured, built and run
#      out of tree on the golden dataset and results of data/schema1;
#   4. the same program is compiled with `pkg-config --cflags --libs rgflow` and run.
#
#   install_test.sh BUILD_DIR SOURCE_DIR VERSION CXX_COMPILER
set -euo pipefail
build=$1
source=$2
version=$3
cxx=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/rgflow-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() {
  echo "install test: $*" >&2
  exit 1
}

cmake --install "$build" --prefix "$work/staging" > "$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install failed"; }
mv "$work/staging" "$work/prefix"
prefix=$work/prefix
for file in bin/rgflow include/rgflow/version.hpp include/rgflow/io/dataset.hpp \
  lib/cmake/rgflow/rgflowConfig.cmake lib/cmake/rgflow/rgflowConfigVersion.cmake; do
  [[ -f $prefix/$file ]] || fail "$file is not installed"
done
for library in librgflow_core.a librgflow_kernels.a pkgconfig/rgflow.pc; do
  compgen -G "$prefix/lib*/$library" > /dev/null || fail "$library is not installed"
done

printed=$("$prefix/bin/rgflow" -version)
[[ $printed == "rgflow $version" ]] || fail "rgflow -version prints '$printed', not 'rgflow $version'"
# The installed executable runs each stage, and each file stores the version it prints.
(
  cd "$work"
  rgflow=$prefix/bin/rgflow
  "$rgflow" generate -quiet -o data.h5 -d 1 -L 8 -b 2 -levels 1 -samples 4 -seed 1
  "$rgflow" train -quiet -data data.h5 -hidden 2 -epochs 1 -batch 4 -o model.h5
  "$rgflow" analyze -quiet -data data.h5 -models model.h5 -order 4 -groups 2 -propagation none \
    -o results.h5
) > "$work/stages.log" 2>&1 || { cat "$work/stages.log"; fail "the installed rgflow failed"; }
for file in data model results; do
  stored=$(h5dump -a /rgflow_version "$work/$file.h5" | sed -n 's/^ *(0): "\(.*\)"$/\1/p')
  [[ $stored == "$version" ]] || fail "$file.h5 stores rgflow_version '$stored', not '$version'"
done

golden=$source/data/schema1
# A build of the consumer that reuses the compiler cache when rgflow's build does.
launcher=()
if [[ -n ${CCACHE_DIR:-} ]] && command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$source/tests/install/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" \
  > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "find_package(rgflow) failed"; }
cmake --build "$work/consumer" > "$work/build.log" 2>&1 ||
  { cat "$work/build.log"; fail "the consumer does not build against rgflow::rgflow"; }
"$work/consumer/rgflow_consumer" "$golden/dataset.h5" "$golden/results.h5" "$version"

export PKG_CONFIG_PATH=$(dirname "$(compgen -G "$prefix/lib*/pkgconfig/rgflow.pc")")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
[[ $(pkg-config --modversion rgflow) == "$version" ]] || fail "pkg-config reports another version"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
"$cxx" -std=c++17 -O1 -DRGFLOW_PACKAGE_VERSION="\"$version\"" \
  "$source/tests/install/consumer/main.cpp" -o "$work/consumer_pc" \
  $(pkg-config --cflags --libs rgflow) || fail "the consumer does not build with pkg-config"
"$work/consumer_pc" "$golden/dataset.h5" "$golden/results.h5" "$version"
echo "install test: installed, moved, and used through find_package and pkg-config"
