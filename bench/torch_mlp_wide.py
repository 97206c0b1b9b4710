#!/usr/bin/python3
"""PyTorch reference for issue 3's model (c): MLP 16-128-128-1 tanh on 4x4 blocks, Adam, batch
256, one thread, float32, one epoch over --samples pairs, timing the training loop only (the
same method as ../shared/bench-peers/train_peer.py, which covers models (a) and (b)).

    /usr/bin/python3 bench/torch_mlp_wide.py --repeats 5
"""
import argparse
import os
import statistics
import time

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--samples", type=int, default=1 << 18)
parser.add_argument("--batch", type=int, default=256)
parser.add_argument("--repeats", type=int, default=5)
args = parser.parse_args()
for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[variable] = "1"

import torch  # noqa: E402

torch.set_num_threads(1)
generator = torch.Generator().manual_seed(1)
x = (torch.rand(args.samples, 16, generator=generator) * 2 - 1) * 3 ** 0.5
y = x.sum(dim=1, keepdim=True) / 4.0
rates = []
for repeat in range(args.repeats):
    torch.manual_seed(repeat)
    model = torch.nn.Sequential(torch.nn.Linear(16, 128), torch.nn.Tanh(), torch.nn.Linear(128, 128),
                                torch.nn.Tanh(), torch.nn.Linear(128, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = torch.nn.MSELoss()
    start = time.perf_counter()
    for first in range(0, args.samples, args.batch):
        optimizer.zero_grad()
        loss = loss_function(model(x[first:first + args.batch]), y[first:first + args.batch])
        loss.backward()
        optimizer.step()
    rates.append(args.samples / (time.perf_counter() - start))
    print("repeat %d: %.4g samples/s" % (repeat, rates[-1]), flush=True)
print("median %.4g samples/s" % statistics.median(rates))
