"""When Spark's Python workers cannot import funnelscope, the error says so and names
PYSPARK_PYTHON (instead of a Py4J trace ending in ``No module named 'funnelscope'``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from funnelscope.engine.spark_python import WorkerPythonError, explain

SCRIPT = textwrap.dedent("""
    import sys
    from pyspark.sql import SparkSession
    import funnelscope as fs
    from funnelscope.errors import FunnelscopeError

    spark = (SparkSession.builder.master("local[1]").appName("fs-worker-python")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        fs.connect(spark)
    except FunnelscopeError as exc:
        print("ERROR", type(exc).__name__, exc)
    else:
        print("CONNECTED")
    spark.stop()
""")


def python_without_funnelscope() -> str | None:
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and os.path.abspath(candidate) != os.path.abspath(sys.executable):
            done = subprocess.run([candidate, "-c", "import funnelscope"], capture_output=True)
            if done.returncode != 0:
                return candidate
    return None


@pytest.mark.spark
def test_connect_names_pyspark_python_when_local_workers_lack_funnelscope(tmp_path):
    pytest.importorskip("pyspark")
    other = python_without_funnelscope()
    if other is None:
        pytest.skip("no Python without funnelscope on this machine")
    env = {**os.environ, "PYSPARK_PYTHON": other}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert "ERROR WorkerPythonError" in out, done.stdout + done.stderr[-2000:]
    assert f"PYSPARK_PYTHON = {other!r}" in out
    assert f"export PYSPARK_PYTHON={sys.executable}" in out

    # the driver's own interpreter connects
    env["PYSPARK_PYTHON"] = sys.executable
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert "CONNECTED" in done.stdout, done.stdout + done.stderr[-2000:]


def test_an_executor_failure_is_explained():
    failure = RuntimeError("PythonException: ... cloudpickle.loads(obj)\n"
                           "ModuleNotFoundError: No module named 'funnelscope'")
    clear = explain(failure)
    assert isinstance(clear, WorkerPythonError)
    assert "PYSPARK_PYTHON" in str(clear) and sys.executable in clear.hint
    assert explain(RuntimeError("No module named 'numpy'")) is None
