# The slurm.conf settings the SLURM tests share (tests/slurm/slurm_chain_test.sh and
# tests/cluster/cluster_test.sh): a private SLURM run as root with munge, its state, spool, pid and
# log files under the test's folder WORK (one spool, pid and log file per node name), no cgroups,
# and finished jobs kept for the tests to query. Each test adds its hosts, ports, nodes and
# partition.
#
#   source tests/slurm/slurm_conf.sh; slurm_common_settings WORK >>slurm.conf
slurm_common_settings() {
  local work=$1
  cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool/%n
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd-%n.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
DependencyParameters=kill_invalid_depend
MinJobAge=3600
SchedulerParameters=defer_batch=0
CONF
}
