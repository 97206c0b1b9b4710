#!/usr/bin/env bash
# Submits a pipeline file to SLURM as a chain of three jobs: generation, training as a job array
# (one task per model), analysis after them. See jobs/README.md.
#
#   jobs/submit.sh PIPELINE.yaml [--outdir DIR] [--wait] [options]
#
# Every option has an environment variable of the same meaning (shown in brackets) and a default.
set -euo pipefail

usage() {
  cat <<'TEXT'
usage: jobs/submit.sh PIPELINE.yaml [options]
  --outdir DIR          outputs of the pipeline [RGFLOW_OUTDIR; default runs/<pipeline name>]
  --rgflow PATH         the rgflow executable [RGFLOW_EXE; default build/rgflow beside jobs/]
  --partition NAME      partition for every job [RGFLOW_PARTITION; default: the cluster's]
  --account NAME        account to charge [RGFLOW_ACCOUNT; default: none]
  --nodes N             nodes of the generation and analysis jobs [RGFLOW_NODES; 1]
  --tasks-per-node N    MPI tasks per node of those jobs [RGFLOW_TASKS_PER_NODE; 2]
  --train-tasks N       MPI tasks of each training task [RGFLOW_TRAIN_TASKS; 2]
  --train-nodes N       nodes of each training task [RGFLOW_TRAIN_NODES; SLURM chooses]
  --time-generate T     time limit of the generation job [RGFLOW_TIME_GENERATE; 01:00:00]
  --time-train T        time limit of each training task [RGFLOW_TIME_TRAIN; 01:00:00]
  --time-analyze T      time limit of the analysis job [RGFLOW_TIME_ANALYZE; 01:00:00]
  --modules "A B"       modules to load in every job [RGFLOW_MODULES; none]
  --launcher NAME       srun (srun --mpi=pmix) or mpirun [RGFLOW_LAUNCHER; srun]
  --sbatch-option OPT   passed to every sbatch, may repeat (e.g. --sbatch-option=--qos=debug)
  --wait                wait for the chain, print each job's final state, exit non-zero if any
                        job did not complete
  --timeout S           give up waiting after S seconds [RGFLOW_WAIT_TIMEOUT; 86400]
TEXT
}

fail() {
  echo "rgflow submit: error: $*" >&2
  exit 2
}

jobs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pipeline=""
outdir=${RGFLOW_OUTDIR:-}
exe=${RGFLOW_EXE:-$jobs_dir/../build/rgflow}
partition=${RGFLOW_PARTITION:-}
account=${RGFLOW_ACCOUNT:-}
nodes=${RGFLOW_NODES:-1}
tasks_per_node=${RGFLOW_TASKS_PER_NODE:-2}
train_tasks=${RGFLOW_TRAIN_TASKS:-2}
train_nodes=${RGFLOW_TRAIN_NODES:-}
time_generate=${RGFLOW_TIME_GENERATE:-01:00:00}
time_train=${RGFLOW_TIME_TRAIN:-01:00:00}
time_analyze=${RGFLOW_TIME_ANALYZE:-01:00:00}
modules=${RGFLOW_MODULES:-}
launcher=${RGFLOW_LAUNCHER:-srun}
wait_for_chain=0
timeout=${RGFLOW_WAIT_TIMEOUT:-86400}
extra=()

while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --outdir) outdir=${2:?--outdir needs a value}; shift ;;
    --rgflow) exe=${2:?--rgflow needs a value}; shift ;;
    --partition) partition=${2:?--partition needs a value}; shift ;;
    --account) account=${2:?--account needs a value}; shift ;;
    --nodes) nodes=${2:?--nodes needs a value}; shift ;;
    --tasks-per-node) tasks_per_node=${2:?--tasks-per-node needs a value}; shift ;;
    --train-tasks) train_tasks=${2:?--train-tasks needs a value}; shift ;;
    --train-nodes) train_nodes=${2:?--train-nodes needs a value}; shift ;;
    --time-generate) time_generate=${2:?--time-generate needs a value}; shift ;;
    --time-train) time_train=${2:?--time-train needs a value}; shift ;;
    --time-analyze) time_analyze=${2:?--time-analyze needs a value}; shift ;;
    --modules) modules=${2:?--modules needs a value}; shift ;;
    --launcher) launcher=${2:?--launcher needs a value}; shift ;;
    --sbatch-option=*) extra+=("${1#--sbatch-option=}") ;;
    --wait) wait_for_chain=1 ;;
    --timeout) timeout=${2:?--timeout needs a value}; shift ;;
    -*) fail "unknown option '$1' (see jobs/submit.sh --help)" ;;
    *)
      [[ -z "$pipeline" ]] || fail "more than one pipeline file given ('$pipeline', '$1')"
      pipeline=$1
      ;;
  esac
  shift
done

