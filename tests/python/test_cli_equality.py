"""The run functions return what the CLI writes: for the same config and seed, every value of
the report equals the CLI's JSON bit for bit (wall-clock times aside), and arrays given from
numpy give the same results as the same numbers read from CSV files."""
import numpy as np
import pytest

import kernelmc
from conftest import REPO, assert_same, cli_report, without_timings

SMALL_SAMPLE = {
    "model": {"depth": 2, "widths": [16], "activation": "erf", "g": 2.0},
    "data": {"kind": "config_b"},
    "sampler": {"kind": "hmc"},
    "posterior": {"chains": 2, "warmup": 150, "draws": 150, "batches": 5},
    "run": {"seed": 7},
}


def write_toml(tmp_path, config):
    path = tmp_path / "config.toml"
    path.write_text(kernelmc.to_toml(config))
    return path


def test_theory_equals_cli(cli, tmp_path):
    config = REPO / "examples" / "theory_config_b.toml"
    want = cli_report(cli, "theory", ["--config", config], tmp_path / "cli", "theory.json")
    got = kernelmc.theory(config)
    matrices = got.pop("matrices")
    assert_same(without_timings(got), without_timings(want))
    for entry in want["arrays"]:
        stem = entry["file"].split("/")[-1].removesuffix(".npy")
        assert np.array_equal(matrices[stem], np.load(tmp_path / "cli" / "kernelmc-out" / entry["file"])), stem


def test_theory_from_a_dict_equals_the_same_toml_file(tmp_path):
    config = {"model": {"depth": 2, "g": [2.0], "widths": [64]}, "data": {"kind": "config_b"},
              "theory": {"fb": {"damping": 0.5}}}
    got = kernelmc.theory(config)
    again = kernelmc.theory(write_toml(tmp_path, config))
    got.pop("matrices"), again.pop("matrices")
    assert_same(without_timings(got), without_timings(again))


def test_sample_equals_cli(cli, tmp_path):
    path = write_toml(tmp_path, SMALL_SAMPLE)
    want = cli_report(cli, "sample", ["--config", path], tmp_path / "cli", "posterior.json")
    got = kernelmc.sample(SMALL_SAMPLE)
    assert_same(without_timings(got), without_timings(want))


def test_sample_with_arrays_equals_cli_with_csv_files(cli, tmp_path):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(5, 3))
    y = np.sign(X[:, 0] * X[:, 1])
    np.savetxt(tmp_path / "x.csv", X, fmt="%.17g", delimiter=",")
    np.savetxt(tmp_path / "y.csv", y, fmt="%.17g", delimiter=",")
    config = dict(SMALL_SAMPLE, data={"kind": "csv", "inputs_csv": str(tmp_path / "x.csv"),
                                      "targets_csv": str(tmp_path / "y.csv")})
    want = cli_report(cli, "sample", ["--config", write_toml(tmp_path, config)], tmp_path / "cli", "posterior.json")
    got = kernelmc.sample(SMALL_SAMPLE, X, y)
    assert got["provenance"]["config"]["data"]["inputs_csv"] == "<numpy X>"
    assert got.pop("dataset") == "numpy arrays"
    want.pop("dataset")
    got.pop("provenance"), want.pop("provenance")
    assert_same(without_timings(got), without_timings(want))


def test_prior_equals_cli(cli, tmp_path):
    overrides = ["prior.widths=[8, 16]", "prior.networks=2000", "model.depth=2", "data.points=4"]
    args = [a for o in overrides for a in ("--set", o)]
    want = cli_report(cli, "prior", args, tmp_path / "cli", "prior_study.json")
    got = kernelmc.prior(overrides=overrides)
    assert_same(without_timings(got), without_timings(want))


def test_validate_equals_cli(cli, tmp_path):
    config = {"model": {"depth": 1, "activation": "erf", "g": 2.0},
              "data": {"kind": "config_b"},
              "sampler": {"kind": "hmc"},
              "posterior": {"chains": 2, "warmup": 100, "draws": 200, "batches": 5},
              "validation": {"widths": [8, 16], "prior_networks": 500, "bootstrap_resamples": 20,
                             "figures": False},
              "run": {"seed": 3}}
    want = cli_report(cli, "validate", ["--config", write_toml(tmp_path, config)], tmp_path / "cli",
                      "validation.json")
    got = kernelmc.validate(config)
    assert_same(without_timings(got), without_timings(want))
    assert isinstance(got["widths"], list)


def test_reports_hold_numpy_arrays_and_plain_provenance():
    got = kernelmc.theory(REPO / "examples" / "theory_config_b.toml")
    assert isinstance(got["provenance"]["config"]["model"]["widths"], list)
    again = kernelmc.theory(got["provenance"]["config"])
    assert_same(without_timings({k: v for k, v in again.items() if k != "matrices"}),
                without_timings({k: v for k, v in got.items() if k != "matrices"}))
    assert got["matrices"]["nngp_layer3"].shape == (4, 4)
