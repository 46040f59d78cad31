"""Benchmark: dlcourse.conv (NumPy) against torch.nn.functional.conv2d (CPU), fwd and fwd+bwd.

Run with ``.venv/bin/python bench/conv.py [--rounds N]`` (about a minute for the default 100). Not a test: timings depend
on the machine and its load. Both libraries get the same number of threads (all the
cores). Each figure is the best of several calls, torch and NumPy calls interleaved in
short blocks so that a burst of load elsewhere hits both alike (see ``best_of``). Ratios are ours / torch: below 1 we are
faster. The forward+backward of PyTorch is a forward and an autograd ``backward`` giving
the gradients of x, w and b; ours is ``conv2d`` then ``conv2d_backward``.

The last line is ``float64 forward+backward ratio ours/torch: <x>`` on CS231n's shape.
"""

from __future__ import annotations

import os
import sys
import time

THREADS = os.cpu_count() or 1
# Must be set before NumPy loads its BLAS; the user's own setting wins.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dlcourse.conv import conv2d, conv2d_backward, conv2d_backward_naive, conv2d_naive  # noqa: E402

torch.set_num_threads(THREADS)

# (name, x shape, w shape, stride, padding)
CASES = [
    ("CS231n", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
    ("LeNet conv1", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2),
    ("LeNet conv2", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
]
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 100


def _load() -> str:
    return "n/a" if not hasattr(os, "getloadavg") else "%.1f" % os.getloadavg()[0]


def best_of(funcs: dict, rounds: int = ROUNDS, block: int = 5) -> dict:
    """Best wall time of one call of each function.

    Calls run in blocks of ``block`` consecutive calls of the same function, blocks
    interleaved round by round: a burst of load elsewhere hits both libraries alike, while a
    library's first call after the other's does not pay for the other's threads still
    spinning (PyTorch's OpenMP workers busy-wait a while after each parallel region, and
    would otherwise steal the cores from NumPy's threads, and the other way round).
    """
    best = dict.fromkeys(funcs, float("inf"))
    for f in funcs.values():  # warm-up: allocators, thread pools, caches
        f()
    for _ in range(max(1, rounds // block)):
        for name, f in funcs.items():
            for _ in range(block):
                t0 = time.perf_counter()
                f()
                best[name] = min(best[name], time.perf_counter() - t0)
    return best


def bench_case(xs, ws, stride, padding, dtype) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    y = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
    g = torch.randn_like(y)
    dout = g.numpy()

    def torch_fwd():
        with torch.no_grad():
            F.conv2d(tx, tw, tb, stride=stride, padding=padding)

    def torch_fwd_bwd():
        tx.grad = tw.grad = tb.grad = None
        F.conv2d(tx, tw, tb, stride=stride, padding=padding).backward(g)

    def ours_fwd():
        conv2d(x, w, b, stride=stride, padding=padding)

    def ours_fwd_bwd():
        conv2d(x, w, b, stride=stride, padding=padding)
        conv2d_backward(dout, x, w, stride=stride, padding=padding)

    # Same results first (float32 sums in a different order: looser tolerance).
    tol = 1e-9 if dtype == np.float64 else 1e-3
    torch_fwd_bwd()
    dx, dw, db = conv2d_backward(dout, x, w, stride=stride, padding=padding)
    for ours, ref in ((conv2d(x, w, b, stride=stride, padding=padding), y.detach().numpy()),
                      (dx, tx.grad.numpy()), (dw, tw.grad.numpy()), (db, tb.grad.numpy())):
        assert np.allclose(ours, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))

    return best_of({"torch fwd": torch_fwd, "ours fwd": ours_fwd,
                    "torch fwd+bwd": torch_fwd_bwd, "ours fwd+bwd": ours_fwd_bwd})


def main() -> None:
    print(f"numpy {np.__version__}, torch {torch.__version__}, {THREADS} threads each, "
          f"best of {ROUNDS} calls (ms); load average {_load()}")
    ratio_cs231n = {}
    for dtype in (np.float64, np.float32):
        for name, xs, ws, stride, padding in CASES:
            t = bench_case(xs, ws, stride, padding, dtype)
            fwd = t["ours fwd"] / t["torch fwd"]
            both = t["ours fwd+bwd"] / t["torch fwd+bwd"]
            print(f"{np.dtype(dtype).name:7s} {name:11s} x{xs} w{ws} s={stride} p={padding}: "
                  f"forward {1e3 * t['ours fwd']:6.2f} vs torch {1e3 * t['torch fwd']:6.2f} "
                  f"(ratio {fwd:4.2f}); forward+backward {1e3 * t['ours fwd+bwd']:6.2f} vs "
                  f"{1e3 * t['torch fwd+bwd']:6.2f} (ratio {both:4.2f})")
            if name == "CS231n":
                ratio_cs231n[np.dtype(dtype).name] = both
        sys.stdout.flush()

    # The loop versions are for reading: one small case, per call.
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    dout = rng.standard_normal((2, 4, 8, 8))
    t = best_of({
        "naive": lambda: (conv2d_naive(x, w, padding=1),
                          conv2d_backward_naive(dout, x, w, padding=1)),
        "vectorised": lambda: (conv2d(x, w, padding=1), conv2d_backward(dout, x, w, padding=1)),
    }, rounds=10)
    print(f"naive loops, x(2, 3, 8, 8) w(4, 3, 3, 3) p=1, forward+backward: "
          f"{1e3 * t['naive']:.2f} ms per call vs {1e3 * t['vectorised']:.3f} ms vectorised "
          f"({t['naive'] / t['vectorised']:.0f}x slower)")
    print(f"load average at the end {_load()} (other processes skew timings, torch's most)")
    print(f"float32 forward+backward ratio ours/torch: {ratio_cs231n['float32']:.2f}")
    print(f"float64 forward+backward ratio ours/torch: {ratio_cs231n['float64']:.2f}")


if __name__ == "__main__":
    main()
