"""The soak's session load, beside wrk's bulk (bench/soak.py starts it; not run by hand).

wrk cannot follow a handshake-era elicitation: read the server's request off the call's
SSE stream, answer it with a second POST, read the result. This driver does, at a fixed
rate, through the balancer:

- flows: ``tools/call ask`` on one replica (the balancer's X-Soak-Backend pin), its
  ``elicitation/create`` answered by a POST pinned to the OTHER replica, the result read
  off the stream. Most flows reuse one of a pool of long-lived sessions (which must
  survive a Redis restart); every ``fresh_every``-th opens a new session first;
- session calls: ``tools/call echo`` on a pooled session, unpinned;
- idempotent writes: 2026-07-28 ``tools/call write`` with a fresh Idempotency-Key each;
  every acknowledged key is replayed at the end (must come back "replayed", same text).

Every request becomes one JSON line in the records file: when it ended, its kind, status,
latency and class ("ok", "unavailable" = 503 + Retry-After + JSON-RPC error, "bad:<what>",
"transport:<exception>"). Which classes are expected when is the harness's call.

The harness talks to it over stdin/stdout, one JSON object a line: ``{"cmd": "probe",
"victim": "a"}`` parks work on a replica about to be killed (answer ``probe-ready``),
``{"cmd": "killed"}`` checks what became of it (answer ``probe-done``), ``{"cmd": "stop"}``
ends the load, replays the writes and answers ``done``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
PIN = "x-soak-backend"        # the balancer sends a request carrying it to that server
SERVED = "x-soak-served"      # ... and says which server answered
MAX_INFLIGHT = 400            # beyond this (a stalled store), new work is skipped and counted
TASKS: dict[str, Any] = {"io.modelcontextprotocol/tasks": {}}


def meta(extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    caps: dict[str, Any] = {"extensions": extensions} if extensions else {}
    return {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": caps}


def modern_headers(method: str, name: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method, **extra}
    if name is not None:
        headers["mcp-name"] = name
    return headers


def error_class(status: int, headers: httpx.Headers, body: str) -> str:
    """The class of an answer that is not the one asked for."""
    if status == 503 and "retry-after" in headers and '"code":-32603' in body.replace(" ", ""):
        return "unavailable"
    return f"bad:{status}"


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages of an SSE response (events with empty data, the resumable
    stream's priming event, carry none)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif line == "" and data:
            text = "\n".join(data)
            data = []
            if text:
                yield json.loads(text)


class Failed(Exception):
    def __init__(self, cls: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(cls)
        self.cls, self.detail, self.status = cls, detail, status


@dataclass
class Session:
    id: str
    created: float

    def headers(self, **extra: str) -> dict[str, str]:
        return {"accept": ACCEPT, "mcp-session-id": self.id, "mcp-protocol-version": HANDSHAKE, **extra}


@dataclass
class Driver:
    url: str
    records: Any
    flows: float
    calls: float
    writes: float
    pool_size: int
    fresh_every: int
    run: str
    client: httpx.AsyncClient = field(init=False)
    pool: list[Session] = field(default_factory=list)
    acked: dict[str, str] = field(default_factory=dict)  # idempotency key -> text
    inflight: set[asyncio.Task[None]] = field(default_factory=set)
    skipped: int = 0
    stopping: bool = False

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(45.0, connect=5.0),
                                        limits=httpx.Limits(max_connections=512, max_keepalive_connections=64))

    def record(self, kind: str, started: float, status: int | None, cls: str, detail: str = "",
               **extra: Any) -> None:
        line = {"t": round(time.time(), 3), "kind": kind, "status": status,
                "ms": round((time.monotonic() - started) * 1000, 2), "class": cls, **extra}
        if detail:
            line["detail"] = detail[:300]
        self.records.write(json.dumps(line) + "\n")

    async def measured(self, kind: str, work: Callable[[float], Awaitable[dict[str, Any] | None]]) -> None:
        """Run one piece of work and record how it ended."""
        started = time.monotonic()
        try:
            extra = await work(started) or {}
            self.record(kind, started, extra.pop("status", 200), "ok", **extra)
        except Failed as failure:
            self.record(kind, started, failure.status, failure.cls, failure.detail)
        except httpx.HTTPError as exc:
            self.record(kind, started, None, f"transport:{type(exc).__name__}", str(exc))

    # -- the pieces of work ---------------------------------------------------------------
    async def open_session(self, pin: str | None = None) -> Session:
        headers = {"accept": ACCEPT, **({PIN: pin} if pin else {})}
        init = await self.client.post(self.url, headers=headers, json={
            "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": HANDSHAKE, "capabilities": {"elicitation": {}},
                "clientInfo": {"name": "soak", "version": "1"}}})
        sid = init.headers.get("mcp-session-id")
        if init.status_code != 200 or not sid:
            raise Failed(error_class(init.status_code, init.headers, init.text), init.text, init.status_code)
        session = Session(sid, time.time())
        done = await self.client.post(self.url, headers=session.headers(**({PIN: pin} if pin else {})),
                                      json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        if done.status_code != 202:
            raise Failed(error_class(done.status_code, done.headers, done.text), done.text, done.status_code)
        return session

    async def flow(self, n: int) -> None:
        here, there = ("a", "b") if n % 2 else ("b", "a")
        if self.fresh_every and n % self.fresh_every == 0:
            box: list[Session] = []

            async def fresh(_: float) -> None:
                box.append(await self.open_session())
            await self.measured("initialize", fresh)
            if not box:
                return
            session = box[0]
        else:
            session = self.pool[n % len(self.pool)]
        await self.measured("flow", lambda started: self.elicit(session, n, here, there, started))

    async def elicit(self, session: Session, n: int, here: str, there: str, started: float) -> dict[str, Any]:
        call = {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}
        async with self.client.stream("POST", self.url, headers=session.headers(**{PIN: here}), json=call) as r:
            if r.status_code != 200 or not r.headers.get("content-type", "").startswith("text/event-stream"):
                body = (await r.aread()).decode(errors="replace")
                raise Failed(error_class(r.status_code, r.headers, body), body, r.status_code)
            messages = sse_messages(r)
            asked = await anext(messages, None)
            if asked is None or asked.get("method") != "elicitation/create":
                raise Failed(in_stream_class(asked), json.dumps(asked), 200)
            reply_started = time.monotonic()
            phases = {"asked_ms": round((reply_started - started) * 1000, 1)}
            reply = await self.client.post(self.url, headers=session.headers(**{PIN: there}), json={
                "jsonrpc": "2.0", "id": asked["id"], "result": {"action": "accept", "content": {"name": f"n{n}"}}})
            crossed = r.headers.get(SERVED) != reply.headers.get(SERVED)
            if reply.status_code != 202:
                cls = error_class(reply.status_code, reply.headers, reply.text)
                self.record("reply", reply_started, reply.status_code, cls, reply.text)
                raise Failed(cls, "reply refused: " + reply.text, reply.status_code)
            self.record("reply", reply_started, 202, "ok", crossed=crossed)
            final_started = time.monotonic()
            phases["reply_ms"] = round((final_started - reply_started) * 1000, 1)
            final = await anext(messages, None)
            phases["final_ms"] = round((time.monotonic() - final_started) * 1000, 1)
            text = (((final or {}).get("result") or {}).get("content") or [{}])[0].get("text")
            if text != f"hello n{n}":
                raise Failed(in_stream_class(final), json.dumps(final), 200)
        return {"crossed": crossed, **phases}

    async def session_call(self, n: int) -> None:
        session = self.pool[n % len(self.pool)]

        async def call(_: float) -> None:
            r = await self.client.post(self.url, headers=session.headers(), json={
                "jsonrpc": "2.0", "id": n, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": f"s{n}"}}})
            if r.status_code != 200 or f'"s{n}"' not in r.text:
                raise Failed(error_class(r.status_code, r.headers, r.text), r.text, r.status_code)
        await self.measured("session-call", call)

    async def write(self, key: str, hold: float = 0.0, pin: str | None = None) -> httpx.Response:
        headers = modern_headers("tools/call", "write", **{"idempotency-key": key, **({PIN: pin} if pin else {})})
        return await self.client.post(self.url, headers=headers, json={
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "write", "arguments": {"entry": key, "hold": hold}, "_meta": meta()}})

    async def idempotent_write(self, n: int) -> None:
        key = f"{self.run}-w{n}"

        async def write(_: float) -> dict[str, Any]:
            r = await self.write(key)
            if r.status_code != 200 or f"wrote {key}" not in r.text:
                raise Failed(error_class(r.status_code, r.headers, r.text), r.text, r.status_code)
            self.acked[key] = f"wrote {key}"
            return {"key": key}
        await self.measured("write", write)

    async def replay(self, key: str, text: str) -> None:
        async def again(_: float) -> None:
            r = await self.write(key)
            compact = r.text.replace(" ", "")
            if r.status_code != 200 or text not in r.text or '"dev.edgemcp/idempotency":"replayed"' not in compact:
                raise Failed(error_class(r.status_code, r.headers, r.text), r.text, r.status_code)
        await self.measured("replay", again)

    # -- pacing ----------------------------------------------------------------------------
    async def paced(self, rate: float, job: Callable[[int], Awaitable[None]]) -> None:
        if rate <= 0:
            return
        interval, n, due = 1 / rate, 0, time.monotonic()
        while not self.stopping:
            n += 1
            if len(self.inflight) < MAX_INFLIGHT:
                task = asyncio.ensure_future(job(n))
                self.inflight.add(task)
                task.add_done_callback(self.inflight.discard)
            else:
                self.skipped += 1
            due += interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def load(self) -> None:
        await asyncio.gather(self.paced(self.flows, self.flow), self.paced(self.calls, self.session_call),
                             self.paced(self.writes, self.idempotent_write))

    async def finish(self) -> dict[str, Any]:
        self.stopping = True
        if self.inflight:
            await asyncio.wait(set(self.inflight), timeout=60)
        keys = list(self.acked.items())
        gate = asyncio.Semaphore(16)

        async def one(key: str, text: str) -> None:
            async with gate:
                await self.replay(key, text)
        await asyncio.gather(*(one(k, t) for k, t in keys))
        self.records.flush()
        return {"event": "done", "acked": sorted(self.acked), "skipped": self.skipped}


def in_stream_class(message: dict[str, Any] | None) -> str:
    """A stream that ended without the expected message: the store-down error in the
    stream counts as "unavailable", like the 503 a JSON answer would have had."""
    if message is None:
        return "bad:stream-ended"
    error = message.get("error") or {}
    if error.get("code") == -32603 and "unavailable" in str(error.get("message", "")).lower():
        return "unavailable"
    return "bad:in-stream"


# -- the replica-kill probe -------------------------------------------------------------------
@dataclass
class Probe:
    """Work parked on the replica about to be killed: a call waiting for its elicitation
    reply, an idempotent write holding its key's claim, a task holding its lease."""

    driver: Driver
    victim: str
    survivor: str
    session: Session | None = None
    asked: dict[str, Any] | None = None
    task_id: str = ""
    write_key: str = ""
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)

    async def prepare(self) -> None:
        d = self.driver
        self.session = await d.open_session(pin=self.victim)
        asked: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.background.append(asyncio.ensure_future(self._parked_call(asked)))
        self.asked = await asyncio.wait_for(asked, 10)
        self.write_key = f"{d.run}-probe"
        self.background.append(asyncio.ensure_future(self._parked_write()))
        r = await d.client.post(d.url, headers=modern_headers("tools/call", "hold_task", **{PIN: self.victim}), json={
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "hold_task", "arguments": {"seconds": 60}, "_meta": meta(TASKS)}})
        self.task_id = r.json()["result"]["taskId"]
        self.outcome["task_served_by"] = r.headers.get(SERVED)
        await asyncio.sleep(0.5)  # the write's request reaches the victim and claims its key

    async def _parked_call(self, asked: asyncio.Future[dict[str, Any]]) -> None:
        assert self.session is not None
        d = self.driver
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {}}}
        try:
            async with d.client.stream("POST", d.url, headers=self.session.headers(**{PIN: self.victim}),
                                       json=call) as r:
                self.outcome["call_served_by"] = r.headers.get(SERVED)
                messages = sse_messages(r)
                first = await anext(messages, None)
                if first is not None:
                    asked.set_result(first)
                rest = [m async for m in messages]
                self.outcome["parked_call_ended"] = "stream ended" + (f" with {rest[-1]}" if rest else "")
        except httpx.HTTPError as exc:
            self.outcome["parked_call_ended"] = f"transport error {type(exc).__name__}"
        if not asked.done():
            asked.set_exception(RuntimeError("the parked call got no elicitation request"))

    async def _parked_write(self) -> None:
        try:
            r = await self.driver.write(self.write_key, hold=60, pin=self.victim)
            self.outcome["parked_write_ended"] = f"{r.status_code}"
        except httpx.HTTPError as exc:
            self.outcome["parked_write_ended"] = f"transport error {type(exc).__name__}"

    async def after_kill(self, killed_at: float, claim_deadline: float, lease_deadline: float) -> dict[str, Any]:
        """The killed replica's client goes on through the survivor; nothing it left stays
        stuck past its deadline. ``killed_at`` is time.time() of the SIGKILL."""
        d, o = self.driver, self.outcome
        assert self.session is not None and self.asked is not None
        await asyncio.wait(self.background, timeout=10)
        reply = await d.client.post(d.url, headers=self.session.headers(**{PIN: self.survivor}), json={
            "jsonrpc": "2.0", "id": self.asked["id"], "result": {"action": "accept", "content": {"name": "late"}}})
        o["late_reply"] = reply.status_code
        echo = await d.client.post(d.url, headers=self.session.headers(**{PIN: self.victim}), json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "on"}}})
        o["session_goes_on"] = echo.status_code == 200 and '"on"' in echo.text
        o["session_served_by"] = echo.headers.get(SERVED)
        await asyncio.gather(self._retry_write(killed_at, claim_deadline), self._poll_task(killed_at, lease_deadline))
        return {"event": "probe-done", **o}


    async def _retry_write(self, killed_at: float, claim_deadline: float) -> None:
        """Retry the parked write on the survivor until its claim has lapsed and it runs."""
        d, o = self.driver, self.outcome
        conflicts, give_up = 0, time.time() + claim_deadline + 20
        while time.time() < give_up:
            r = await d.write(self.write_key, pin=self.survivor)
            if r.status_code == 200:
                o["write_retry_ok_after_s"] = round(time.time() - killed_at, 2)
                d.acked[self.write_key] = f"wrote {self.write_key}"
                break
            if r.status_code != 409:
                o.setdefault("write_retry_other", []).append(r.status_code)
            conflicts += 1
            await asyncio.sleep(0.25)
        o["write_retry_conflicts"] = conflicts

    async def _poll_task(self, killed_at: float, lease_deadline: float) -> None:
        """Poll the parked task on the survivor until it is no longer working."""
        d, o = self.driver, self.outcome
        give_up = time.time() + lease_deadline + 20
        while time.time() < give_up:
            r = await d.client.post(d.url, headers=modern_headers("tasks/get", self.task_id, **{PIN: self.survivor}),
                                    json={"jsonrpc": "2.0", "id": 3, "method": "tasks/get",
                                          "params": {"taskId": self.task_id, "_meta": meta(TASKS)}})
            status = r.json().get("result", {}).get("status") if r.status_code == 200 else f"http {r.status_code}"
            if status not in ("working", "input_required"):
                o["task_status"] = status
                o["task_settled_after_s"] = round(time.time() - killed_at, 2)
                break
            await asyncio.sleep(0.25)

