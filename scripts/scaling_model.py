#!/usr/bin/env python3
"""Projects rgflow's stages to a larger machine from the scaling study's measurements.

Reads the CSV of scripts/scaling_study.py, takes from it each stage's measured cost of
computation per site and rank (its `compute_s` column: generate's random + coarse phases,
analyze's CPU seconds, train's step time minus all-reduce and load), and combines it with a
model of the file system, the memory bandwidth and MPI_Allreduce on the target machine (the
assumptions are options, printed with the result):

  generate  T = c_gen S L^d / P_busy + bytes / B_io + steps x allreduce(P, 8 B)
            P_busy = min(P, S x top-level blocks): the ranks that own a box of some sample
  analyze   T = max(c_an, c_mem) S L^d / P_busy + bytes / B_io + allreduce(P, slots x 8 B)
            P_busy = min(P, chunks): each jackknife slot (a sample group, or a (sample, space
            group)) is cut into chunks of at least 2^22 sites of whole canonical tiles, each read
            and summed by one rank (--analyze-over slots: P_busy = min(P, slots), as before the
            chunks; tiles: min(P, canonical tiles), the limit of one tile per rank)
            c_mem = bytes of every level per site / (memory bandwidth per node / ranks per node)
  train     T = steps x (c_train batch / P + allreduce(P, 4 B x parameters)) + window / B_io
  allreduce(P, n) = 2 ceil(log2 P) alpha + 2 n / beta  (recursive doubling latency, and the
                    reduce-scatter + all-gather volume of large messages)
  B_io = min(file system bandwidth, nodes x per-node client bandwidth)

Efficiency, from the same model: strong T(1) / (P T(P)), and T(1 node) / (nodes T(P)) against
one node of --ranks-per-node ranks; weak the sites/s per rank against 1 rank and against 1 node
(sites per rank fixed; train: batch per rank fixed, T(1) / T(P)).

  python3 scripts/scaling_model.py runs/scaling/scaling.csv --nodes 16 --ranks-per-node 64
"""
import argparse
import csv
import math
import sys


# The target machine's figures (options; defaults: an InfiniBand HDR cluster with a mid-size Lustre).
MACHINE = (
    ("alpha-us", 2.0, "interconnect latency per all-reduce step, microseconds"),
    ("beta-gbs", 10.0, "interconnect bandwidth per node, GB/s"),
    ("fs-gbs", 20.0, "parallel file system bandwidth, all nodes, GB/s"),
    ("node-io-gbs", 2.5, "file system bandwidth one node's client reaches, GB/s"),
    ("membw-gbs", 200.0, "memory bandwidth of one node, GB/s, shared by its ranks"),
)


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def per_site_costs(rows, steps, batch):
    """Seconds of computation per level-0 site and rank for generate and analyze, and seconds per
    training sample and rank for train (rank 0 trains batch / P samples a step), from the largest
    lattice measured without oversubscription (the cost at small sizes includes start-up)."""
    costs = {}
    for stage in ("generate", "analyze", "train"):
        usable = [r for r in rows if r["stage"] == stage and r["compute_s"] not in ("", None)
                  and int(r["oversubscribed"]) == 0 and float(r["compute_s"]) > 0]
        if not usable:
            fail(f"the CSV has no {stage} row with compute_s (rerun scripts/scaling_study.py)")
        best = max(usable, key=lambda r: (int(r["sites"]), -float(r["compute_s"])))
        share = (steps * batch if stage == "train" else int(best["sites"])) / int(best["ranks"])
        costs[stage] = (float(best["compute_s"]) / share, best)
    return costs


def allreduce(ranks, message_bytes, alpha, beta):
    if ranks <= 1:
        return 0.0
    return 2 * math.ceil(math.log2(ranks)) * alpha + 2 * message_bytes / beta


