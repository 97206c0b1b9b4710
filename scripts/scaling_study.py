#!/usr/bin/env python3
"""rgflow's scaling study: strong scaling, weak scaling and a sweep of the lattice size.

Each point runs pipelines/scaling.yaml (generate, train, analyze of one d = 2 lattice) under
`mpiexec -n P`, with the lattice side and sample count set on the command line, and records per
stage: wall seconds (each stage a process of its own, `rgflow run -stage`, MPI start-up
included: use lattices whose stages take seconds), sites/s per rank, parallel efficiency, peak RSS
per rank (the stages' summary lines), the bytes the stage reads and writes (from the dataset's
geometry) and rank 0's seconds of computation, file I/O and communication where the stage reports
them (generate: random + coarse, write; analyze: CPU seconds; train: steps minus all-reduce and,
when its windows are streamed during the steps, load; load; all-reduce), which
scripts/scaling_model.py projects to larger machines. Each point runs --repeats times,
interleaved (every point once, then every point again, ...), and the CSV holds the medians. Each
run's datasets are deleted after it (--keep-outputs keeps them: the sweep's largest are GBs);
each stage's printed lines stay in --out/logs/<mode>_P<ranks>_L<side>_r<repeat>_<stage>.log.
Output: scaling.csv and scaling.png in --out (the figure needs matplotlib; python3-matplotlib on
Debian, for the python3 that has it).

  strong  fixed lattice (--strong-L), P in --ranks        efficiency T(1) / (P T(P))
  weak    sites per rank fixed: L = L1 P^(1/2), rounded to a multiple of the top-level block
          side                                             efficiency (sites/s per rank) / that at P = 1
  sweep   L = 2^a for a in --sweep-exponents on --sweep-ranks ranks

On a machine with fewer cores than ranks the figures are for correctness, not speed: the study
says so in its CSV (column `oversubscribed`).

  python3 scripts/scaling_study.py --out runs/scaling --modes strong,weak,sweep --repeats 3

To re-measure some points of an earlier study, run them to a directory of their own and merge:
a later CSV's rows replace the earlier ones of the same mode, stage, P and L, efficiencies are
recomputed against the merged P = 1 rows, and the figure is drawn from the result (--note adds a
line under it, e.g. the machine and its load):

  python3 scripts/scaling_study.py --out docs --merge docs/scaling.csv runs/sweep/scaling.csv
"""
import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

