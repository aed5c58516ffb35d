"""examples/python/width_study.py runs (its quick mode) and draws its figure when matplotlib
is installed."""
import importlib.util
import subprocess
import sys

from conftest import REPO


def test_width_study_example_runs(tmp_path):
    figure = tmp_path / "study.png"
    done = subprocess.run([sys.executable, str(REPO / "examples" / "python" / "width_study.py"), "--quick",
                           "--out", str(figure)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "relative discrepancy" in done.stdout
    assert " vs nngp: " in done.stdout
    if importlib.util.find_spec("matplotlib") is not None:
        assert figure.stat().st_size > 0
    else:
        assert "matplotlib is not installed" in done.stdout