[[ -n "$pipeline" ]] || fail "no pipeline file given (usage: jobs/submit.sh PIPELINE.yaml)"
[[ -f "$pipeline" ]] || fail "pipeline file '$pipeline' does not exist"
[[ -x "$exe" ]] || fail "rgflow executable '$exe' not found (build it, or give --rgflow)"
for number in "$nodes" "$tasks_per_node" "$train_tasks" ${train_nodes:+"$train_nodes"} \
  "$timeout"; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || fail "'$number' is not a positive whole number"
done
[[ "$launcher" == srun || "$launcher" == mpirun ]] ||
  fail "--launcher must be srun or mpirun, not '$launcher'"
command -v sbatch >/dev/null || fail "sbatch not found: is this a SLURM cluster (SLURM_CONF)?"
if [[ -z "$outdir" ]]; then
  name=$(basename "$pipeline")
  outdir=runs/${name%.*}
fi
pipeline=$(cd "$(dirname "$pipeline")" && pwd)/$(basename "$pipeline")
exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")
mkdir -p "$outdir" || fail "cannot create '$outdir'"
outdir=$(cd "$outdir" && pwd)

# The pipeline is checked here, on the login node, before anything is queued.
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
if ! model_list=$("$exe" run "$pipeline" -outdir "$outdir" -list_models 2>&1); then
  fail "the pipeline is not valid: $model_list"
fi
mapfile -t models <<<"$model_list"
[[ -n "${models[0]:-}" ]] || models=()

exports="ALL,RGFLOW_PIPELINE=$pipeline,RGFLOW_OUTDIR=$outdir,RGFLOW_EXE=$exe"
exports+=",RGFLOW_JOBS_DIR=$jobs_dir,RGFLOW_LAUNCHER=$launcher,RGFLOW_MODULES=$modules"
common=(--parsable --chdir="$outdir" --export="$exports")
[[ -n "$partition" ]] && common+=(--partition="$partition")
[[ -n "$account" ]] && common+=(--account="$account")
common+=("${extra[@]}")

submit() {
  local id
  id=$(sbatch "${common[@]}" "$@") || fail "sbatch refused: sbatch ${*}"
  echo "${id%%;*}"
}

generate_id=$(submit --nodes="$nodes" --ntasks-per-node="$tasks_per_node" \
  --time="$time_generate" "$jobs_dir/generate.sbatch")
job_ids=("$generate_id")
echo "rgflow submit: generate job $generate_id"
dependency=afterok:$generate_id
if ((${#models[@]})); then
  train_placement=(--ntasks="$train_tasks")
  [[ -n "$train_nodes" ]] && train_placement+=(--nodes="$train_nodes")
  train_id=$(submit --array=0-$((${#models[@]} - 1)) "${train_placement[@]}" \
    --time="$time_train" --dependency="$dependency" "$jobs_dir/train.sbatch")
  job_ids+=("$train_id")
  echo "rgflow submit: train job array $train_id (${#models[@]} models: ${models[*]})"
  dependency=afterok:$train_id
fi
analyze_id=$(submit --nodes="$nodes" --ntasks-per-node="$tasks_per_node" \
  --time="$time_analyze" --dependency="$dependency" "$jobs_dir/analyze.sbatch")
job_ids+=("$analyze_id")
echo "rgflow submit: analyze job $analyze_id"
echo "rgflow submit: outputs in $outdir (logs: $outdir/rgflow-*.log)"
((wait_for_chain)) || exit 0

# The states of every job (array tasks included) of a job id; empty once SLURM forgot it.
states_of() {
  scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

final_state() {
  case "$1" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL | PREEMPTED | DEADLINE | \
      BOOT_FAIL | SPECIAL_EXIT) return 0 ;;
    *) return 1 ;;
  esac
}

# Waits, bounded, until no job of the chain is pending or running.
deadline=$((SECONDS + timeout))
declare -A last
while :; do
  busy=0
  for id in "${job_ids[@]}"; do
    states=$(states_of "$id")
    [[ -n "$states" ]] && last[$id]=$states
    for state in $states; do final_state "$state" || busy=1; done
  done
  ((busy)) || break
  if ((SECONDS >= deadline)); then
    echo "rgflow submit: still waiting after $timeout s; cancelling the chain" >&2
    scancel "${job_ids[@]}" 2>/dev/null || true
    exit 1
  fi
  sleep 2
done

status=0
for id in "${job_ids[@]}"; do
  states=${last[$id]:-UNKNOWN}
  summary=$(tr ' ' '\n' <<<"$states" | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
  echo "rgflow submit: job $id: $summary"
  for state in $states; do [[ "$state" == COMPLETED ]] || status=1; done
done
((status == 0)) || echo "rgflow submit: the chain did not complete; see $outdir/rgflow-*.log" >&2
exit "$status"