STAGES = ("generate", "train", "analyze")


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def lattice_bytes(side, samples, levels, block, dim=2, scalar=4):
    """Bytes of every level of the dataset, and of levels 0 and 1 alone."""
    per_level = [samples * (side // block**k) ** dim * scalar for k in range(levels + 1)]
    return sum(per_level), per_level[0] + per_level[1]


def run_point(args, ranks, side, samples, outdir, log_prefix):
    """The pipeline's three stages, each its own `rgflow run -stage` process (so each reports its
    own peak RSS), each one's output kept in log_prefix_STAGE.log; returns {stage: (wall seconds
    of the process, peak RSS MiB or None, breakdown)}."""
    command = ["mpiexec", "-n", str(ranks)]
    if args.oversubscribe:
        command.append("--oversubscribe")
    command += [args.exe, "run", args.pipeline, "-outdir", outdir, "-force",
                "-generate_lattice_L", str(side), "-generate_lattice_samples", str(samples),
                "-generate_lattice_levels", str(args.levels),
                "-generate_lattice_memory_mb", str(args.memory_mb),
                # space jackknife groups are slabs of top-level block rows: at most one per row
                "-analyze_groups", str(min(16, side // args.block))]
    command += args.extra
    measured = {}
    for stage in STAGES:
        started = time.perf_counter()
        result = subprocess.run(command + ["-stage", stage], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        with open(f"{log_prefix}_{stage}.log", "w") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            lines = [l.strip() for l in (result.stderr + result.stdout).splitlines()
                     if l.strip() and not l.strip().startswith("---")]
            errors = [l for l in lines if l.startswith("error") or "error:" in l]
            fail(f"P = {ranks}, L = {side}, {stage}: " +
                 (errors or lines or ["exit " + str(result.returncode)])[0])
        found = re.findall(r"peak RSS (\d+) MiB", result.stdout)
        measured[stage] = (seconds, int(found[-1]) if found else None,
                           breakdown(stage, result.stdout))
    return measured


def breakdown(stage, text):
    """Rank 0's seconds of computation, file I/O and communication from a stage's summary lines
    (None where the stage does not report it): what scripts/scaling_model.py builds on. On a
    loaded machine wall seconds include waiting for a core; analyze's CPU seconds do not."""
    number = r"([0-9.]+)"
    if stage == "generate":
        m = re.search(rf"random {number} s, coarse {number} s, write {number} s", text)
        return (float(m[1]) + float(m[2]), float(m[3]), None) if m else (None, None, None)
    if stage == "analyze":
        m = re.search(r"CPU seconds per phase on rank 0: (.*)", text)
        return (sum(float(v) for v in re.findall(rf"{number} s", m[1])), None, None) if m \
            else (None, None, None)
    m = re.search(rf"steps in {number} s .*all-reduce {number} s, load {number} s", text)
    if not m:
        return (None, None, None)
    steps, reduce, load = float(m[1]), float(m[2]), float(m[3])
    # Streamed windows are loaded during the steps; windows of whole samples before them.
    streamed = "streamed from the file" in text
    return (steps - reduce - (load if streamed else 0.0), load, reduce)


def summarize(args, mode, ranks, side, samples, runs):
    """The CSV rows of one point (one per stage) from its repeats: medians of each figure."""
    everything, training = lattice_bytes(side, samples, args.levels, args.block)
    io = {"generate": (0, everything), "analyze": (everything, 0), "train": (training, 0)}
    rows = []
    for stage in STAGES:
        seconds = statistics.median(r[stage][0] for r in runs)
        rss_values = [r[stage][1] for r in runs if r[stage][1] is not None]
        parts = []
        for k in range(3):
            values = [r[stage][2][k] for r in runs if r[stage][2][k] is not None]
            parts.append(statistics.median(values) if values else "")
        sites = samples * side * side
        rows.append({
            "mode": mode, "stage": stage, "ranks": ranks, "L": side, "samples": samples,
            "sites": sites, "seconds": seconds, "repeats": len(runs),
            "sites_per_s_per_rank": sites / seconds / ranks if seconds > 0 else float("nan"),
            "peak_rss_mib_per_rank": max(rss_values) if rss_values else "",
            "bytes_read": io[stage][0], "bytes_written": io[stage][1],
            "compute_s": parts[0], "io_s": parts[1], "comm_s": parts[2],
            "oversubscribed": int(ranks > (os.cpu_count() or 1)),
        })
    for row in rows:
        print(f"{mode:6s} {row['stage']:8s} P={ranks:<2d} L={side:<6d} {row['seconds']:8.2f} s "
              f"{row['sites_per_s_per_rank']:10.3e} sites/s/rank  RSS {row['peak_rss_mib_per_rank']} MiB",
              flush=True)
    return rows


def measure_all(args, points):
    """Runs every point (mode, ranks, side, samples) --repeats times, interleaved (all points once,
    then all again, ...) so that a change of the machine's load spreads over every point instead
    of falling on one; each run's output directory is removed after it unless --keep-outputs."""
    runs = {point: [] for point in points}
    for repeat in range(args.repeats):
        for point in points:
            mode, ranks, side, samples = point
            outdir = os.path.join(args.out, f"{mode}_P{ranks}_L{side}")
            log_prefix = os.path.join(args.out, "logs", f"{mode}_P{ranks}_L{side}_r{repeat + 1}")
            runs[point].append(run_point(args, ranks, side, samples, outdir, log_prefix))
            if not args.keep_outputs:
                shutil.rmtree(outdir, ignore_errors=True)
            print(f"repeat {repeat + 1}/{args.repeats}: {mode} P={ranks} L={side} done", flush=True)
    rows = []
    for point in points:
        rows += summarize(args, *point, runs[point])
    return rows


def add_efficiency(rows):
    for mode in ("strong", "weak"):
        for stage in STAGES:
            points = [r for r in rows if r["mode"] == mode and r["stage"] == stage]
            base = [r for r in points if r["ranks"] == 1]
            for r in points:
                if not base:
                    r["efficiency"] = ""
                elif mode == "strong":
                    r["efficiency"] = base[0]["seconds"] / (r["ranks"] * r["seconds"])
                else:
                    r["efficiency"] = r["sites_per_s_per_rank"] / base[0]["sites_per_s_per_rank"]
    for r in rows:
        r.setdefault("efficiency", "")


def plot(rows, path, note=""):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (Debian: python3-matplotlib): no figure", file=sys.stderr)
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, mode, x, y, ylabel in (
            (axes[0], "strong", "ranks", "efficiency", "parallel efficiency"),
            (axes[1], "weak", "ranks", "efficiency", "weak efficiency"),
            (axes[2], "sweep", "sites", "sites_per_s_per_rank", "sites/s per rank")):
        for stage in STAGES:
            points = sorted((r for r in rows if r["mode"] == mode and r["stage"] == stage
                             and r[y] != ""), key=lambda r: r[x])
            if points:
                ax.plot([r[x] for r in points], [r[y] for r in points], "o-", label=stage)
        ax.set_xscale("log", base=2)
        if mode == "sweep":
            ax.set_yscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(ylabel)
        ax.set_title(mode)
        if ax.lines:  # a mode not measured leaves its panel empty
            ax.legend()
    if note:
        fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=9)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
    else:
        fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


COLUMNS = ("mode", "stage", "ranks", "L", "samples", "sites", "seconds", "repeats",
           "sites_per_s_per_rank", "peak_rss_mib_per_rank", "bytes_read", "bytes_written",
           "compute_s", "io_s", "comm_s", "oversubscribed", "efficiency")
INTEGER_COLUMNS = ("ranks", "L", "samples", "sites", "repeats", "peak_rss_mib_per_rank",
                   "bytes_read", "bytes_written", "oversubscribed")


def read_rows(path):
    """The rows of a scaling.csv this script wrote, with numbers as numbers ('' stays '')."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                fail(f"{path}: not a scaling study CSV (columns {', '.join(COLUMNS)})")
            rows = list(reader)
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    for line, row in enumerate(rows, start=2):
        for key in COLUMNS[2:]:
            if row[key] in ("", None):
                row[key] = ""
                continue
            try:
                row[key] = int(row[key]) if key in INTEGER_COLUMNS else float(row[key])
            except ValueError:
                fail(f"{path}, line {line}: {key} '{row[key]}' is not a number")
    return rows


def merge(paths):
    """The rows of several CSVs; a later file's row replaces an earlier one of the same mode,
    stage, P and L (in its place), so a study can re-measure some points and keep the rest."""
    merged = {}
    for path in paths:
        for row in read_rows(path):
            merged[(row["mode"], row["stage"], row["ranks"], row["L"])] = row
    return list(merged.values())


def write_outputs(rows, out, note):
    """scaling.csv and scaling.png in out, each written under a temporary name and renamed."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "scaling.csv")
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)
    figure = os.path.join(out, "scaling.png")
    drawn = plot(rows, figure + ".tmp.png", note)
    if drawn:
        os.replace(figure + ".tmp.png", figure)
    print(f"wrote {path}" + (f" and {figure}" if drawn else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", default="build/rgflow")
    parser.add_argument("--pipeline", default="pipelines/scaling.yaml")
    parser.add_argument("--out", default="runs/scaling", help="where scaling.csv and .png go")
    parser.add_argument("--modes", default="strong,weak,sweep")
    parser.add_argument("--ranks", default="1,2,4,8")
    parser.add_argument("--strong-L", type=int, default=4096)
    parser.add_argument("--weak-L1", type=int, default=2048, help="the side at P = 1")
    parser.add_argument("--sweep-exponents", default="8-13",
                        help="a-b: L = 2^a .. 2^b (15 is the acceptance case: 2^31 sites per sample)")
    parser.add_argument("--sweep-ranks", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--levels", type=int, default=6)
    parser.add_argument("--memory-mb", type=int, default=256, help="generate's budget per rank")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each point, interleaved")
    parser.add_argument("--no-oversubscribe", dest="oversubscribe", action="store_false")
    parser.add_argument("--keep-outputs", action="store_true",
                        help="keep each run's datasets and results in --out (large)")
    parser.add_argument("--merge", nargs="+", metavar="CSV",
                        help="run nothing: merge these CSVs (later rows replace earlier rows of "
                             "the same mode, stage, P and L), recompute the efficiencies and "
                             "write scaling.csv and scaling.png in --out")
    parser.add_argument("--note", default="", help="a line under the figure (machine, load)")
    parser.add_argument("extra", nargs="*", help="more rgflow run options, after --")
    args = parser.parse_args()
    if args.merge:
        rows = merge(args.merge)
        add_efficiency(rows)
        write_outputs(rows, args.out, args.note)
        return
    args.block = 2**args.levels  # b = 2: the side of a top-level block
    if not os.access(args.exe, os.X_OK):
        fail(f"no rgflow executable at '{args.exe}' (build first, or give --exe)")
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in ("strong", "weak", "sweep"):
            fail(f"--modes: unknown mode '{m}' (strong, weak, sweep)")
    if not re.fullmatch(r"[0-9]+(,[0-9]+)*", args.ranks):
        fail(f"--ranks: '{args.ranks}' is not a list of rank counts such as 1,2,4,8")
    ranks = [int(p) for p in args.ranks.split(",")]
    exponents = re.fullmatch(r"([0-9]+)-([0-9]+)", args.sweep_exponents)
    if not exponents:
        fail(f"--sweep-exponents: '{args.sweep_exponents}' is not a range a-b such as 8-13")
    first, last = int(exponents[1]), int(exponents[2])
    if args.repeats < 1:
        fail(f"--repeats: {args.repeats}, needs at least 1")
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    points = []
    if "strong" in modes:
        points += [("strong", p, args.strong_L, args.samples) for p in ranks]
    if "weak" in modes:
        for p in ranks:
            side = max(args.block, round(args.weak_L1 * p**0.5 / args.block) * args.block)
            points.append(("weak", p, side, args.samples))
    if "sweep" in modes:
        points += [("sweep", args.sweep_ranks, 2**a, args.samples) for a in range(first, last + 1)]
    rows = measure_all(args, points)
    add_efficiency(rows)
    write_outputs(rows, args.out, args.note)


if __name__ == "__main__":
    main()
