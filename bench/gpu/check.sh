#!/usr/bin/env bash
# The one device run that proves the GPU path, on a freshly lent GPU machine
# (Python PyTorch 2.x with CUDA, nvidia-nccl, CMake, ninja; no network):
#   1. builds trainfleet against that machine's own LibTorch (the Python
#      PyTorch's torch.utils.cmake_prefix_path), with NCCL from the nvidia-nccl
#      wheel and the Debian libraries of bench/gpu/fetch-debs.sh where the
#      machine has none; MPI and the classical models are left out when
#      missing (-DTRAINFLEET_WITH_MPI=OFF, -DTRAINFLEET_WITH_CLASSICAL=OFF);
#   2. runs ctest -L gpu, allreduce_bench --backend nccl, and a cnn1d training
#      with runtime.device: cuda;
#   3. times cnn1d training (batch 64 and 256; fp32, and autocast on the
#      Python side, the only one that has it) in trainfleet and in Python;
#   4. writes OUT/gpu-check.json (every step: ok, seconds, what it measured)
#      and OUT/gpu-check.log.
# --dry-run does the same here without a GPU: the same build options against
# this machine's LibTorch, the gpu tests (they skip), the bench on the host
# communicator, and short CPU trainings and timings. Exit code: 0 when every
# step passed, 1 otherwise.
#
#   bench/gpu/fetch-debs.sh                  # once, where apt works
#   bench/gpu/check.sh --out DIR [--dry-run] [--build-dir build-gpucheck] [--debs bench/gpu/debs] [--jobs N]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
dry=0 out="" build="$root/build-gpucheck" debs="$root/bench/gpu/debs" jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --out) out=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --debs) debs=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    *) echo "check.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "check.sh: --out DIR is required" >&2; exit 2; }
mkdir -p "$out" "$build"
steps="$build/check-steps"
rm -rf "$steps" && mkdir -p "$steps"
log="$out/gpu-check.log"
: >"$log"
t_start=$(date +%s)

# A Python that has torch: python3 first, then Debian's.
py=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "check.sh: no python3 with torch" | tee -a "$log"; exit 1; }

# step NAME CMD...: runs CMD, its output to the log; records ok and seconds.
failed=0
step() {
  local name=$1; shift
  local t0 rc
  t0=$(date +%s.%N)
  echo "=== $name: $*" >>"$log"
  "$@" >>"$log" 2>&1
  rc=$?
  "$py" - "$steps/$(ls "$steps" | wc -l | xargs printf '%02d')-$name.json" "$name" "$rc" "$t0" "$*" <<'EOF'
import json, sys, time
path, name, rc, t0, cmd = sys.argv[1:]
json.dump({"step": name, "ok": rc == "0", "exit_code": int(rc), "seconds": round(time.time() - float(t0), 1),
           "command": cmd}, open(path, "w"))
EOF
  [ "$rc" = 0 ] || failed=1
  echo "check.sh: $name: exit $rc" | tee -a "$log"
  return "$rc"
}

# --- what this machine has
"$py" - >"$steps/env.json" <<'EOF'
import json, platform, shutil, subprocess, torch
def run(*a, last=False):
    try:
        lines = subprocess.run(a, capture_output=True, text=True).stdout.strip().splitlines()
        return lines[-1 if last else 0]
    except Exception:
        return None
nccl = None
try:
    import nvidia.nccl, os
    nccl = os.path.dirname(nvidia.nccl.__file__) if nvidia.nccl.__file__ else list(nvidia.nccl.__path__)[0]
except Exception:
    pass
print(json.dumps({
    "torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
    "gpus": torch.cuda.device_count(),
    "gpu_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    "torch_cmake_prefix": torch.utils.cmake_prefix_path,
    "cxx11_abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI), "nccl_wheel": nccl,
    "glibc": platform.libc_ver()[1], "cxx": run("c++", "--version"), "cmake": run("cmake", "--version"),
    "nvcc": run("nvcc", "--version", last=True),
    "mpicxx": shutil.which("mpicxx"), "mpirun": shutil.which("mpirun")}))
EOF
cat "$steps/env.json" | tee -a "$log"
envq() { "$py" -c "import json,sys; v=json.load(open('$steps/env.json'))['$1']; print('' if v is None else v)"; }

# --- configure options
torch_prefix=$(envq torch_cmake_prefix)
prefix="$torch_prefix"
[ -d "$torch_prefix/Torch" ] || prefix=""   # Debian's python3-torch: LibTorch is found in the system paths
opts=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAINFLEET_BUILD_TESTS=ON -DTRAINFLEET_BUILD_BENCH=ON)
runlibs=""
if [ -d "$debs/usr" ]; then
  if [ "$(envq cxx11_abi)" != "True" ]; then
    echo "check.sh: this LibTorch uses the pre-C++11 ABI; Debian's yaml-cpp/spdlog in $debs cannot link with it" | tee -a "$log"
    exit 1
  fi
  prefix="$prefix;$debs/usr;$debs/usr/lib/x86_64-linux-gnu/cmake;$debs/usr/share/cmake"
  opts+=(-DHDF5_ROOT="$debs/usr/lib/x86_64-linux-gnu/hdf5/serial" -DHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON)
  runlibs="$debs/usr/lib/x86_64-linux-gnu:$debs/usr/lib/x86_64-linux-gnu/hdf5/serial"
