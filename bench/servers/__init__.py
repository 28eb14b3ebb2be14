"""Benchmark servers: each module imports its framework and builds an ASGI app (attribute
``asgi``) with the same ten tools (``echo`` and ``add`` are the ones the workloads call)."""
