// Plays workerd's part, offline: serves the Worker module (workers/entry.py) from real
// Pyodide (npm pyodide 314.0.6, the version workerd ships for python_workers on
// compatibility dates >= 2026-09-08) under Node 24, with Miniflare's local KV simulator
// for the KV binding. workerd itself cannot run a Python Worker offline (it downloads the
// Pyodide bundle at start-up), so this script does what its Python glue does: registers
// the JS modules the workers SDK imports, builds `Default(ctx, env)` per request, converts
// arguments and results with workers.python_from_rpc / python_to_rpc, and turns a client
// disconnect into an aborted `request.signal` (workerd: enable_request_signal).
//
// Each "isolate" is its own Pyodide instance on its own port; all of them share one
// Miniflare KV namespace, as isolates in different places share one KV namespace.
//
// The Durable Object binding is a FAKE (FakeDurableObjectNamespace below): Python Durable
// Objects cannot be hosted offline. It runs the real workers/store_object.py class in
// Pyodide over a fake DurableObjectState whose storage keeps structured clones in a Map,
// delivers one call at a time per object (a Durable Object's single-threaded event
// delivery and input gate), structured-clones RPC arguments and results, and keeps one
// instance per name across all isolates (one object, wherever it is called from).
//
// Usage: node serve.mjs '<json config>'; prints one JSON line when ready:
//   {"urls": [...], "importEntropy": {...}, "timings": {...}}
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { loadPyodide } from "pyodide";

const config = JSON.parse(process.argv[2]);
const {
  root, pythonModules, isolates = 1, vars = {}, secrets = {},
  kvBinding = "EDGEMCP_KV", doBinding = null, kvPersist = false,
  entry: entryModule = "entry", extraModules = [],
} = config;
const log = (...args) => process.stderr.write(args.join(" ") + "\n");
// workerd logs an exception that escapes a request and carries on; so does this harness.
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (error) => log(`${event}:`, String(error?.stack ?? error).slice(0, 2000)));
}
const timings = {};

// ---- the Worker's modules, copied (mountNodeFS refuses symlinked folders) -------------
const tree = mkdtempSync(join(tmpdir(), "edgemcp-worker-"));
cpSync(join(root, "src", "edgemcp"), join(tree, "edgemcp"), { recursive: true });
cpSync(join(root, "workers"), tree, { recursive: true, filter: (p) => !p.includes("__pycache__") });
cpSync(join(root, "examples", "conformance_server.py"), join(tree, "conformance_server.py"));
for (const path of extraModules) cpSync(path, join(tree, basename(path)));
process.on("exit", () => rmSync(tree, { recursive: true, force: true }));

// ---- Miniflare's KV simulator -----------------------------------------------------------
let started = performance.now();
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response('') } }",
  kvNamespaces: [kvBinding],
  kvPersist,
});
await mf.ready;
const miniflareKV = await mf.getKVNamespace(kvBinding);
timings.miniflareMs = Math.round(performance.now() - started);

// The SDK recognises a KV binding by its JS constructor name; Miniflare hands Node a
// proxy, so give it workerd's name. Every call goes straight to the simulator.
class KvNamespace {
  get(key, options) { return miniflareKV.get(key, options); }
  getWithMetadata(key, options) { return miniflareKV.getWithMetadata(key, options); }
  put(key, value, options) { return miniflareKV.put(key, value, options); }
  delete(key) { return miniflareKV.delete(key); }
  list(options) { return miniflareKV.list(options); }
}

