#!/usr/bin/env bash
# Brings the libraries trainfleet builds against, from Debian 12, to a machine
# that lacks them (the GPU machine: PyTorch, CUDA, CMake and ninja, no Debian
# C++ packages, no network). Run here, where apt works; check.sh then finds
# the folder and builds against it.
#
#   bench/gpu/fetch-debs.sh [OUT_DIR]      (default bench/gpu/debs, gitignored)
#
# What comes along, and why this set (the rest is left out at build time:
# -DTRAINFLEET_WITH_MPI=OFF -DTRAINFLEET_WITH_CLASSICAL=OFF):
#   header-only      nlohmann-json, CLI11;
#   small C++ libs   yaml-cpp, spdlog + fmt (built with the C++11 ABI, as are
#                    PyTorch's wheels since 2.7: check.sh verifies that);
#   HDF5 (C)         libhdf5 and the libraries it loads (szip/aec, curl and
#                    curl's own, OpenSSL), since the data files are HDF5;
#   GoogleTest       static libraries, for the gpu-labelled tests.
# Static archives, documentation and HDF5's Fortran/C++/HL parts are pruned.
# Prints the folder's size and any library that the folder's libraries need but
# that it does not hold (those must come from the machine: glibc, libstdc++,
# zlib...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/debs}
max_mib=64

pkgs=(
  nlohmann-json3-dev libcli11-dev
  libyaml-cpp-dev libyaml-cpp0.7
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libhdf5-dev libhdf5-103-1 libsz2 libaec0
  libcurl4 libnghttp2-14 libidn2-0 librtmp1 libssh2-1 libpsl5 libgssapi-krb5-2 libkrb5-3
  libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2 libldap-2.5-0 libsasl2-2 libbrotli1
  libzstd1 libssl3 libunistring2 libgnutls30 libhogweed6 libnettle8 libgmp10 libp11-kit0 libtasn1-6 libffi8
  libgtest-dev
)

dl=$(mktemp -d)
chmod 755 "$dl"  # apt downloads as its own user
trap 'rm -rf "$dl"' EXIT
(cd "$dl" && apt-get download "${pkgs[@]}" >/dev/null)
rm -rf "$out"
mkdir -p "$out"
for deb in "$dl"/*.deb; do dpkg -x "$deb" "$out"; done

# Prune what neither the build nor the run needs.
rm -rf "$out"/usr/share/doc "$out"/usr/share/man "$out"/usr/share/lintian "$out"/usr/share/bug \
       "$out"/usr/src "$out"/usr/bin "$out"/usr/share/hdf5* "$out"/etc
lib=$out/usr/lib/x86_64-linux-gnu
find "$lib" -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' -delete
find "$lib" \( -name '*fortran*' -o -name '*hdf5_cpp*' -o -name '*hdf5_hl*' -o -name '*hdf5_serial_hl*' \) \
  -exec rm -rf {} +
find "$out" -name '*.mod' -delete

# Libraries needed by the folder's libraries but not in it.
have=$(find "$out" -name '*.so*' -printf '%f\n' | sort -u)
need=$(find "$out" -name '*.so*' -type f -exec sh -c 'readelf -d "$1" 2>/dev/null' _ {} \; |
       sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u)
missing=$(comm -23 <(echo "$need") <(echo "$have") | tr '\n' ' ')
size_mib=$(du -sm "$out" | cut -f1)
echo "fetch-debs: $out: ${#pkgs[@]} packages, ${size_mib} MiB"
echo "fetch-debs: expected from the machine itself: $missing"
if [ "$size_mib" -gt "$max_mib" ]; then
  echo "fetch-debs: over the ${max_mib} MiB that can travel to the GPU machine" >&2
  exit 1
fi
