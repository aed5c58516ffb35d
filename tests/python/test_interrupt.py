"""Ctrl-C stops a long run: the GIL is released during the run and the progress reports
check for signals, so SIGINT raises KeyboardInterrupt within a fraction of the run time."""
import os
import signal
import subprocess
import sys
import time

PROGRAM = """
import sys, time, kernelmc
print("started", flush=True)
start = time.monotonic()
try:
    kernelmc.sample({"data": {"kind": "config_b"}, "model": {"depth": 2, "widths": [64], "g": 2.0},
                     "sampler": {"kind": "hmc"},
                     "posterior": {"chains": 2, "warmup": 1000, "draws": 200000}})
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.2f} s", flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


def test_ctrl_c_interrupts_a_sampling_run():
    # 2 chains x 201000 transitions take minutes (Config B, N = 64: ~1 ms per transition);
    # the interrupt is sent 2 s in and must end the run within 30 s.
    process = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert process.stdout.readline().strip() == "started"
    time.sleep(2.0)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the run did not stop within 30 s of SIGINT")
    assert process.returncode == 3, (out, err)
    assert "interrupted after" in out
    assert time.monotonic() - sent < 30
