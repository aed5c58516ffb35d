"""The full-posterior gradient of bench/bench_gradient.cpp in JAX (jit, CPU, float64).

Same potential (THEORY.md §1.4) and shapes: U(θ) = ‖F − Y‖²/(2κ) + ½‖θ‖² with
h¹ = X W₀ᵀ √(g/d), h^(l+1) = φ(h^(l)) W_lᵀ √(g/N), F = φ(h^(L)) w √(g/N), φ = erf,
g = 1, σ_b² = 0, κ = 1, D = 1. Times jax.jit(jax.value_and_grad(U)) on one thread and
prints one JSON object per shape: gradients/s and GFLOP/s of the same counted
matrix-product flops as bench_gradient (4PdN + 6(L−1)PN² + 6PND), per CPU second.

Run through bench/peers/run_peers.sh (it pins one thread and sets up the venv).
"""
import json
import os
import sys
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

SHAPES = [(64, 16, 128, 2), (256, 16, 256, 3), (1024, 32, 512, 3), (128, 16, 1024, 2)]
KAPPA, G, D = 1.0, 1.0, 1


def make_potential(P, d, N, L):
    sizes = [(N, d)] + [(N, N)] * (L - 1) + [(N, D)]

    def unpack(theta):
        mats, offset = [], 0
        for rows, cols in sizes:
            # Column-major blocks as in sampling/parameter_layout.hpp (the layout does
            # not change the cost).
            mats.append(theta[offset:offset + rows * cols].reshape((cols, rows)).T)
            offset += rows * cols
        return mats

    def potential(theta, X, Y):
        mats = unpack(theta)
        h = X @ mats[0].T * jnp.sqrt(G / d)
        for W in mats[1:-1]:
            h = jax.lax.erf(h) @ W.T * jnp.sqrt(G / N)
        F = jax.lax.erf(h) @ mats[-1] * jnp.sqrt(G / N)
        return jnp.sum((F - Y) ** 2) / (2 * KAPPA) + 0.5 * jnp.sum(theta ** 2)

    dim = sum(r * c for r, c in sizes)
    return jax.jit(jax.value_and_grad(potential)), dim


def measure(shape, min_seconds=2.0):
    P, d, N, L = shape
    grad, dim = make_potential(P, d, N, L)
    rng = np.random.default_rng(1)
    X = jnp.asarray(rng.standard_normal((P, d)))
    Y = jnp.asarray(rng.standard_normal((P, D)))
    theta = jnp.asarray(rng.standard_normal(dim))
    jax.block_until_ready(grad(theta, X, Y))  # compile
    # CPU time of the process, as Google Benchmark's rates in bench_gradient: robust to
    # other jobs on a shared machine (the wall time is not).
    n, start = 0, time.process_time()
    while True:
        jax.block_until_ready(grad(theta, X, Y))
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= min_seconds and n >= 5:
            break
    flops = 4 * P * d * N + 6 * (L - 1) * P * N * N + 6 * P * N * D
    rate = n / elapsed
    return {"peer": "jax", "version": jax.__version__, "P": P, "d": d, "N": N, "L": L,
            "gradients_per_s": rate, "gflops": rate * flops * 1e-9,
            "xla_flags": os.environ["XLA_FLAGS"]}


def main():
    for shape in SHAPES:
        print(json.dumps(measure(shape)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
