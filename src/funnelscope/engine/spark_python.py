"""Spark's Python workers must import funnelscope: check early, and explain when they cannot.

The funnel, experiment and paths analyses run funnelscope's kernel on the executors
(``mapInArrow``), in the interpreter Spark starts for its Python workers: ``PYSPARK_PYTHON`` as
it was when the SparkContext started, else ``python3`` from the PATH. When that interpreter is
not the one funnelscope is installed in, the job fails deep inside Spark with ``No module named
'funnelscope'``. On a local-mode session the workers run on this machine, so
:func:`check_local_workers` tries the worker interpreter once at ``fs.connect``; on a cluster,
:func:`explain` turns the executors' failure into the same clear error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from funnelscope.errors import WorkspaceError

_checked: dict[str, bool] = {}  # worker interpreter -> imports funnelscope


class WorkerPythonError(WorkspaceError):
    """Spark's Python workers run an interpreter that cannot import funnelscope."""

    code = "spark_worker_python"


def _error(worker: str, local: bool) -> WorkerPythonError:
    where = "Spark's Python workers" if local else "Spark's executors"
    return WorkerPythonError(
        f"{where} run {worker!r} (PYSPARK_PYTHON "
        f"{'= ' + repr(os.environ['PYSPARK_PYTHON']) if 'PYSPARK_PYTHON' in os.environ else 'is unset'}"
        "), which cannot import funnelscope; the funnel, experiment and paths analyses run "
        "funnelscope's kernel on them.",
        hint=f"Set it before creating the SparkSession: export PYSPARK_PYTHON={sys.executable} "
             "(on a cluster: an interpreter with funnelscope installed on every executor).",
    )


def check_local_workers(session: Any) -> None:
    """Raise :class:`WorkerPythonError` when ``session`` runs in local mode and its Python
    workers' interpreter (not this one) cannot import funnelscope. Checked once per
    interpreter and process, in a subprocess (~0.1-0.5 s)."""
    sc = session.sparkContext
    if not str(sc.master).startswith("local"):
        return
    worker = getattr(sc, "pythonExec", None) or "python3"
    if _same_interpreter(worker):
        return
    if worker not in _checked:
        try:
            done = subprocess.run([worker, "-c", "import funnelscope"], capture_output=True,
                                  timeout=60, check=False)
            _checked[worker] = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _checked[worker] = False
    if not _checked[worker]:
        raise _error(worker, local=True)


def _same_interpreter(worker: str) -> bool:
    import shutil

    found = shutil.which(worker)
    return found is not None and os.path.abspath(found) == os.path.abspath(sys.executable)


def explain(exc: BaseException, session: Any = None) -> WorkerPythonError | None:
    """The clear error for a Spark failure caused by workers lacking funnelscope, else None."""
    if "No module named 'funnelscope'" not in str(exc):
        return None
    worker = "python3"
    local = True
    if session is not None:
        worker = getattr(session.sparkContext, "pythonExec", None) or worker
        local = str(session.sparkContext.master).startswith("local")
    return _error(worker, local)
