"""Our ASGI app without its outermost HTTP layer (`web.edges.Edges`: request id, body limit,
metrics, the request log line), for measuring what that layer costs on the warm catalog path.

Everything inside it is the shipped app unchanged: the catalog edge cache (with its Host and
CORS checks), then Django. The bench serves it beside the shipped app and alternates wrk runs
between the two (`bench.phases.catalog.edges_cost`); the budget is 5%.
"""

from __future__ import annotations

from config.asgi import application
from web.edges import Edges

_http = application.application_mapping["http"]
if not isinstance(_http, Edges):
    raise RuntimeError(f"config.asgi's HTTP app is {type(_http).__name__}, not Edges")
app = _http.app
