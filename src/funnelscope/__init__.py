"""funnelscope: customer-funnel analytics on DuckDB (default) or Spark.

>>> import funnelscope as fs
>>> ws = fs.connect()          # in-memory DuckDB; fs.connect("my.duckdb") for a file
"""

from funnelscope.analyses.funnel.spec import exclusion, step
from funnelscope.errors import FunnelscopeError
from funnelscope.workspace import Workspace, connect

__version__ = "0.1.0"
__all__ = ["FunnelscopeError", "Workspace", "__version__", "connect", "exclusion", "step"]
