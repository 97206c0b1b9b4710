# shellcheck shell=bash
# Shared by the batch scripts of jobs/: environment, module loads and the MPI launcher. The batch
# scripts find it through RGFLOW_JOBS_DIR (set by submit.sh), since SLURM runs a copy of each
# script from its spool folder.
set -euo pipefail

: "${RGFLOW_PIPELINE:?RGFLOW_PIPELINE is not set (submit with jobs/submit.sh)}"
: "${RGFLOW_OUTDIR:?RGFLOW_OUTDIR is not set (submit with jobs/submit.sh)}"
: "${RGFLOW_EXE:?RGFLOW_EXE is not set (submit with jobs/submit.sh)}"
RGFLOW_LAUNCHER=${RGFLOW_LAUNCHER:-srun}

if [[ -n "${RGFLOW_MODULES:-}" ]]; then
  # shellcheck disable=SC2086 # a space-separated list of modules
  module load $RGFLOW_MODULES
fi
# Debian's Open MPI refuses root without these; harmless elsewhere.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# Runs "$@" on every task of the allocation.
launch() {
  case "$RGFLOW_LAUNCHER" in
    srun) srun --mpi="${RGFLOW_SRUN_MPI:-pmix}" "$@" ;;
    mpirun) mpirun -n "${SLURM_NTASKS:-1}" "$@" ;;
    *)
      echo "rgflow jobs: RGFLOW_LAUNCHER must be srun or mpirun, not '$RGFLOW_LAUNCHER'" >&2
      return 2
      ;;
  esac
}

# Prints where the launcher places the job's ranks, one count per node (a rank runs `hostname`):
# "rgflow jobs: ranks per node: node1 x2, node2 x2". The stage after it gets the same placement
# (same launcher, same allocation).
report_placement() {
  local hosts
  if hosts=$(launch hostname 2>/dev/null); then
    sort <<<"$hosts" | uniq -c |
      awk '{printf "%s%s x%s", sep, $2, $1; sep=", "} END {print ""}' |
      sed 's/^/rgflow jobs: ranks per node: /'
  else
    echo "rgflow jobs: ranks per node: unknown (the launcher could not run hostname)"
  fi
}

echo "rgflow jobs: ${SLURM_JOB_NAME:-job} ${SLURM_JOB_ID:-} on ${SLURM_JOB_NODELIST:-?}" \
  "(${SLURM_NTASKS:-1} tasks) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
