"""funnelscope: customer-funnel analytics on DuckDB (default) or Spark.

>>> import funnelscope as fs
>>> ws = fs.connect()          # in-memory DuckDB; fs.connect("my.duckdb") for a file
"""

from funnelscope.engine.workspace import Workspace, connect
from funnelscope.errors import FunnelscopeError

__version__ = "0.1.0"
__all__ = ["Workspace", "connect", "FunnelscopeError", "__version__"]
