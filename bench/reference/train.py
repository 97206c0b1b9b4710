#!/usr/bin/python3
"""Reference for `rgflow train` and for one training step of its networks, written with PyTorch.

The task: learn the 2D CLT block map from pairs (the b x b values of a block, their sum / b).
Inputs are i.i.d. uniform on (-sqrt 3, sqrt 3), float32, drawn with numpy's Philox bit generator
and held in memory; one epoch over --samples pairs, in order (the pairs are i.i.d., so shuffling
would change nothing but the cost), batches of --batch, Adam (learning rate --lr, PyTorch's
other defaults), mean squared error.

Models (--model, comma-separated):
  mlp       MLP 4-64-64-1, tanh, on 2x2 blocks                                    4545 parameters
  gnn       graph network on the 2x2 block's nearest-neighbour graph (a 4-cycle): 3 layers
            h_i <- tanh(W_self h_i + W_nbr sum_{j ~ i} h_j + b) of width 32, the neighbour sum
            as a product with the adjacency matrix, sum pooling, linear readout  4289 parameters
  mlp-wide  MLP 16-128-128-1, tanh, on 4x4 blocks                                 18817 parameters

One process: --threads N sets OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS to N
before torch is imported, and torch.set_num_threads(N).
--ddp: data parallel over MPI (run under mpiexec; mpi4py): every rank starts from rank 0's
weights, takes its contiguous batch/size share of every global batch, and the flattened gradient
is summed with one MPI Allreduce per step and divided by the rank count before each rank's own
Adam step; one thread per rank. At the end the ranks' weights are compared bit for bit.

Timed: the training loop only (not drawing the data, building the model or evaluating it);
under --ddp between barriers, the slowest rank's time. samples/s = samples / loop seconds. The
MSE over all pairs is evaluated, untimed, after the last repeat.

    /usr/bin/python3 bench/reference/train.py --model mlp --threads 1 --repeats 3
    mpiexec -n 2 /usr/bin/python3 bench/reference/train.py --model mlp --ddp --repeats 3

--json (written by rank 0) holds {"ranks", "threads", "torch", "blas", "models": {"<model>":
{"parameters", "samples_per_s": [...], "median_samples_per_s", "final_mse",
"weights_identical"}}}.
"""
import argparse
import json
import os
import statistics
import sys
import time

MODELS = ("mlp", "gnn", "mlp-wide")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mlp,gnn",
                        help="comma-separated models among %s (default mlp,gnn)" %
                        ", ".join(MODELS))
    parser.add_argument("--samples", type=int, default=1 << 20,
                        help="training pairs, one epoch (default 1048576)")
    parser.add_argument("--batch", type=int, default=256, help="global batch (default 256)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    parser.add_argument("--seed", type=int, default=12345, help="data and weights seed")
    parser.add_argument("--threads", type=int, default=1, help="threads of one process (1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs (default 3)")
    parser.add_argument("--ddp", action="store_true", help="data parallel over MPI ranks")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    args.models = [name.strip() for name in args.model.split(",") if name.strip()]
    unknown = [name for name in args.models if name not in MODELS]
    if unknown or not args.models:
        parser.error("unknown model '%s' (choose among %s)" %
                     (",".join(unknown), ", ".join(MODELS)))
    if args.samples < args.batch or args.batch < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("need --batch >= 1, --samples >= --batch, --repeats >= 1, --threads >= 1")
    if args.ddp:
        args.threads = 1
    return args


ARGS = parse_arguments()
for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)  # read once, when the runtimes load

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(ARGS.threads)

if ARGS.ddp:
    from mpi4py import MPI  # noqa: E402

    COMM = MPI.COMM_WORLD
    RANK, SIZE = COMM.Get_rank(), COMM.Get_size()
    if ARGS.batch % SIZE != 0:
        if RANK == 0:
            sys.stderr.write("train.py: error: --batch %d is not a multiple of the %d ranks\n" %
                             (ARGS.batch, SIZE))
        sys.exit(1)
else:
    COMM, RANK, SIZE = None, 0, 1


def say(text):
    if RANK == 0:
        print(text, flush=True)


# ---------------------------------------------------------------- data
def block_pairs(samples, side, seed):
    """Blocks of side x side unit-variance uniforms (row-major) and their CLT images."""
    rng = np.random.Generator(np.random.Philox(seed))
    blocks = rng.random((samples, side * side), dtype=np.float32)
    blocks *= np.float32(2.0)
    blocks -= np.float32(1.0 - 2.0**-24)  # symmetric about 0, inside (-1, 1)
    blocks *= np.float32(np.sqrt(3.0))
    images = blocks.sum(axis=1, keepdims=True) * np.float32(1.0 / side)
    return torch.from_numpy(blocks), torch.from_numpy(images)


# ---------------------------------------------------------------- models
def mlp(inputs, width):
    return torch.nn.Sequential(torch.nn.Linear(inputs, width), torch.nn.Tanh(),
                               torch.nn.Linear(width, width), torch.nn.Tanh(),
                               torch.nn.Linear(width, 1))


def lattice_adjacency(side):
    """Adjacency of the nearest-neighbour graph of a side x side block, open boundaries."""
    nodes = side * side
    adjacency = torch.zeros(nodes, nodes)
    for row in range(side):
        for col in range(side):
            here = row * side + col
            if col + 1 < side:
                adjacency[here, here + 1] = adjacency[here + 1, here] = 1.0
            if row + 1 < side:
                adjacency[here, here + side] = adjacency[here + side, here] = 1.0
    return adjacency


