"""The HTTP path in front of the apps: the ASGI layer that keeps every answer in the API's
contract (`edges`: JSON errors, limits, request ids, the request log), Django on a thread pool
(`handlers`), health probes and metrics. Wired together in `config.asgi` and `config.urls`."""
