#!/usr/bin/env bash
# Debian packages the test suite drives for real. Run it as root or as a user who may sudo: it installs what is
# missing, and calls sudo only when not root (a root-only machine or container has no sudo).
#   gcc-aarch64-linux-gnu  cross compiler for the arm64 agent (static)
#   qemu-user-static       runs that arm64 agent on an x86_64 host
#   libopenblas-dev        the dense baseline of `npm run bench:kernels` (benchmark only)
#   adb                    the real adb server the virtual phones connect to (ADB transport tests)
#   bubblewrap             the virtual phone's sandbox (/data/local/tmp, /sys, /system)
#   chromium               headless browser that opens the HTML reports in the report tests
#   python3-numpy          reads back the masks.npz that `prunelab prune` writes (a reader that is not ours)
#   pocl-opencl-icd        PoCL: OpenCL on the CPU, the device the GPU backend's kernels are verified on here
#   ocl-icd-libopencl1     the OpenCL ICD loader (libOpenCL.so.1) that the agent dlopens to reach PoCL
#   opencl-headers         Khronos CL/cl.h: the agent's GPU code builds against it (OpenCL is never linked)
#   clinfo                 lists OpenCL platforms and devices, to check the ICD setup by hand
#   postgresql             the shared store of a lab bigger than one host (the store tests)
# The digits fixture (orchestrator/fixtures/digits.ts) takes digits.csv.gz out of python3-sklearn's package file
# with `apt-get download` (no install, no root needed); it only needs the package index to know python3-sklearn.
# Then it starts the PostgreSQL cluster (no systemd in containers: pg_ctlcluster) and creates the test role
# `prunelab` (password `prunelab`, may create databases) that the default PRUNELAB_TEST_PG_URL names.
# Every step is skipped when already done, so it is safe to run again.
set -euo pipefail
packages=(make gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static libopenblas-dev adb bubblewrap chromium python3-numpy pocl-opencl-icd ocl-icd-libopencl1 opencl-headers clinfo postgresql)
missing=()
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  "${sudo_cmd[@]}" apt-get update -qq
  # sudo resets the environment, so the frontend is set inside it.
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! apt-cache show python3-sklearn >/dev/null 2>&1; then
  "${sudo_cmd[@]}" apt-get update -qq
fi

# PostgreSQL: start the newest cluster (the version is its folder under /etc/postgresql) when it is down.
pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters --no-header | awk -v v="$pg_version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  "${sudo_cmd[@]}" pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
fi
# Admin commands run as the `postgres` OS user (peer authentication on the local socket).
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then su postgres -c "$(printf '%q ' "$@")"; else sudo -u postgres "$@"; fi
}
if [[ $(as_postgres psql -tAc "select 1 from pg_roles where rolname = 'prunelab'") != 1 ]]; then
  as_postgres psql -qc "create role prunelab login createdb password 'prunelab'"
fi
