"""Shared helpers of the kernelmc Python tests: the CLI to compare with, and comparison of
report dicts. The CLI is $KERNELMC_CLI (scripts/run-tests.sh sets it), else
build/release/cli/kernelmc; tests that compare with it fail when $KERNELMC_CLI is set but
missing, and are skipped only when it is unset and no build exists."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import kernelmc

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    configured = os.environ.get("KERNELMC_CLI")
    path = pathlib.Path(configured) if configured else REPO / "build" / "release" / "cli" / "kernelmc"
    if not path.is_file():
        if configured:
            pytest.fail(f"KERNELMC_CLI={configured}: no such file")
        pytest.skip(f"no CLI build at {path}")
    # Absolute: the CLI runs with each test's own working directory.
    return path.resolve()


def run_cli(cli: pathlib.Path, command: str, args: list, directory: pathlib.Path) -> subprocess.CompletedProcess:
    """Runs `kernelmc COMMAND ARGS -q` in DIRECTORY (created), so that the results go to the
    config's run.output_dir (default kernelmc-out) below it and the resolved config, which the
    report holds, is the one the Python side sees (--out would change run.output_dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(cli), command, *map(str, args), "-q"], cwd=directory,
                          capture_output=True, text=True, timeout=600)


def cli_report(cli: pathlib.Path, command: str, args: list, directory: pathlib.Path, report: str) -> dict:
    """The report the CLI writes, read as kernelmc's run functions return theirs."""
    done = run_cli(cli, command, args, directory)
    assert done.returncode == 0, done.stderr
    return kernelmc.report_dict((directory / "kernelmc-out" / report).read_text())


def without_timings(node):
    """`node` without wall-clock times (keys naming seconds or timings), which differ per run."""
    if isinstance(node, dict):
        return {k: without_timings(v) for k, v in node.items() if "seconds" not in k and k != "timings"}
    if isinstance(node, list):
        return [without_timings(v) for v in node]
    return node


def assert_same(a, b, where="report"):
    """Exact equality of two report dicts (numpy arrays bit for bit, NaN equal to NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict), where
        assert list(a.keys()) == list(b.keys()), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"
