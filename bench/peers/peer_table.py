"""Prints the side-by-side table of bench/peers/run_peers.sh from bench_gradient's JSON
and the JAX peer's JSON lines: per shape, kernelmc's full and collapsed gradients/s and
GFLOP/s, the same-run P×N times N×N product by Eigen and by the build's BLAS, the full
gradient's fraction of the faster of the two (the ceiling of this machine), and the JAX
peer's gradients/s with kernelmc's ratio to it."""
import json
import sys


def shape_of(name):
    # "BM_FullGradient/P:64/d:16/N:128/L:2/..." -> (64, 16, 128, 2)
    fields = dict(part.split(":") for part in name.split("/")[1:] if ":" in part)
    return tuple(int(fields[k]) for k in ("P", "d", "N", "L"))


def main(kernelmc_path, jax_path):
    bench = json.load(open(kernelmc_path))
    rows = {}
    for b in bench["benchmarks"]:
        kind = b["name"].split("/")[0].removeprefix("BM_")
        rows.setdefault(shape_of(b["name"]), {})[kind] = b
    peers = {}
    for line in open(jax_path):
        j = json.loads(line)
        peers[(j["P"], j["d"], j["N"], j["L"])] = j
    ctx = bench["context"]
    print(f"kernelmc: {ctx.get('kernelmc_arch')}, {ctx.get('kernelmc_compiler')}, flags {ctx.get('kernelmc_flags')}, "
          f"Eigen SIMD {ctx.get('eigen_simd')}, activations {ctx.get('activation_math')}, "
          f"BLAS {ctx.get('kernelmc_blas')}")
    jax_version = next(iter(peers.values()))["version"] if peers else "-"
    print(f"peer: JAX {jax_version} (jit, CPU, float64, one thread); machine: {ctx.get('host_name')}, "
          f"{ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz")
    header = ("(P, d, N, L)", "full grad/s", "full GFLOP/s", "Eigen GEMM", "BLAS GEMM", "of the ceiling",
              "collapsed grad/s",
              "collapsed/full", "JAX grad/s", "JAX GFLOP/s", "full/JAX")
    print(" | ".join(header))
    for shape in sorted(rows, key=lambda s: SHAPE_ORDER.index(s) if s in SHAPE_ORDER else 99):
        r = rows[shape]
        full, coll, gemm = r.get("FullGradient"), r.get("CollapsedGradient"), r.get("ProductPxNtimesNxN")
        blas = r.get("BlasProductPxNtimesNxN")
        blas_rate = blas.get("GFLOP/s") if blas and "error_message" not in blas else None
        ceiling = max(gemm["GFLOP/s"], blas_rate or 0.0)
        peer = peers.get(shape)
        cells = [str(shape),
                 f"{full['gradients/s']:.4g}", f"{full['GFLOP/s']:.1f}",
                 f"{gemm['GFLOP/s']:.1f}", f"{blas_rate:.1f}" if blas_rate else "no BLAS",
                 f"{full['GFLOP/s'] / ceiling:.0%}",
                 f"{coll['gradients/s']:.4g}", f"{coll['gradients/s'] / full['gradients/s']:.2f}",
                 f"{peer['gradients_per_s']:.4g}" if peer else "-",
                 f"{peer['gflops']:.1f}" if peer else "-",
                 f"{full['gradients/s'] / peer['gradients_per_s']:.2f}x" if peer else "-"]
        print(" | ".join(cells))


SHAPE_ORDER = [(64, 16, 128, 2), (256, 16, 256, 3), (1024, 32, 512, 3), (128, 16, 1024, 2)]

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
