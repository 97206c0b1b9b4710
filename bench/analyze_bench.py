#!/usr/bin/python3
"""Analyze benchmark of issue 10: the quickstart's analyze stage with every part on (cumulants,
4 models x generalisation on every test set, learned flows, symmetry, propagation), on 2 ranks:

    mpiexec -n 2 build/rgflow run pipelines/quickstart.yaml -outdir OUT -stage analyze

after the generate and train stages ran once (untimed; OUT defaults to bench/out/analyze).
Each round removes the results and reruns the stage; reports the median wall time of the stage
(as `rgflow run` prints it) and the median seconds per phase on rank 0 (the line analyze
prints). Then the forward pass of a network inside analyze against the train benchmark's model
(build/bench/rgflow_bench_analyze: MLP 4-64-64-1 tanh on the blocks of a 1024 x 1024 field,
float32 and double, single thread), medians of --repeats repetitions.

    /usr/bin/python3 bench/analyze_bench.py --repeats 5 [--build build] [--outdir DIR] [--realtime]

--realtime runs the timed stage under `chrt -f 10` (root only): on a machine shared with other
jobs the two ranks then take the cores they need, so the wall time is that of an idle machine
(Linux keeps 5% of each second for other work). The CPU seconds per phase, which analyze prints
beside the wall seconds, do not need it.
"""
import argparse
import glob
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
PHASES = re.compile(r"^rgflow analyze: seconds per phase on rank 0: (.*)", re.M)
CPU_PHASES = re.compile(r"^rgflow analyze: CPU seconds per phase on rank 0: (.*)", re.M)
STAGE = re.compile(r"^\s*analyze\s+\S+\s+done\s+([0-9.]+)", re.M)


def run_stage(exe, outdir, stage, realtime=False):
    command = (["chrt", "-f", "10"] if realtime else []) + ["mpiexec", "--oversubscribe", "-n", "2", exe, "run",
               os.path.join(ROOT, "pipelines", "quickstart.yaml"), "-outdir", outdir,
               "-stage", stage]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, check=True).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--outdir", default=os.path.join(ROOT, "bench", "out", "analyze"))
    parser.add_argument("--realtime", action="store_true",
                        help="run the timed stage under chrt -f 10 (root)")
    args = parser.parse_args()
    exe = os.path.join(args.build, "rgflow")
    for stage in ("generate", "train"):
        run_stage(exe, args.outdir, stage)  # untimed; a finished stage is kept
    walls, phases, cpu = [], {}, {}
    for _ in range(args.repeats):
        for old in glob.glob(os.path.join(args.outdir, "results", "*")):
            os.remove(old)
        out = run_stage(exe, args.outdir, "analyze", args.realtime)
        walls.append(float(STAGE.search(out).group(1)))
        for pattern, table in ((PHASES, phases), (CPU_PHASES, cpu)):
            for item in pattern.search(out).group(1).split(", "):
                name, seconds, _ = item.rsplit(" ", 2)
                table.setdefault(name, []).append(float(seconds))
    print("quickstart analyze stage, 2 ranks: median %.2f s (runs: %s)"
          % (statistics.median(walls), ", ".join("%.2f" % w for w in walls)))
    print("  %-16s %8s %8s" % ("phase (rank 0)", "wall", "CPU"))
    for name, values in phases.items():
        print("  %-16s %6.2f s %6.2f s"
              % (name, statistics.median(values), statistics.median(cpu.get(name, [0.0]))))
    bench = subprocess.run(
        [os.path.join(args.build, "bench", "rgflow_bench_analyze"),
         "--benchmark_repetitions=%d" % args.repeats, "--benchmark_report_aggregates_only=true"],
        capture_output=True, text=True, check=True).stdout
    for line in bench.splitlines():
        if "_median" in line:
            print("  " + line)


if __name__ == "__main__":
    main()
