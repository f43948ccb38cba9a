"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path

import typer

WorkspaceOpt = typer.Option(
    None, "--workspace", "-w", help="DuckDB workspace file (created by `funnelscope load`).",
    envvar="FUNNELSCOPE_WORKSPACE",
)
FormatOpt = typer.Option("table", "--format", "-f", help="Output: table (for people), json or csv.")


def open_workspace(workspace: Path | None, *, read_only: bool = False, tz: str | None = None,
                   spark: str | None = None, spark_conf: list[str] | None = None, **files):
    """Open ``--workspace`` or, with ``--events FILE`` style options, files in place; with
    ``spark`` (a master URL), on a new SparkSession (see :func:`open_on_spark`)."""
    import funnelscope as fs
    from funnelscope.errors import ConfigError

    in_place = {k: v for k, v in files.items()
                if v is not None and k not in ("columns", "epoch_unit")}
    if workspace is None and not in_place:
        raise ConfigError(
            "no data given.",
            hint="Pass --workspace W (see `funnelscope load --help`) or --events FILE.",
        )
    if spark is not None:
        return open_on_spark(spark, spark_conf or [], workspace, tz, files, in_place)
    if workspace is not None and not in_place and not Path(workspace).exists():
        from funnelscope.errors import WorkspaceError

        raise WorkspaceError(
            f"workspace file not found: {workspace}",
            hint="Create one with `funnelscope load FILE --workspace W` or `funnelscope demo`.",
        )
    return fs.connect(
        str(workspace) if workspace else None,
        read_only=read_only and workspace is not None,
        columns=files.get("columns"),
        epoch_unit=files.get("epoch_unit"),
        tz=tz,
        **in_place,
    )


def spark_settings(conf: list[str]) -> dict[str, str]:
    """The session settings of ``--spark-conf KEY=VALUE...`` over funnelscope's defaults
    (session time zone UTC, no console progress bars)."""
    from funnelscope.errors import ConfigError

    settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--spark-conf {item!r} is not KEY=VALUE.",
                              hint="e.g. --spark-conf spark.driver.memory=4g")
        settings[key.strip()] = value.strip()
    return settings


def spark_session(master: str, conf: list[str]):
    """The SparkSession of ``--spark MASTER --spark-conf KEY=VALUE...``: app name funnelscope,
    session time zone UTC and no console progress bars unless ``conf`` sets them, and
    ``PYSPARK_PYTHON`` (the Python workers' interpreter) this one unless already set."""
    import os
    import sys

    from funnelscope.errors import ConfigError

    settings = spark_settings(conf)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("--spark needs PySpark, which is not installed.",
                          hint="pip install 'funnelscope[spark]'") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName("funnelscope")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise ConfigError(f"cannot start Spark on --spark {master}: "
                          f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
                          hint="Check the master URL (local[2], spark://host:7077, yarn) and "
                               "that Java 17+ is installed.") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def open_on_spark(master: str, conf: list[str], database: Path | None, tz: str | None,
                  files: dict, in_place: dict):
    """A Spark workspace for the CLI: ``database`` (``--workspace``) is a Spark database that
    must exist (it becomes the session's current one); ``--events`` and the other files are
    paths Spark reads in place, or names of tables in its catalog."""
    import funnelscope as fs
    from funnelscope.data.inplace_spark import missing_file
    from funnelscope.errors import InputError, WorkspaceError

    spark_settings(conf)  # a malformed --spark-conf first: it is the cheapest check
    for file in in_place.values():
        missing = missing_file(str(file))
        if missing is not None:  # before a Spark session takes seconds to start
            raise InputError(f"file not found: {missing}",
                             hint="With --spark, --events (and the other file options) is a "
                                  "path Spark reads or a table of its catalog.",
                             source=str(missing))
    session = spark_session(master, conf)
    if database is not None:
        name = str(database)
        if not session.catalog.databaseExists(name):
            raise WorkspaceError(f"Spark has no database {name!r}.",
                                 hint="With --spark, --workspace names a Spark database; "
                                      "create it in Spark, or leave it out to use the default.")
        session.catalog.setCurrentDatabase(name)
    return fs.connect(session, columns=files.get("columns"), epoch_unit=files.get("epoch_unit"),
                      tz=tz, **{k: str(v) for k, v in in_place.items()})