class GraphLayer(torch.nn.Module):
    """h_i <- tanh(W_self h_i + W_nbr sum_{j ~ i} h_j + b) on every node at once."""

    def __init__(self, inputs, outputs):
        super().__init__()
        self.own = torch.nn.Linear(inputs, outputs)  # W_self and the bias
        self.neighbours = torch.nn.Linear(inputs, outputs, bias=False)  # W_nbr

    def forward(self, features, adjacency):  # features: (batch, nodes, inputs)
        return torch.tanh(self.own(features) + self.neighbours(adjacency @ features))


class BlockGraphNetwork(torch.nn.Module):
    def __init__(self, side=2, width=32, layers=3):
        super().__init__()
        self.register_buffer("adjacency", lattice_adjacency(side))
        widths = [1] + [width] * layers
        self.layers = torch.nn.ModuleList(GraphLayer(widths[i], widths[i + 1])
                                          for i in range(layers))
        self.readout = torch.nn.Linear(width, 1)

    def forward(self, blocks):  # blocks: (batch, nodes), one scalar feature per node
        features = blocks.unsqueeze(-1)
        for layer in self.layers:
            features = layer(features, self.adjacency)
        return self.readout(features.sum(dim=1))


def build(name):
    """(model, block side) for a model name."""
    if name == "mlp":
        return mlp(4, 64), 2
    if name == "gnn":
        return BlockGraphNetwork(), 2
    return mlp(16, 128), 4


# ---------------------------------------------------------------- training
def flatten(tensors):
    return torch.cat([tensor.reshape(-1) for tensor in tensors])


def train_epoch(model, blocks, images):
    """One epoch of Adam on MSE; returns the loop's seconds (slowest rank under --ddp)."""
    parameters = list(model.parameters())
    optimiser = torch.optim.Adam(parameters, lr=ARGS.lr)
    loss_function = torch.nn.MSELoss()
    share = ARGS.batch // SIZE
    steps = blocks.shape[0] // ARGS.batch
    gradient = torch.zeros(sum(p.numel() for p in parameters))
    gradient_buffer = gradient.numpy()  # shares memory: MPI reduces in place into the tensor
    if COMM is not None:
        COMM.Barrier()
    start = time.perf_counter()
    for step in range(steps):
        first = step * ARGS.batch + RANK * share
        optimiser.zero_grad(set_to_none=True)
        loss = loss_function(model(blocks[first:first + share]), images[first:first + share])
        loss.backward()
        if COMM is not None:
            torch.cat([p.grad.reshape(-1) for p in parameters], out=gradient)
            COMM.Allreduce(MPI.IN_PLACE, gradient_buffer, op=MPI.SUM)
            gradient.mul_(1.0 / SIZE)
            offset = 0
            for p in parameters:
                p.grad.copy_(gradient[offset:offset + p.numel()].view_as(p))
                offset += p.numel()
        optimiser.step()
    if COMM is not None:
        COMM.Barrier()
    seconds = time.perf_counter() - start
    return COMM.allreduce(seconds, op=MPI.MAX) if COMM is not None else seconds


def mean_squared_error(model, blocks, images):
    with torch.no_grad():
        total = 0.0
        for first in range(0, blocks.shape[0], 65536):
            error = model(blocks[first:first + 65536]) - images[first:first + 65536]
            total += float((error.double() ** 2).sum())
    return total / blocks.shape[0]


def run_model(name, data):
    rates = []
    model = None
    for repeat in range(ARGS.repeats):
        torch.manual_seed(ARGS.seed)
        model, side = build(name)
        if COMM is not None:  # every rank starts from rank 0's weights
            weights = flatten(model.parameters()).detach().numpy().copy()
            COMM.Bcast(weights, root=0)
            torch.nn.utils.vector_to_parameters(torch.from_numpy(weights), model.parameters())
        if side not in data:
            data[side] = block_pairs(ARGS.samples, side, ARGS.seed)
        blocks, images = data[side]
        seconds = train_epoch(model, blocks, images)
        rates.append(blocks.shape[0] // ARGS.batch * ARGS.batch / seconds)
        say("%s repeat %d: %.3f s, %.4g samples/s" % (name, repeat, seconds, rates[-1]))
    result = dict(parameters=sum(p.numel() for p in model.parameters()), samples_per_s=rates,
                  median_samples_per_s=statistics.median(rates),
                  final_mse=mean_squared_error(model, *data[side]))
    if COMM is not None:
        weights = COMM.gather(flatten(model.parameters()).detach().numpy(), root=0)
        if RANK == 0:
            result["weights_identical"] = all(np.array_equal(weights[0], w) for w in weights)
    say("%s on %d rank(s), %d thread(s): median %.4g samples/s, final MSE %.3e%s" %
        (name, SIZE, ARGS.threads, result["median_samples_per_s"], result["final_mse"],
         ", weights identical on every rank: %s" % result["weights_identical"]
         if "weights_identical" in result else ""))
    return result


def blas_libraries():
    """The BLAS libraries mapped into this process (is OpenBLAS in use?)."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path).lower():
                found.add(os.path.realpath(path))
    return sorted(found)


def main():
    data = {}
    results = {name: run_model(name, data) for name in ARGS.models}
    if ARGS.json and RANK == 0:
        with open(ARGS.json, "w") as handle:
            json.dump(dict(program="bench/reference/train.py", argv=sys.argv, ranks=SIZE,
                           threads=ARGS.threads, torch=torch.__version__,
                           blas=blas_libraries(), samples=ARGS.samples, batch=ARGS.batch,
                           models=results), handle, indent=1)


if __name__ == "__main__":
    main()
