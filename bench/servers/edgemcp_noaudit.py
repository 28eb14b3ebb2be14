"""edgemcp with the audit log off (``EdgeMCP(..., audit=False)``): the baseline that prices
the audit log, which is on by default."""

from .edgemcp_app import build

app = build(audit=False)
asgi = app.asgi()