def project(args, costs, ranks, nodes, samples, side, batch):
    """Seconds of each stage on `ranks` ranks over `nodes` nodes, and the term that dominates."""
    d, b, levels = args.dim, args.block, args.levels
    sites = samples * side**d
    level_sites = sum(samples * (side // b**k) ** d for k in range(levels + 1))
    data_bytes = 4 * level_sites  # float32, every level
    io_bandwidth = min(args.fs_gbs, nodes * args.node_io_gbs) * 1e9
    top_side = b**levels
    top_blocks = (side // top_side) ** d
    top_rows = side // top_side
    alpha, beta = args.alpha_us * 1e-6, args.beta_gbs * 1e9
    ranks_here = max(1, min(ranks, args.ranks_per_node))
    memory_cost = 4 * level_sites / sites / (args.membw_gbs * 1e9 / ranks_here)
    result = {}

    busy = min(ranks, samples * top_blocks)
    steps = math.ceil(samples * top_rows / busy)  # a step is at least one row of a rank's box
    parts = {"compute": costs["generate"][0] * sites / busy, "io": data_bytes / io_bandwidth,
             "comm": steps * allreduce(ranks, 8, alpha, beta)}
    result["generate"] = parts

    groups = args.groups if samples >= args.groups else min(args.groups, top_rows)
    slots = groups if samples >= args.groups else samples * groups
    row_sites = top_side * side ** (d - 1)
    tile_rows = max(1, 2**18 // row_sites)  # top-level block rows of a canonical tile
    tiles = samples * math.ceil(top_rows / tile_rows)  # canonical tiles of every sample
    # Chunks: a slot's tiles (space groups: a sample's rows of the group) in runs of at least
    # 2^22 sites; samples smaller than a chunk in runs of whole samples (data_pass.hpp).
    slot_rows = top_rows // groups if samples < args.groups else top_rows
    tiles_per_chunk = math.ceil(args.chunk_sites / (tile_rows * row_sites))
    if slot_rows * row_sites >= args.chunk_sites:
        units = samples * (groups if samples < args.groups else 1)
        chunks = units * math.ceil(math.ceil(slot_rows / tile_rows) / tiles_per_chunk)
    else:
        per_chunk = math.ceil(args.chunk_sites / (slot_rows * row_sites))
        chunks = slots if samples < args.groups else groups * math.ceil(samples / groups / per_chunk)
    pieces = {"slots": slots, "chunks": chunks, "tiles": tiles}[args.analyze_over]
    busy = min(ranks, pieces)
    parts = {"compute": max(costs["analyze"][0], memory_cost) * sites / busy,
             "io": data_bytes / io_bandwidth,
             "comm": 3 * allreduce(ranks, 8 * pieces * (levels + 1) * (args.order + 1), alpha,
                                   beta)}
    result["analyze"] = parts

    window = min(args.window_pairs, samples * (side // b) ** d) * 4 * (b**d + 1)
    parts = {"compute": args.train_steps * costs["train"][0] * batch / ranks,
             "io": window / io_bandwidth,
             "comm": args.train_steps * allreduce(ranks, 4 * args.parameters, alpha, beta)}
    result["train"] = parts
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="+", help="scaling.csv files of scripts/scaling_study.py")
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--ranks-per-node", type=int, default=64)
    parser.add_argument("--L", type=int, default=32768, help="lattice side of the projection")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--block", type=int, default=2)
    parser.add_argument("--levels", type=int, default=8)
    parser.add_argument("--order", type=int, default=8)
    parser.add_argument("--groups", type=int, default=16, help="analyze's -groups")
    parser.add_argument("--analyze-over", choices=("chunks", "slots", "tiles"), default="chunks",
                        help="analyze's unit of work: chunks of jackknife slots (now), whole "
                             "slots (before the chunks), or single canonical tiles")
    parser.add_argument("--chunk-sites", type=int, default=2**22,
                        help="analyze's chunk, level-0 sites (analysis::kChunkSites)")
    parser.add_argument("--weak-sites-per-rank", type=float, default=2**24,
                        help="weak scaling: level-0 sites per rank")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--parameters", type=int, default=97)
    parser.add_argument("--window-pairs", type=int, default=12582912,
                        help="pairs of the first training window (train's summary line)")
    for name, default, meaning in MACHINE:
        parser.add_argument(f"--{name}", type=float, default=default, help=meaning)
    args = parser.parse_args()
    rows = []
    for path in args.csv:
        try:
            with open(path, newline="") as f:
                rows += list(csv.DictReader(f))
        except OSError as error:
            fail(f"cannot read '{path}': {error.strerror}")
    costs = per_site_costs(rows, args.train_steps, args.batch)
    ranks = args.nodes * args.ranks_per_node
    print(f"# measured costs: generate {costs['generate'][0]:.3e} s/site/rank (L = "
          f"{costs['generate'][1]['L']}, P = {costs['generate'][1]['ranks']}), analyze "
          f"{costs['analyze'][0]:.3e} s/site/rank (L = {costs['analyze'][1]['L']}), train "
          f"{costs['train'][0]:.3e} s/sample/rank (L = {costs['train'][1]['L']})")
    print(f"# assumptions: {args.nodes} nodes x {args.ranks_per_node} ranks, all-reduce alpha "
          f"{args.alpha_us} us, beta {args.beta_gbs} GB/s, file system {args.fs_gbs} GB/s "
          f"(node {args.node_io_gbs} GB/s), memory {args.membw_gbs} GB/s per node")
    print("| scaling | stage | P | L | compute s | I/O s | comm s | total s | efficiency vs 1 rank | "
          "vs 1 node | limited by |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    top_side = args.block**args.levels

    def side_for(sites_per_sample):
        return max(top_side, int(round(math.sqrt(sites_per_sample) / top_side)) * top_side)

    node = args.ranks_per_node
    # Weak scaling keeps the work per rank: sites, and train's batch per rank.
    points = {"strong": [(r, args.L, args.batch) for r in (1, node, ranks)],
              "weak": [(r, side_for(args.weak_sites_per_rank * r / args.samples), args.batch * r)
                       for r in (1, node, ranks)]}
    for mode, ((_, side1, batch1), (_, side_node, batch_node), (_, side, batch)) in points.items():
        one = project(args, costs, 1, 1, args.samples, side1, batch1)
        one_node = project(args, costs, node, 1, args.samples, side_node, batch_node)
        here = project(args, costs, ranks, args.nodes, args.samples, side, batch)
        for stage in ("generate", "analyze", "train"):
            t1, tn, tp = (sum(p[stage].values()) for p in (one, one_node, here))
            if mode == "strong":
                efficiency, per_node = t1 / (ranks * tp), tn / (args.nodes * tp)
            elif stage == "train":
                efficiency, per_node = t1 / tp, tn / tp
            else:  # sites/s per rank against one rank, and against one node
                rate = side**args.dim / (tp * ranks)
                efficiency = rate / (side1**args.dim / t1)
                per_node = rate / (side_node**args.dim / (tn * node))
            p = here[stage]
            limit = max(p, key=p.get)
            print(f"| {mode} | {stage} | {ranks} | {side} | {p['compute']:.3g} | {p['io']:.3g} | "
                  f"{p['comm']:.3g} | {tp:.3g} | {efficiency:.2f} | {per_node:.2f} | {limit} |")


if __name__ == "__main__":
    main()