// ---- the Durable Object fake ------------------------------------------------------------
class DurableObjectStorage {
  #data = new Map();
  async get(key) { return this.#data.has(key) ? structuredClone(this.#data.get(key)) : undefined; }
  async put(key, value) { this.#data.set(key, structuredClone(value)); }
  async delete(key) { return this.#data.delete(key); }
  async list() { return new Map([...this.#data].map(([k, v]) => [k, structuredClone(v)])); }
}
class DurableObjectState {
  constructor(name) { this.id = new DurableObjectId(name); this.storage = new DurableObjectStorage(); }
  async blockConcurrencyWhile(callback) { return await callback(); }
  waitUntil() {}
}
class DurableObjectId {
  constructor(name) { this.name = name; }
  toString() { return this.name; }
  equals(other) { return other.name === this.name; }
}
class FakeDurableObjectNamespace {
  constructor(host, className) { this.host = host; this.className = className; this.objects = new Map(); }
  idFromName(name) { return new DurableObjectId(name); }
  get(id) { return this.stub(id.name); }
  getByName(name) { return this.stub(name); }
  object(name) {
    let entry = this.objects.get(name);
    if (!entry) {
      const cls = this.host.entry[this.className];
      entry = { instance: cls(new DurableObjectState(name), this.host.env), queue: Promise.resolve() };
      this.objects.set(name, entry);
    }
    return entry;
  }
  stub(name) {
    return new Proxy({}, {
      get: (_, method) => {
        if (typeof method !== "string" || method === "then") return undefined;
        return (...args) => {
          const entry = this.object(name);
          const run = entry.queue.then(async () => structuredClone(
            await this.host.invoke.callPromising(entry.instance, method, structuredClone(args))));
          entry.queue = run.catch(() => {});
          return run;
        };
      },
    });
  }
}
Object.defineProperty(FakeDurableObjectNamespace, "name", { value: "DurableObjectNamespace" });

// ---- Pyodide isolates ---------------------------------------------------------------------
// Entropy at import: every os.urandom / getentropy in Pyodide ends in crypto.getRandomValues.
const entropy = { randomValues: 0 };
let counting = false;
const realGetRandomValues = crypto.getRandomValues.bind(crypto);
crypto.getRandomValues = (array) => { if (counting) entropy.randomValues++; return realGetRandomValues(array); };
const realPerfNow = performance.now.bind(performance);
// The clock at import, counted on the Python side (JS clocks also serve the file system).
const CLOCK_PROBE = `
import time
clock_reads = []
_real_clocks = {name: getattr(time, name) for name in
                ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")}
def _counting(name, real):
    def read(*args):
        clock_reads.append(name)
        return real(*args)
    return read
def start_counting():
    for name, real in _real_clocks.items():
        setattr(time, name, _counting(name, real))
def stop_counting():
    for name, real in _real_clocks.items():
        setattr(time, name, real)
`;

// Imported before the entropy count starts: the runtime itself handles these at snapshot
// time (workerd reseeds `random` after restoring a snapshot; the workers SDK lets
// pydantic_core make its one hash-seed call). Anything else the Worker module imports is
// counted.
const PRELUDE = "import random, secrets, asyncio, pydantic, pydantic_core, msgpack, itsdangerous, workers";

const GLUE = `
from workers import python_from_rpc, python_to_rpc

async def serve(cls, ctx, env, request):
    response = await cls(ctx, env).fetch(python_from_rpc(request))
    return python_to_rpc(response)

async def invoke(instance, method, args):
    result = await getattr(instance, method)(*[python_from_rpc(a) for a in args])
    return python_to_rpc(result)
`;

const env = { ...vars, ...secrets };
const isolatesReady = [];
for (let index = 0; index < isolates; index++) {
  started = realPerfNow();
  const py = await loadPyodide({ stdout: log, stderr: log });
  timings[`pyodideLoadMs${index}`] = Math.round(realPerfNow() - started);
  py.FS.mkdirTree("/worker");
  py.FS.mkdirTree("/python_modules");
  py.mountNodeFS("/worker", tree);
  py.mountNodeFS("/python_modules", pythonModules);
  py.registerJsModule("_cloudflare_compat_flags", { python_workflows_implicit_dependencies: false,
    python_request_headers_preserve_commas: true });
  py.registerJsModule("_pyodide_entrypoint_helper", {
    cloudflareWorkersModule: { env, waitUntil: () => {} },
    cloudflareSocketsModule: {},
    doAnImport: (name) => import(name),
    patchWaitUntil: () => {},
    patch_env_helper: function* () { yield; },
  });
  py.runPython("import sys; sys.path[:0] = ['/worker', '/python_modules']");
  started = realPerfNow();
  py.runPython(PRELUDE);
  timings[`preludeMs${index}`] = Math.round(realPerfNow() - started);
  const probe = py.globals.get("dict")();
  py.runPython(CLOCK_PROBE, { globals: probe });
  started = realPerfNow();
  probe.get("start_counting")();
  counting = index === 0;
  const entry = py.pyimport(entryModule);
  counting = false;
  probe.get("stop_counting")();
  if (index === 0) entropy.clockReads = probe.get("clock_reads").toJs();
  timings[`entryImportMs${index}`] = Math.round(realPerfNow() - started);
  const glue = py.globals.get("dict")();
  py.runPython(GLUE, { globals: glue });
  isolatesReady.push({ py, entry, serve: glue.get("serve"), invoke: glue.get("invoke") });
}

env[kvBinding] = new KvNamespace();
if (doBinding) {
  const host = { entry: isolatesReady[0].entry, invoke: isolatesReady[0].invoke, env };
  env[doBinding] = new FakeDurableObjectNamespace(host, "EdgeMCPStore");
}

// ctx.waitUntil keeps the promise's work going (Node's event loop would anyway) and counts
// it, so a test can tell that work outliving its response was handed to the runtime.
const waitUntilCount = { registered: 0, settled: 0 };
class ExecutionContext {
  waitUntil(promise) {
    waitUntilCount.registered += 1;
    Promise.resolve(promise).catch((error) => log("waitUntil:", error)).finally(() => { waitUntilCount.settled += 1; });
  }
  passThroughOnException() {}
}

function serveIsolate(isolate) {
  const server = createServer(async (req, res) => {
    if (req.url === "/__harness/wait-until") {
      // For the tests, not part of the Worker: promises handed to ctx.waitUntil, and settled.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(waitUntilCount));
      return;
    }
    if (req.url === "/__harness/kv") {
      // For the tests, not part of the Worker: what the KV namespace holds, with expiries.
      const { keys } = await miniflareKV.list();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(keys));
      return;
    }
    const controller = new AbortController();
    res.on("close", () => { if (!res.writableFinished) controller.abort(); });
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const hasBody = !["GET", "HEAD"].includes(req.method);
    const request = new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url}`, {
      method: req.method, headers, body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: "half", signal: controller.signal,
    });
    Object.defineProperty(request, "cf", { value: { colo: "LOCAL", country: "XX" } });
    let response;
    try {
      response = await isolate.serve.callPromising(isolate.entry.Default, new ExecutionContext(), env, request);
    } catch (error) {
      // workerd answers an uncaught exception with a bare 500; so do we (and say why on stderr).
      log("uncaught exception in fetch:", error);
      res.writeHead(500).end();
      return;
    }
    res.writeHead(response.status, [...response.headers].flat());
    res.flushHeaders();
    if (!response.body) { res.end(); return; }
    const reader = response.body.getReader();
    controller.signal.addEventListener("abort", () => reader.cancel(new Error("Network connection lost.")).catch(() => {}));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(Buffer.from(value));
      }
    } catch {
      // the client went away
    }
    res.end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const urls = [];
for (const isolate of isolatesReady) {
  const server = await serveIsolate(isolate);
  urls.push(`http://127.0.0.1:${server.address().port}/mcp`);
}
const versions = isolatesReady[0].py.runPython(
  "import sys, pydantic, workers; f'{sys.version.split()[0]} {pydantic.VERSION}'").split(" ");
const memory = isolatesReady.map(({ py }) => Math.round(py._module.HEAPU8.length / 1048576));
process.stdout.write(JSON.stringify({
  urls, importEntropy: entropy, timings, wasmMemoryMiB: memory,
  python: versions[0], pydantic: versions[1], pyodide: isolatesReady[0].py.version,
}) + "\n");
const stop = async () => { await mf.dispose(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
