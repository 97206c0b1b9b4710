#!/usr/bin/env bash
# Multi-node runs on a simulated cluster: three Linux network namespaces, each with its own
# hostname (a UTS namespace), joined by veth pairs to a bridge that lives in a fourth namespace,
# are the nodes. Addresses exist only inside these namespaces (198.18.0.0/24, part of the
# 198.18.0.0/15 benchmarking range), so no traffic leaves them, and nothing is added to the host's
# network. Node 1 runs slurmctld and is the login node; nodes 2 and 3 each run a slurmd
# (slurmd -N NAME, NodeAddr = the node's address); munged runs on the host (its unix socket is a
# file, reachable from every namespace); the test's temporary folder is the shared file system.
#
# jobs/submit.sh runs the quickstart chain with --nodes 2 (mpirun in each job, Open MPI's byte
# transfer layers restricted to tcp,self and both its TCP layers to the nodes' subnet). The test
# checks that the ranks of every job span both nodes (the placement line of each job log), that
# the MPI traffic crossed the nodes' links (byte counters of the bridge ports), and that every
# dataset, model and result is identical, bit for bit, to a single-node run (mpiexec -n 2 on the
# host) although every job runs on 4 ranks: generate and analyze give the same bits for any rank
# count, train with -reproducible too (README; the pipeline sets it).
#
# Everything started here is bounded in time and removed on every exit path: the namespaces are
# held by processes started here (no `ip netns` names, no mounts, no host interfaces), and the
# clean-up ends every process inside them (daemons, job steps, MPI ranks), found by namespace.
#
#   tests/cluster/cluster_test.sh RGFLOW_EXE SOURCE_DIR   (exit 77: not root, or no SLURM)
set -euo pipefail
exe=$(realpath "${1:?usage: cluster_test.sh RGFLOW_EXE SOURCE_DIR}")
source_dir=$(realpath "${2:?usage: cluster_test.sh RGFLOW_EXE SOURCE_DIR}")
# shellcheck source=../slurm/slurm_conf.sh
source "$source_dir/tests/slurm/slurm_conf.sh"
export PATH=$PATH:/usr/sbin:/sbin

if [[ $(id -u) -ne 0 ]]; then
  echo "cluster test: needs root (network namespaces, SLURM as root); skipped"
  exit 77
fi
for program in munged slurmctld slurmd sbatch scontrol sinfo ip unshare nsenter timeout; do
  if ! command -v "$program" >/dev/null; then
    echo "cluster test: $program is not installed (scripts/setup.sh installs it); skipped"
    exit 77
  fi
done
python=/usr/bin/python3
"$python" -c "import h5py, numpy" 2>/dev/null || {
  echo "cluster test: $python has no h5py (scripts/setup.sh installs python3-h5py); skipped"
  exit 77
}

# The pipeline: the quickstart in miniature (tests/cluster/quickstart-small.yaml). The full
# quickstart's 58880 training steps per model, each with an all-reduce over TCP between the
# nodes, take minutes per model on a shared 2-core machine; RGFLOW_CLUSTER_PIPELINE runs another
# pipeline, with RGFLOW_CLUSTER_MINUTES as each job's time limit (default 8) and
# RGFLOW_CLUSTER_TRAIN_TASKS ranks per model (4, half on each node; 2 for a pipeline without
# -reproducible, whose models are bit-identical only for the single-node run's rank count).
pipeline=$(realpath "${RGFLOW_CLUSTER_PIPELINE:-$source_dir/tests/cluster/quickstart-small.yaml}")
minutes=${RGFLOW_CLUSTER_MINUTES:-8}
train_tasks=${RGFLOW_CLUSTER_TRAIN_TASKS:-4}
[[ "$minutes" =~ ^[1-9][0-9]*$ ]] ||
  { echo "cluster test: RGFLOW_CLUSTER_MINUTES must be a whole number" >&2; exit 2; }
[[ "$train_tasks" == 2 || "$train_tasks" == 4 ]] ||
  { echo "cluster test: RGFLOW_CLUSTER_TRAIN_TASKS must be 2 or 4" >&2; exit 2; }
