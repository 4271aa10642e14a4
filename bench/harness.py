"""Shared by the bench scripts: run a trainfleet command alone or under mpirun."""
import os
import subprocess
import time

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def run_trainfleet(cmd, ranks=1):
    """Runs `cmd` (a trainfleet argv) on `ranks` local ranks, quietly; returns the wall seconds."""
    if ranks > 1:
        cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none"] + cmd
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0
