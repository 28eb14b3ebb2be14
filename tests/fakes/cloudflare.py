"""FAKES of Cloudflare's binding objects, for CPython unit tests of the Workers adapter
and the stores over bindings. They mimic the runtime's semantics where the code relies
on them; the real objects are exercised in Pyodide by tests/test_workers_pyodide.py."""

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

from edgemcp.cloudflare.bridge import Headers
from edgemcp.store.durable import StoreObject


class FakeKVError(Exception):
    """What a KV binding raises for a request KV refuses (HTTP 400 in the real runtime)."""


class FakeKVNamespace:
    """A FAKE Workers KV binding: ``get``/``put``/``delete`` with KV's rules that matter
    here: ``expirationTtl`` must be at least 60 s, values come back as ArrayBuffers
    (here: memoryviews), expired keys read as missing. Immediately consistent, unlike KV."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.data: dict[str, tuple[bytes, float | None]] = {}
        self.puts: list[tuple[str, int | None]] = []
        self.clock = clock
        self.fail = False

    async def get(self, key: str, type: str = "text") -> Any:
        if self.fail:
            raise ConnectionError("KV unreachable")
        entry = self.data.get(key)
        if entry is None or (entry[1] is not None and entry[1] <= self.clock()):
            return None
        return memoryview(entry[0]) if type == "arrayBuffer" else entry[0].decode()

    async def put(self, key: str, value: bytes, expirationTtl: int | None = None) -> None:
        if self.fail:
            raise ConnectionError("KV unreachable")
        if expirationTtl is not None and expirationTtl < 60:
            raise FakeKVError("KV PUT failed: 400 Invalid expiration_ttl of less than 60 seconds")
        self.puts.append((key, expirationTtl))
        expires = None if expirationTtl is None else self.clock() + expirationTtl
        self.data[key] = (bytes(value), expires)

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)


class FakeDurableObjectStorage:
    """A FAKE ``ctx.storage``: values are deep copies (structured clone) in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        await asyncio.sleep(0)  # storage is I/O: other events may be queued meanwhile
        return copy.deepcopy(self.data.get(key))

    async def put(self, key: str, value: Any) -> None:
        await asyncio.sleep(0)
        self.data[key] = copy.deepcopy(value)

    async def delete(self, key: str) -> bool:
        await asyncio.sleep(0)
        return self.data.pop(key, None) is not None


class FakeDurableObjectStub:
    """A FAKE stub: each RPC runs ``StoreObject`` (what workers/store_object.py runs) one
    call at a time, as a Durable Object delivers events; arguments and results are deep
    copies, as RPC clones them."""

    def __init__(self, records: StoreObject, gate: asyncio.Lock) -> None:
        self.records = records
        self.gate = gate
        self.calls = 0

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if not method.startswith("store_"):
            raise AttributeError(method)
        operation = getattr(self.records, method.removeprefix("store_"))

        async def rpc(*args: Any) -> Any:
            self.calls += 1
            async with self.gate:
                return copy.deepcopy(await operation(*copy.deepcopy(args)))

        return rpc


class FakeDurableObjectNamespace:
    """A FAKE namespace binding: one object (storage + input gate) per name."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.objects: dict[str, FakeDurableObjectStub] = {}
        self.clock = clock

    def getByName(self, name: str) -> FakeDurableObjectStub:
        if name not in self.objects:
            records = StoreObject(FakeDurableObjectStorage(), clock=self.clock)
            self.objects[name] = FakeDurableObjectStub(records, asyncio.Lock())
        return self.objects[name]


class FakeStreamWriter:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closed = False
        self.broken = False

    async def write(self, chunk: bytes) -> None:
        if self.broken:
            raise OSError("the client went away")
        self.chunks.append(chunk)

    async def close(self) -> None:
        self.closed = True


class FakeResponse:
    def __init__(self, status: int, headers: Headers, body: bytes | None,
                 stream: FakeStreamWriter | None = None) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = body
        self.stream = stream

    def text(self) -> str:
        data = self.body if self.stream is None else b"".join(self.stream.chunks)
        return (data or b"").decode()


class FakePlatform:
    """A FAKE of the JS side: records the responses it was asked to build."""

    def __init__(self) -> None:
        self.writers: list[FakeStreamWriter] = []

    def respond(self, status: int, headers: Headers, body: bytes | None) -> FakeResponse:
        return FakeResponse(status, headers, body)

    def stream(self, status: int, headers: Headers) -> tuple[FakeResponse, FakeStreamWriter]:
        writer = FakeStreamWriter()
        self.writers.append(writer)
        return FakeResponse(status, headers, None, writer), writer


class FakeEnv:
    """A FAKE Worker env: secrets, vars and bindings as attributes."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
