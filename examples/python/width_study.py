"""A width study from Python: kernelmc.validate over widths N, then the relative discrepancy
|E_post[C] - prediction|_F / |C_GP|_F of each theory against N, with Monte Carlo error bars,
one panel per layer (log-log), drawn with matplotlib when it is installed.

The model is the README's demo study (erf at the edge of chaos with sigma_b^2 = 0.1,
g = g_c(0.1) = 1.55212, L = 2, THEORY.md's Config B data, collapsed static HMC), with fewer
draws. Run from the repository root, in the environment of README.md's "Python" section:

    python3 examples/python/width_study.py                 # N = 16..128: 16 s CPU (2.5 min wall at load 25)
    python3 examples/python/width_study.py --quick         # N = 8, 16 and few draws: a smoke run
    python3 examples/python/width_study.py --out study.png

Without matplotlib (Debian: apt-get install python3-matplotlib; in a venv: pip install matplotlib)
it prints the table and says so.
"""
import argparse
import sys

import numpy as np

import kernelmc


def study_config(quick: bool) -> dict:
    posterior = {"chains": 2, "warmup": 200, "draws": 400, "batches": 5} if quick else \
                {"chains": 4, "warmup": 500, "draws": 500}
    return {
        "model": {"depth": 2, "activation": "erf", "g": 1.55212, "bias_variance": 0.1, "kappa": 1.0},
        "data": {"kind": "config_b"},
        "sampler": {"kind": "hmc"},
        "posterior": posterior,
        "validation": {"widths": [8, 16] if quick else [16, 32, 64, 128],
                       "prior_networks": 1000 if quick else 10000,
                       "bootstrap_resamples": 50 if quick else 500,
                       "figures": False},
    }


def discrepancies(result: dict) -> dict:
    """{(layer, theory): (widths, relative, relative_se)} over the widths that passed the gate,
    for the posterior mean kernel (not the adaptation)."""
    series: dict = {}
    for width in result["widths"]:
        if not width["compared"]:
            continue
        for layer in width["layers"]:
            for c in layer["comparisons"]:
                if c["quantity"] == "adaptation":
                    continue
                rows = series.setdefault((layer["layer"], c["theory"]), ([], [], []))
                for column, value in zip(rows, (width["width"], c["relative"], c["relative_se"])):
                    column.append(value)
    return {key: tuple(np.asarray(v, dtype=float) for v in rows) for key, rows in series.items()}


def print_table(series: dict) -> None:
    print(f"{'layer':>5}  {'theory':<10} {'N':>5}  relative discrepancy")
    for (layer, theory), (widths, rel, se) in sorted(series.items()):
        for n, r, s in zip(widths, rel, se):
            print(f"{layer:>5}  {theory:<10} {int(n):>5}  {r:.4f} +- {s:.4f}")


def plot(series: dict, out: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    layers = sorted({layer for layer, _ in series})
    fig, axes = plt.subplots(1, len(layers), figsize=(5 * len(layers), 4), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        for (l, theory), (widths, rel, se) in sorted(series.items()):
            if l == layer:
                ax.errorbar(widths, rel, yerr=se, marker="o", capsize=3, label=theory)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width N")
        ax.set_ylabel(r"$\|E_{post}[C] - C_{theory}\|_F / \|C_{GP}\|_F$")
        ax.set_title(f"layer {layer}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small widths and few draws")
    parser.add_argument("--out", default="width_study.png", help="figure file (default width_study.png)")
    args = parser.parse_args()
    result = kernelmc.validate(study_config(args.quick))
    series = discrepancies(result)
    print_table(series)
    for fit in result["scaling"]:
        print(f"layer {fit['layer']} {fit['quantity']} vs {fit['theory']}: {fit['verdict']}")
    if plot(series, args.out):
        print(f"figure: {args.out}")
    else:
        print("matplotlib is not installed: no figure (apt-get install python3-matplotlib, or pip install matplotlib in a venv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