async def commands(driver: Driver, load: asyncio.Task[None], options: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    probe: Probe | None = None

    def say(message: dict[str, Any]) -> None:
        print(json.dumps(message), flush=True)

    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "probe":
            victim = command["victim"]
            probe = Probe(driver, victim, "b" if victim == "a" else "a")
            try:
                await probe.prepare()
                say({"event": "probe-ready", **probe.outcome})
            except Exception as exc:
                say({"event": "probe-ready", "error": f"{type(exc).__name__}: {exc}"})
        elif command["cmd"] == "killed" and probe is not None:
            say(await probe.after_kill(command["at"], options.claim_deadline, options.lease_deadline))
        elif command["cmd"] == "stop":
            load.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await load
            say(await driver.finish())
            return


def options() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--records", required=True)
    ap.add_argument("--flows", type=float, default=10)
    ap.add_argument("--calls", type=float, default=10)
    ap.add_argument("--writes", type=float, default=5)
    ap.add_argument("--pool", type=int, default=16)
    ap.add_argument("--fresh-every", type=int, default=5)
    ap.add_argument("--run", default="soak")
    ap.add_argument("--claim-deadline", type=float, default=10)
    ap.add_argument("--lease-deadline", type=float, default=3)
    return ap.parse_args()


async def main(given: argparse.Namespace, records: Any) -> None:
    driver = Driver(given.url, records, given.flows, given.calls, given.writes, given.pool, given.fresh_every,
                    given.run)
    driver.pool = [await driver.open_session() for _ in range(given.pool)]
    print(json.dumps({"event": "ready", "sessions": len(driver.pool)}), flush=True)
    load = asyncio.ensure_future(driver.load())
    await commands(driver, load, given)
    await driver.client.aclose()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    given = options()
    with open(given.records, "w", buffering=1 << 16) as records:
        asyncio.run(main(given, records))
