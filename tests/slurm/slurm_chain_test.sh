#!/usr/bin/env bash
# The cluster jobs on a real SLURM: starts a private single-node SLURM (munged, slurmctld and
# slurmd from Debian's packages, configured in a temporary folder, stopped afterwards by the
# process ids started here), submits the chain of jobs/submit.sh for the quickstart pipeline,
# waits for it and checks its outputs; then a chain whose generation fails must end with the
# dependent jobs cancelled and submit.sh --wait reporting the failure.
#
#   tests/slurm/slurm_chain_test.sh RGFLOW_EXE SOURCE_DIR     (exit 77: SLURM not installed)
set -euo pipefail
exe=$(realpath "${1:?usage: slurm_chain_test.sh RGFLOW_EXE SOURCE_DIR}")
source_dir=$(realpath "${2:?usage: slurm_chain_test.sh RGFLOW_EXE SOURCE_DIR}")
# shellcheck source=slurm_conf.sh
source "$source_dir/tests/slurm/slurm_conf.sh"

for program in munged slurmctld slurmd sbatch scontrol sinfo; do
  if ! command -v "$program" >/dev/null && [[ ! -x /usr/sbin/$program ]]; then
    echo "slurm test: $program is not installed (scripts/setup.sh installs it); skipped"
    exit 77
  fi
done
export PATH=$PATH:/usr/sbin

work=$(mktemp -d /tmp/rgflow_slurm_XXXXXX)
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if ((status != 0)); then
    echo "slurm test: FAILED; daemon logs:"
    tail -n 20 "$work"/*.log 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

fail() {
  echo "slurm test: FAILED: $*" >&2
  exit 1
}

# Two free TCP ports for slurmctld and slurmd.
read -r ctld_port slurmd_port < <(python3 - <<'PY'
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])
PY
)

mkdir -p "$work/state" "$work/spool" "$work/munge"
chmod 755 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
node=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat >"$work/slurm.conf" <<CONF
ClusterName=rgflowtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
EnforcePartLimits=ALL
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
slurm_common_settings "$work" >>"$work/slurm.conf"
export SLURM_CONF=$work/slurm.conf

munged --foreground --force --key-file="$work/munge/munge.key" \
  --socket="$work/munge/munge.socket" --pid-file="$work/munge/munged.pid" \
  --seed-file="$work/munge/munged.seed" --log-file="$work/munged.log" >>"$work/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S "$work/munge/munge.socket" ]] && break; sleep 0.1; done
[[ -S "$work/munge/munge.socket" ]] || fail "munged did not start"
slurmctld -D -i -f "$work/slurm.conf" >>"$work/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -N "$node" -f "$work/slurm.conf" >>"$work/slurmd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [[ "$state" == idle ]] && break
  sleep 0.2
done
[[ "$state" == idle ]] || fail "the node is not idle after 20 s (state '$state')"
echo "slurm test: single-node SLURM up ($node, $cpus CPUs)"

# The quickstart chain: mpirun inside the allocation (Debian's Open MPI has no PMI for srun
# without PMIx set up); a time limit bounds each job.
export RGFLOW_LAUNCHER=mpirun RGFLOW_PYTHON=/usr/bin/python3
outdir=$work/quick
start=$SECONDS
"$source_dir/jobs/submit.sh" "$source_dir/pipelines/quickstart.yaml" --rgflow "$exe" \
  --outdir "$outdir" --nodes 1 --tasks-per-node 2 --train-tasks 1 --time-generate 10 \
  --time-train 10 --time-analyze 10 --wait --timeout 600 | tee "$work/submit.out" ||
  fail "the quickstart chain did not complete"
echo "slurm test: quickstart chain done in $((SECONDS - start)) s"
grep -q "job array .* (4 models: linear tanh quadratic gnn)" "$work/submit.out" ||
  fail "the training array is not one task per model"
[[ $(grep -c ": COMPLETED x" "$work/submit.out") -eq 3 ]] || fail "not every job completed"
grep -q "COMPLETED x4" "$work/submit.out" || fail "not every training task completed"
for file in data/uniform.h5 data/laplace.h5 data/rademacher.h5 models/linear.h5 models/tanh.h5 \
  models/quadratic.h5 models/gnn.h5 results/results.h5 results/results_generalisation.csv; do
  [[ -s "$outdir/$file" ]] || fail "missing output $file"
done
h5ls "$outdir/results/results.h5" | grep -q "^generalisation" || fail "no /generalisation table"
h5ls "$outdir/results/results.h5" | grep -q "^cumulants" || fail "no /cumulants table"
[[ $(wc -l <"$outdir/results/results_generalisation.csv") -eq 5 ]] ||
  fail "the generalisation table does not have 4 models"
ls "$outdir"/rgflow-train-*_3.log >/dev/null || fail "no log of the last array task"
if /usr/bin/python3 -c "import matplotlib, h5py" 2>/dev/null; then
  [[ -s "$outdir/results/results_generalisation.png" ]] || fail "no figures from the analysis job"
fi
# Everything is complete: running the stages again does no work.
"$exe" run "$source_dir/pipelines/quickstart.yaml" -outdir "$outdir" | grep -q "up to date" ||
  fail "a rerun after the chain was not up to date"

# A chain whose generation fails: training and analysis must not run, and --wait must say so.
cat >"$work/failing.yaml" <<'YAML'
generate:
  odd: {d: 2, L: 64, levels: 2, samples: 4, lattice_ranks: 3}
train:
  one: {data: odd, epochs: 1, batch: 16, hidden: [2]}
YAML
start=$SECONDS
if "$source_dir/jobs/submit.sh" "$work/failing.yaml" --rgflow "$exe" --outdir "$work/failing" \
  --nodes 1 --tasks-per-node 2 --time-generate 5 --time-train 5 --time-analyze 5 --wait \
  --timeout 300 >"$work/failing.out" 2>&1; then
  cat "$work/failing.out"
  fail "submit.sh --wait returned 0 for a failed chain"
fi
cat "$work/failing.out"
grep -q "FAILED" "$work/failing.out" || fail "the generation job is not reported FAILED"
grep -q "CANCELLED" "$work/failing.out" || fail "the dependent jobs are not reported CANCELLED"
grep -q "lattice_ranks" "$work/failing"/rgflow-generate-*.log ||
  fail "the generation log does not name the bad option"
[[ ! -e "$work/failing/models/one.h5" ]] || fail "a model was trained after a failed generation"
echo "slurm test: failing chain stopped in $((SECONDS - start)) s"
# Bad submissions are refused before anything is queued.
if "$source_dir/jobs/submit.sh" "$work/absent.yaml" --rgflow "$exe" 2>"$work/bad.err"; then
  fail "a missing pipeline file was accepted"
fi
grep -q "does not exist" "$work/bad.err" || fail "no message for a missing pipeline file"
if "$source_dir/jobs/submit.sh" "$source_dir/pipelines/quickstart.yaml" --rgflow "$exe" \
  --nodes zero 2>"$work/bad.err"; then
  fail "a bad node count was accepted"
fi
[[ -z "$(squeue -h 2>/dev/null)" ]] || fail "jobs left in the queue"
echo "slurm test: passed"