# Every process started here ends by itself after this many seconds, even if the test is killed
# with no chance to clean up (SIGKILL, as CTest's timeout of 900 s does): with the default time
# limits, within CTest's; otherwise long enough for three jobs at their limit.
lifetime=840
[[ -n "${RGFLOW_CLUSTER_MINUTES:-}" ]] && lifetime=$((minutes * 180 + 300))
work=$(mktemp -d /tmp/rgflow_cluster_XXXXXX)
tag=$(tr '[:upper:]' '[:lower:]' <<<"${work##*_}")
subnet=198.18.0
nodes=("" "rgc${tag}n1" "rgc${tag}n2" "rgc${tag}n3")
holders=()     # the processes holding the namespaces: switch, then nodes 1-3
namespaces=()  # the inodes of their network namespaces
host_pids=()   # processes started on the host (munged, the single-node run)
slurm_started=0
# A SLURM job's environment (when the test itself runs in one) would steer sbatch and mpirun.
# shellcheck disable=SC2046 # names of variables
unset $(compgen -e | grep '^SLURM_') 2>/dev/null || true

# Every process inside one of the test's namespaces (its holders included), by the inode of its
# network namespace.
processes_inside() {
  local inode file
  # shellcheck disable=SC2211 # every process's namespace link
  stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null | while read -r inode file; do
    for known in "${namespaces[@]}"; do
      [[ "$inode" == "$known" ]] && file=${file#/proc/} && echo "${file%%/*}" && break
    done
  done
}

cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  if ((status != 0)); then
    echo "cluster test: FAILED; logs:"
    for log in "$work"/*.log "$work"/multi/rgflow-*.log; do
      [[ -f "$log" ]] && echo "--- $log" && tail -n 15 "$log"
    done
  fi
  if ((${#namespaces[@]})); then
    # SLURM first cancels its jobs; then every process left inside gets TERM and, after up to
    # 3 s, KILL (slurmstepd blocks TERM).
    ((slurm_started)) &&
      timeout 10 nsenter -t "${holders[1]}" --net --uts -- scancel --quiet --partition=cluster &&
      sleep 1
    local pids
    for signal in TERM KILL; do
      pids=$(processes_inside)
      [[ -z "$pids" ]] && break
      # shellcheck disable=SC2086 # a list of process ids
      kill -s "$signal" $pids 2>/dev/null
      for _ in $(seq 30); do
        [[ -z "$(processes_inside)" ]] && break
        sleep 0.1
      done
    done
    [[ -z "$(processes_inside)" ]] || echo "cluster test: processes left in the namespaces" >&2
  fi
  # Holders whose namespace was not recorded yet (the test ended while creating them).
  for pid in "${holders[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${host_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${host_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "cluster test: FAILED: $*" >&2
  exit 1
}

# Runs "$@" in the background and waits for it: a TERM or INT to the test then ends it at once
# (bash runs traps only between foreground commands), and the clean-up ends what is left.
interruptible() {
  "$@" &
  wait $!
}

# Runs "$@" on node $1 (its network and hostname; the host's file system).
on_node() {
  local node=$1
  shift
  nsenter -t "${holders[$node]}" --net --uts -- "$@"
}

# --- The network: a switch namespace with a bridge, three nodes with one veth each. -------------
unshare --net --uts -- true 2>"$work/unshare.err" ||
  fail "cannot create network namespaces: $(head -n 1 "$work/unshare.err") (needs CAP_SYS_ADMIN)"
unshare --net -- sleep "$lifetime" &
holders[0]=$!
for node in 1 2 3; do
  unshare --net --uts -- sh -c "hostname ${nodes[$node]} && exec sleep $lifetime" &
  holders[node]=$!
done
host_namespace=$(stat -L -c %i /proc/$$/ns/net)
for node in 0 1 2 3; do
  for _ in $(seq 50); do
    inode=$(stat -L -c %i "/proc/${holders[node]}/ns/net")
    [[ "$inode" != "$host_namespace" ]] && break
    sleep 0.1
  done
  [[ "$inode" != "$host_namespace" ]] || fail "namespace $node was not created"
  namespaces+=("$inode")
done
on_node 0 ip link set lo up
on_node 0 ip link add bridge0 type bridge
on_node 0 ip link set bridge0 up
for node in 1 2 3; do
  on_node 0 ip link add "port$node" type veth peer name eth0 netns "${holders[$node]}"
  on_node 0 ip link set "port$node" master bridge0
  on_node 0 ip link set "port$node" up
  on_node "$node" ip link set lo up
  on_node "$node" ip addr add "$subnet.$node/24" dev eth0
  on_node "$node" ip link set eth0 up
  [[ $(on_node "$node" hostname) == "${nodes[$node]}" ]] || fail "node $node has the wrong hostname"
done
# No route out: the nodes know only their subnet.
on_node 2 ip route | grep -q default && fail "node 2 has a default route"
echo "cluster test: nodes ${nodes[1]} ${nodes[2]} ${nodes[3]} on $subnet.0/24"

# --- munge and SLURM. ----------------------------------------------------------------------------
mkdir -p "$work/state" "$work/spool" "$work/munge" "$work/multi"
chmod 755 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.4)}' /proc/meminfo)
cat >"$work/slurm.conf" <<CONF
ClusterName=rgflowcluster
SlurmctldHost=${nodes[1]}($subnet.1)
NodeName=${nodes[2]} NodeAddr=$subnet.2 CPUs=2 RealMemory=$memory State=UNKNOWN
NodeName=${nodes[3]} NodeAddr=$subnet.3 CPUs=2 RealMemory=$memory State=UNKNOWN
PartitionName=cluster Nodes=${nodes[2]},${nodes[3]} Default=YES MaxTime=INFINITE State=UP
CONF
slurm_common_settings "$work" >>"$work/slurm.conf"
export SLURM_CONF=$work/slurm.conf
slurm_started=1

timeout "$lifetime" munged --foreground --force --key-file="$work/munge/munge.key" \
  --socket="$work/munge/munge.socket" --pid-file="$work/munge/munged.pid" \
  --seed-file="$work/munge/munged.seed" --log-file="$work/munged.log" >>"$work/munged.log" 2>&1 &
host_pids+=($!)
for _ in $(seq 50); do [[ -S "$work/munge/munge.socket" ]] && break; sleep 0.1; done
[[ -S "$work/munge/munge.socket" ]] || fail "munged did not start"
on_node 1 timeout "$lifetime" slurmctld -D -i -f "$work/slurm.conf" >>"$work/slurmctld.log" 2>&1 &
for node in 2 3; do
  on_node "$node" timeout "$lifetime" slurmd -D -N "${nodes[$node]}" -f "$work/slurm.conf" \
    >>"$work/slurmd-${nodes[$node]}.log" 2>&1 &
done
for _ in $(seq 150); do
  states=$(on_node 1 sinfo -h -N -o "%N %T" 2>/dev/null | sort | paste -sd' ' -) || true
  [[ "$states" == "${nodes[2]} idle ${nodes[3]} idle" ]] && break
  sleep 0.2
done
[[ "$states" == "${nodes[2]} idle ${nodes[3]} idle" ]] ||
  fail "the compute nodes are not idle after 30 s (sinfo: '$states')"
echo "cluster test: SLURM up: slurmctld on ${nodes[1]}, slurmd on ${nodes[2]} and ${nodes[3]}"

# --- The single-node run: the reference. -------------------------------------------------------
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$SECONDS
mpiexec -n 2 --oversubscribe "$exe" run "$pipeline" -outdir "$work/single" \
  >"$work/single.log" 2>&1 &
host_pids+=($!)
wait $! || fail "the single-node run failed (see $work/single.log)"
echo "cluster test: single-node run (2 ranks) done in $((SECONDS - start)) s"

# --- The multi-node chain. ---------------------------------------------------------------------
# Bytes through a bridge port so far, both directions (the switch namespace's /proc/net/dev).
port_bytes() {
  # shellcheck disable=SC2016 # awk fields, not shell variables
  on_node 0 awk -v port="port$1:" '$1 == port {print $2 + $10}' /proc/net/dev
}
before=$(port_bytes 3)
start=$SECONDS
# Open MPI: ranks talk through TCP only, daemons and ranks on the nodes' subnet only; ranks yield
# the core while they wait (more ranks than cores). No figures (RGFLOW_PYTHON=false): they are
# not compared, and the SLURM test covers them.
interruptible on_node 1 env OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self \
  OMPI_MCA_btl_tcp_if_include="$subnet.0/24" OMPI_MCA_oob_tcp_if_include="$subnet.0/24" \
  OMPI_MCA_mpi_yield_when_idle=1 RGFLOW_PYTHON=false \
  "$source_dir/jobs/submit.sh" "$pipeline" --rgflow "$exe" --outdir "$work/multi" \
  --launcher mpirun --nodes 2 --tasks-per-node 2 --train-nodes 2 --train-tasks "$train_tasks" \
  --time-generate "$minutes" --time-train "$minutes" --time-analyze "$minutes" --wait \
  --timeout $((lifetime - SECONDS - 30)) >"$work/submit.out" 2>&1 ||
  { cat "$work/submit.out"; fail "the multi-node chain did not complete"; }
cat "$work/submit.out"
traffic=$(($(port_bytes 3) - before))
echo "cluster test: multi-node chain done in $((SECONDS - start)) s;" \
  "$((traffic / 1000)) kB through ${nodes[3]}'s link"
# SLURM and Open MPI's launcher move far fewer bytes (about 90 kB per job, measured with a tiny
# pipeline); the ranks' own messages (reductions, the analysis's exchanges) are the bulk.
((traffic > 10000000)) || fail "only $traffic bytes crossed ${nodes[3]}'s link: not the MPI traffic"
models=$("$exe" run "$pipeline" -outdir "$work/single" -list_models | wc -l)
[[ $(grep -c ": COMPLETED x" "$work/submit.out") -eq 3 ]] || fail "not every job completed"
grep -q "COMPLETED x$models" "$work/submit.out" || fail "not every training task completed"

# Placement: every job's ranks span both compute nodes, as many on each as asked for.
logs=("$work"/multi/rgflow-generate-*.log "$work"/multi/rgflow-train-*.log
  "$work"/multi/rgflow-analyze-*.log)
((${#logs[@]} == models + 2)) || fail "expected $((models + 2)) job logs, found ${#logs[@]}"
for log in "${logs[@]}"; do
  per_node=2
  [[ "$log" == *-train-* ]] && per_node=$((train_tasks / 2))
  line=$(grep "^rgflow jobs: ranks per node:" "$log") || fail "no placement line in $log"
  expected="rgflow jobs: ranks per node: ${nodes[2]} x$per_node, ${nodes[3]} x$per_node"
  [[ "$line" == "$expected" ]] || fail "$(basename "$log"): '$line', expected '$expected'"
done
grep -q "^rgflow generate: 4 rank(s)" "$work"/multi/rgflow-generate-*.log ||
  fail "generation did not run on 4 ranks"
grep -q "on $train_tasks rank(s)" "$work"/multi/rgflow-train-*_0.log ||
  fail "training did not run on $train_tasks ranks"
echo "cluster test: every job's ranks span ${nodes[2]} and ${nodes[3]}"

# --- Identical outputs. ------------------------------------------------------------------------
mapfile -t files < <(cd "$work/single" && find data models results -name '*.h5' | sort)
mapfile -t multi_files < <(cd "$work/multi" && find data models results -name '*.h5' | sort)
((${#files[@]} >= 3)) || fail "the single-node run wrote only ${#files[@]} HDF5 files"
[[ "${files[*]}" == "${multi_files[*]}" ]] ||
  fail "the runs wrote different files: '${files[*]}' against '${multi_files[*]}'"
"$python" "$source_dir/tests/cluster/compare_outputs.py" "$work/single" "$work/multi" \
  "${files[@]}" ||
  fail "the multi-node outputs differ from the single-node run"
for table in "$work"/single/results/*.csv; do
  cmp -s "$table" "$work/multi/results/$(basename "$table")" ||
    fail "results/$(basename "$table") differs from the single-node run"
done
[[ -z "$(on_node 1 squeue -h)" ]] || fail "jobs left in the queue"
echo "cluster test: passed"