fi
opts+=(-DCMAKE_PREFIX_PATH="$prefix")
# MPI and the classical models: the GPU machine's image has neither; the dry
# run builds the same way so that those options are what it proves.
with_mpi=OFF
if [ $dry = 0 ] && [ -n "$(envq mpicxx)" ] && [ -n "$(envq mpirun)" ]; then with_mpi=ON; fi
with_classical=OFF
if [ $dry = 0 ] && [ -f /usr/include/xgboost/c_api.h ] && [ -f /usr/include/libsvm/svm.h ]; then with_classical=ON; fi
opts+=(-DTRAINFLEET_WITH_MPI=$with_mpi -DTRAINFLEET_WITH_CLASSICAL=$with_classical)
nccl_home=$(envq nccl_wheel)
if [ $dry = 0 ]; then
  opts+=(-DTRAINFLEET_WITH_NCCL=ON)
  [ -d /usr/local/cuda ] && opts+=(-DCUDAToolkit_ROOT=/usr/local/cuda)
else
  opts+=(-DTRAINFLEET_WITH_NCCL=AUTO)
fi
[ -n "$nccl_home" ] && opts+=(-DNCCL_HOME="$nccl_home")

export LD_LIBRARY_PATH="${runlibs:+$runlibs:}${nccl_home:+$nccl_home/lib:}${LD_LIBRARY_PATH:-}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# --- 1. build
targets=(trainfleet test_gpu_train allreduce_bench)
step configure cmake -S "$root" -B "$build" "${opts[@]}" || true
if grep -q "TRAINFLEET_HAVE_NCCL:INTERNAL=ON\|NCCL communicator ON" "$log"; then targets+=(test_nccl); fi
[ $with_mpi = ON ] && targets+=(test_gpu_ddp)
step build cmake --build "$build" --target "${targets[@]}" -j "$jobs" || true

# --- 2. the GPU path
device=cuda; epochs=3; batches=64,256; samples=6000
if [ $dry = 1 ]; then device=cpu; epochs=2; batches=64; samples=600; fi
work="$build/check-work"
rm -rf "$work" && mkdir -p "$work"
step ctest_gpu ctest --test-dir "$build" -L gpu --output-on-failure --timeout 300 || true
if [ $dry = 0 ]; then
  step allreduce_nccl "$build/bench/allreduce_bench" --backend nccl --min 4096 --max 268435456 --iters 20 || true
else
  step allreduce_host "$build/bench/allreduce_bench" --max 65536 --iters 3 || true
fi
step make_data "$build/trainfleet" make-data --out "$work/airleak.h5" --samples $samples || true
step train_${device} "$build/trainfleet" train configs/quickstart.yaml --set runtime.device=$device \
  --set data.path="$work/airleak.h5" --set training.epochs=$epochs --set experiment.output_dir="$work/runs" \
  --set experiment.run_id=check || true

# What a build without MPI or the classical models says when asked for them: exit 2.
expect_rc() { local want=$1; shift; "$@"; local rc=$?; echo "exit $rc (expected $want)"; [ "$rc" = "$want" ]; }
if [ $with_classical = OFF ]; then
  step classical_off_exit2 expect_rc 2 "$build/trainfleet" train configs/quickstart.yaml --set model.name=svm \
    --set data.path="$work/airleak.h5" --set experiment.output_dir="$work/runs" || true
fi
if [ $with_mpi = OFF ]; then
  step mpi_off_exit2 expect_rc 2 env OMPI_COMM_WORLD_SIZE=2 "$build/trainfleet" train configs/quickstart.yaml \
    --set data.path="$work/airleak.h5" --set experiment.output_dir="$work/runs" || true
fi

# --- 3. speed: trainfleet against Python PyTorch on the same device
amp=""
[ $dry = 0 ] && amp=--amp   # autocast on the CPU (bfloat16) is not what is measured
step speed env LD_LIBRARY_PATH= "$py" bench/gpu/speed.py --binary "$build/trainfleet" --data "$work/airleak.h5" \
  --device $device --batches $batches --epochs $((epochs + 1)) $amp --binary-libs "$LD_LIBRARY_PATH" \
  --shape "$samples,1024,9" --json "$steps/speed-results.json" || true

# --- 4. one JSON of everything
"$py" - "$steps" "$out/gpu-check.json" "$dry" "$t_start" "${opts[*]}" <<'EOF'
import glob, json, os, sys, time
steps, path, dry, t0, opts = sys.argv[1:]
res = {"dry_run": dry == "1", "seconds": round(time.time() - int(t0)), "cmake_options": opts,
       "machine": json.load(open(os.path.join(steps, "env.json"))), "steps": []}
for f in sorted(glob.glob(os.path.join(steps, "[0-9][0-9]-*.json"))):
    res["steps"].append(json.load(open(f)))
sp = os.path.join(steps, "speed-results.json")
res["speed"] = json.load(open(sp)) if os.path.exists(sp) else None
res["ok"] = all(s["ok"] for s in res["steps"])
json.dump(res, open(path, "w"), indent=1)
print(f"check.sh: {sum(s['ok'] for s in res['steps'])}/{len(res['steps'])} steps passed in {res['seconds']} s; {path}")
EOF
exit $failed
