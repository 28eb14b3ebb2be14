# ruff: noqa: RUF001, RUF002  (the multiplication sign and en dash are the Markdown output)
"""Turn bench/results/results.json into the Markdown table and the PNG chart.

    python bench/report.py [bench/results/results.json]   # re-render without re-measuring
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

MIB = 1024

TARGETS_NOTE = ("Issue 7: tools/call c=16 ≥ 0.75× bare Starlette (so > 2× the SDK low-level Server and "
                "> 4× MCPServer); 2025-11-25 with a session ≥ 0.6× (memory) and ≥ 0.4× (Redis); cold start "
                "≤ 2× bare Starlette and ≤ 0.35× the official SDK; RSS after start ≤ 45 MiB. Issue 6: audit "
                "log and tracing costs; issue 12: the router; issue 13: tasks (shown). Issue 17: tools/call "
                "c=16 in the default configuration (audit log on) ≥ 0.85× bare Starlette (aim 0.9); "
                "2025-11-25 with a session on Redis ≥ 0.5×; the handshake sequence on Redis ≥ 0.5×; a cache "
                "hit far cheaper than the 20 ms downstream call it saves (hit ÷ cold shown, throughput and "
                "p50 latency). All at c=16 unless the row says otherwise.")


def _fmt_int(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _mib(kib: float | None) -> str:
    return "–" if kib is None else f"{kib / MIB:.0f}"


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


class Results:
    def __init__(self, raw: dict[str, Any], workloads: list[Any], servers: list[Any]) -> None:
        self.raw = raw
        self.workloads = workloads
        self.servers = {s.key: s for s in servers}
        self.by: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
        for r in raw["runs"]:
            self.by[(r["workload"], r["concurrency"], r["server"])].append(r)
        self.reps = raw["machine"]["settings"]["reps"]

    def figure(self, run: dict[str, Any], chain: bool) -> float:
        return float(run["seq_per_s"] if chain else run["rps"])

    def valid(self, workload: str, c: int, server: str) -> list[dict[str, Any]]:
        return [r for r in self.by[(workload, c, server)] if not r["invalid"]]

    def invalid(self, workload: str, c: int, server: str) -> list[dict[str, Any]]:
        return [r for r in self.by[(workload, c, server)] if r["invalid"]]

    def median(self, w: Any, c: int, server: str) -> float | None:
        return _median([self.figure(r, w.chain) for r in self.valid(w.key, c, server)])

    def p99(self, w: Any, c: int, server: str) -> float | None:
        return _median([r["p99_ms"] for r in self.valid(w.key, c, server)])

    def p50(self, w: Any, c: int, server: str) -> float | None:
        return _median([r["p50_ms"] for r in self.valid(w.key, c, server)])

    def server_cpu(self, w: Any, c: int, server: str) -> float | None:
        return _median([r["server_cpu_pct"] for r in self.valid(w.key, c, server) if "server_cpu_pct" in r])

    def ratio(self, w: Any, c: int, server: str, base: str,
              value: Callable[[dict[str, Any]], float] | None = None) -> float | None:
        """Median over repetitions of server / base, both measured in the same repetition; of the
        headline figure, or of ``value(run)`` (e.g. the p50 latency)."""
        of = value or (lambda run: self.figure(run, w.chain))
        base_by_rep = {r["rep"]: of(r) for r in self.valid(w.key, c, base)}
        ratios = [of(r) / base_by_rep[r["rep"]] for r in self.valid(w.key, c, server)
                  if base_by_rep.get(r["rep"])]
        return _median(ratios)

    def latency_added(self, w: Any, c: int, server: str, base: str, quantile: str) -> float | None:
        """Median over repetitions of the server's latency minus the base's (ms)."""
        base_by_rep = {r["rep"]: r[f"{quantile}_ms"] for r in self.valid(w.key, c, base)}
        added = [r[f"{quantile}_ms"] - base_by_rep[r["rep"]] for r in self.valid(w.key, c, server)
                 if r["rep"] in base_by_rep]
        return _median(added)

    def concurrencies(self, w: Any) -> list[int]:
        return sorted({c for (wk, c, _) in self.by if wk == w.key})


def _baseline(w: Any, server_key: str) -> str:
    """The ×bare column's reference: the workload's (bare Starlette unless it says otherwise)."""
    if server_key.endswith("-granian"):
        return "starlette-granian"
    return getattr(w, "reference", "starlette")   # older results.json: no per-workload reference


def _p50(run: dict[str, Any]) -> float:
    return float(run["p50_ms"])


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _cell(res: Results, w: Any, c: int, key: str) -> tuple[str, str]:
    med = res.median(w, c, key)
    bad = res.invalid(w.key, c, key)
    n_valid = len(res.valid(w.key, c, key))
    if med is None:
        return ("INVALID" if bad else "–"), "–"
    mark = f" ({len(bad)} invalid)" if bad else ""
    ratio = res.ratio(w, c, key, _baseline(w, key))
    return _fmt_int(med) + mark, _fmt_ratio(ratio) if n_valid else "–"


# (row, workload, server, baseline, test of server ÷ baseline at c=16; None: shown only)
RATIO_TARGETS: list[tuple[str, str, str, str, Callable[[float], bool] | None]] = [
    ("tools/call 2026-07-28, c=16, uvicorn: ≥ 0.75× bare Starlette (issue 7)", "call", "edgemcp", "starlette",
     lambda r: r >= 0.75),
    ("… > 2× the SDK low-level Server", "call", "edgemcp", "sdk-lowlevel", lambda r: r > 2),
    ("… > 4× the SDK MCPServer", "call", "edgemcp", "sdk-mcpserver", lambda r: r > 4),
    ("tools/call 2025-11-25 + session, memory store: ≥ 0.6×", "session", "edgemcp", "starlette",
     lambda r: r >= 0.6),
    ("tools/call 2025-11-25 + session, Redis store: ≥ 0.4×", "session", "edgemcp-redis", "starlette",
     lambda r: r >= 0.4),
    ("tools/call 2026-07-28, default configuration (audit log on): ≥ 0.85× bare Starlette, aim 0.9 (issue 17)",
     "call", "edgemcp", "starlette", lambda r: r >= 0.85),
    ("tools/call 2025-11-25 + session, Redis store: ≥ 0.5× (issue 17)", "session", "edgemcp-redis", "starlette",
     lambda r: r >= 0.5),
    ("handshake sequence, Redis store: ≥ 0.5× (issue 17)", "handshake", "edgemcp-redis", "starlette",
     lambda r: r >= 0.5),
    ("audit log on (default) vs off: ≥ 0.9× (issue 6)", "observability", "edgemcp", "edgemcp-noaudit",
     lambda r: r >= 0.9),
    ("OpenTelemetry SDK to memory vs untraced: ≥ 0.8× (issue 6)", "observability", "edgemcp-traced",
     "edgemcp", lambda r: r >= 0.8),
    ("… for reference, bare Starlette with one SDK span vs without", "observability", "starlette-traced",
     "starlette", None),
    ("tools/call through edgemcp's router vs direct: ≥ 0.5× (issue 12)", "router", "edgemcp-routed", "edgemcp",
     lambda r: r >= 0.5),
    ("… FastMCP's proxy vs direct, for reference", "router", "fastmcp-proxy", "edgemcp", None),
    ("creating a task vs a plain tools/call (issue 13)", "tasks", "edgemcp-task-create", "edgemcp", None),
    ("one tasks/get vs a plain tools/call (issue 13)", "tasks", "edgemcp-task-get", "edgemcp", None),
]


def markdown(raw: dict[str, Any], workloads: list[Any], servers: list[Any]) -> str:
    res = Results(raw, workloads, servers)
    m = raw["machine"]
    s = m["settings"]
    pk = m["packages"]
    out: list[str] = []
    out.append("# edgemcp benchmark results\n")
    out.append(f"Mode **{m['mode']}**: {s['reps']} repetition(s), {s['duration_s']:g} s per measured run after "
               f"{s['warmup_s']:g} s of warm-up, concurrency {', '.join(map(str, s['concurrency']))}; "
               f"{m['date']}, edgemcp commit {m['commit']} (src/ sha256 {m.get('src_sha256', '?')}), "
               f"{s['elapsed_s']} s in all.\n")
    if m.get("source_note"):
        out.append(f"Note: {m['source_note']}.\n")
    out.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), Linux {m['kernel']}, Python {m['python']}. "
               f"wrk pinned to CPU {s['wrk_cpu']}, the server (one process) to CPU {s['server_cpu']}; "
               f"redis-server (when used) on CPU {s['wrk_cpu']}.\n")
    out.append("Packages: " + ", ".join(f"{k} {v}" for k, v in pk.items())
               + f", redis-server {m['redis_server']}, {m['wrk']}.\n")
    out.append("Servers run under uvicorn (1 worker, uvloop, httptools, no access log) unless marked "
               "*granian* (1 worker, 1 runtime thread, uvloop). Figures are medians over the repetitions; "
               "**×bare** is the median of per-repetition ratios to bare Starlette measured in the same "
               "repetition on the same runner (granian rows: bare Starlette on granian). Every reply was "
               "checked (status and content) by wrk's Lua; a run with any failed check or socket error is "
               "INVALID and left out of the medians. *server CPU %*: the server process's CPU time over the "
               "measured run's wall time; well under 100 at c=16 means it waited (on Redis, or for a "
               "core someone else was using).\n")

    for w in workloads:
        concs = res.concurrencies(w)
        if not concs:
            continue
        out.append(f"\n## {w.title}\n")
        if w.note:
            out.append(w.note + "\n")
        head = ["server"]
        for c in concs:
            head += [f"c={c} {w.unit}", f"c={c} ×bare"]
        head += ["p99 ms (c=16)", "server CPU % (c=16)"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for key in w.servers:
            d = res.servers[key]
            label = d.label + (" *granian*" if d.runner == "granian" else "")
            row = [label]
            for c in concs:
                row += list(_cell(res, w, c, key))
            p99 = res.p99(w, 16, key)
            row.append("–" if p99 is None else f"{p99:.1f}")
            cpu = res.server_cpu(w, 16, key)
            row.append("–" if cpu is None else f"{cpu:.0f}")
            out.append("| " + " | ".join(row) + " |")
        if len(concs) > 1:
            out.extend(latency_table(res, w, concs))
        if w.key == "downstream":
            out.extend(hit_vs_cold_table(res, w, concs))

    cold = raw.get("cold_start") or {}
    rss = raw.get("rss_kib") or {}
    if cold:
        key_of = {"bare_asgi": "raw", "bare_starlette": "starlette", "edgemcp_app": "edgemcp",
                  "sdk_lowlevel": "sdk-lowlevel", "sdk_mcpserver": "sdk-mcpserver", "fastmcp_app": "fastmcp"}
        base = cold.get("bare Starlette", {}).get("median_ms")
        ll = cold.get("official SDK low-level Server", {}).get("median_ms")
        hi = cold.get("official SDK MCPServer", {}).get("median_ms")
        out.append("\n## Cold start and memory\n")
        out.append(f"Cold start: wall time of `python -c 'import servers.<module>'` (the module imports its "
                   f"framework and builds an app with ten tools), pinned to CPU {s['server_cpu']}, bytecode "
                   f"cached, median of {s['cold_runs']} interleaved runs. RSS after import: VmRSS at the end of "
                   f"that import. RSS after start: VmRSS of the running uvicorn server after its first "
                   f"request; after load: at the end of a repetition's load (median over repetitions).\n")
        head = ["server", "cold start ms", "×bare Starlette", "×SDK low-level", "×SDK MCPServer",
                "RSS after import MiB", "RSS after start MiB", "RSS after load MiB"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for label, c in cold.items():
            ms = c["median_ms"]
            k = key_of.get(c["module"] or "")
            r = rss.get(k, {}) if k else {}
            out.append("| " + " | ".join([
                label, f"{ms:.0f}",
                _fmt_ratio(ms / base) if base else "–",
                _fmt_ratio(ms / ll) if ll else "–",
                _fmt_ratio(ms / hi) if hi else "–",
                _mib(c.get("rss_after_import_kib")),
                _mib(_median(r.get("start", []))), _mib(_median(r.get("load", []))),
            ]) + " |")

    baseline = raw["machine"].get("baseline")
    if baseline:
        out.append(f"\n## This checkout against the baseline ({baseline})\n")
        out.append("Each edgemcp server ran twice in every repetition, this checkout and `@base` (the "
                   "baseline revision), back to back; the ratio is the median over repetitions of "
                   "this checkout ÷ baseline, at c=16. Around 1.00 means no change beyond noise.\n")
        out.append("| workload | server | ×baseline |")
        out.append("|---|---|---|")
        for w in workloads:
            if 16 not in res.concurrencies(w):
                continue
            for key in w.servers:
                if f"{key}@base" in w.servers:
                    out.append(f"| {w.title} | {res.servers[key].label} | "
                               f"{_fmt_ratio(res.ratio(w, 16, key, f'{key}@base'))} |")

    workers = raw.get("workers")
    if workers:
        out.extend(workers_section(workers))

    out.append("\n## Targets\n")
    out.append(TARGETS_NOTE + "\n")
    out.append("| target | measured | met? |")
    out.append("|---|---|---|")
    by_key = {w.key: w for w in workloads}

    def target(name: str, value: float | None, ok: bool | None, fmt: str = "{:.2f}×") -> None:
        shown = "–" if value is None else fmt.format(value)
        verdict = "–" if ok is None else ("yes" if ok else "**no**")
        out.append(f"| {name} | {shown} | {verdict} |")

    for name, workload, server, base, passes in RATIO_TARGETS:
        if workload in by_key and 16 in res.concurrencies(by_key[workload]):
            r = res.ratio(by_key[workload], 16, server, base)
            target(name, r, None if r is None or passes is None else passes(r))
    router = by_key.get("router")
    if router is not None and 1 in res.concurrencies(router):
        for key in ("edgemcp-routed", "fastmcp-proxy"):
            for quantile in ("p50", "p99"):
                added = res.latency_added(router, 1, key, "edgemcp", quantile)
                target(f"added latency at c=1, {quantile}: {res.servers[key].label}", added, None, "{:.2f} ms")
    downstream = by_key.get("downstream")
    if downstream is not None and 16 in res.concurrencies(downstream):
        c_lat = 1 if 1 in res.concurrencies(downstream) else 16
        for key in HIT_KEYS:
            label = res.servers[key].label.rsplit("(", 1)[-1].rstrip(")")
            target(f"a cache hit vs the 20 ms call it saves, {label}: req/s hit ÷ cold (c=16)",
                   res.ratio(downstream, 16, key, COLD_KEY), None, "{:.1f}×")
            target(f"… p50 latency hit ÷ cold (c={c_lat})",
                   res.ratio(downstream, c_lat, key, COLD_KEY, _p50), None, "{:.3f}×")
    if cold:
        e = cold.get("edgemcp", {}).get("median_ms")
        b = cold.get("bare Starlette", {}).get("median_ms")
        sdk = [x for x in (cold.get("official SDK low-level Server", {}).get("median_ms"),
                           cold.get("official SDK MCPServer", {}).get("median_ms")) if x]
        if e and b:
            target("cold start ≤ 2× bare Starlette", e / b, e / b <= 2)
        if e and sdk:
            r = e / min(sdk)
            target("cold start ≤ 0.35× the official SDK (the faster of its two servers)", r, r <= 0.35)
    start = _median(rss.get("edgemcp", {}).get("start", []))
    if start:
        target("RSS after start ≤ 45 MiB (uvicorn server process)", start / MIB, start / MIB <= 45, "{:.1f} MiB")

    bad = [r for r in raw["runs"] if r["invalid"]]
    if bad:
        out.append("\n## Invalid runs\n")
        for r in bad:
            out.append(f"- rep {r['rep'] + 1}, {r['workload']} c={r['concurrency']}, {r['server']}: {r['invalid']}"
                       + (f" — first failure: `{r['first_failure'][:200]}`" if r.get("first_failure") else ""))
    return "\n".join(out) + "\n"


def latency_table(res: Results, w: Any, concs: list[int]) -> list[str]:
    """p50 and p99 latency per concurrency, per server (medians over repetitions)."""
    head = ["latency, ms"]
    for c in concs:
        head += [f"c={c} p50", f"c={c} p99"]
    out = ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in w.servers:
        d = res.servers[key]
        row = [d.label + (" *granian*" if d.runner == "granian" else "")]
        for c in concs:
            row += [_ms(res.p50(w, c, key)), _ms(res.p99(w, c, key))]
        out.append("| " + " | ".join(row) + " |")
    return out


COLD_KEY = "edgemcp-downstream"
HIT_KEYS = ("edgemcp-downstream-hit", "edgemcp-downstream-hit-redis")


def hit_vs_cold_table(res: Results, w: Any, concs: list[int]) -> list[str]:
    """Workload (j): what a cache hit costs next to the downstream call it saves."""
    out = ["", "A cache hit against the call it saves: the hit rows ÷ the cold edgemcp row, per repetition "
               "(median over repetitions), for throughput and for p50 latency.", "",
           "| store | c | cold req/s | hit req/s | hit ÷ cold req/s | cold p50 ms | hit p50 ms | hit ÷ cold p50 |",
           "|---|---|---|---|---|---|---|---|"]
    for key in HIT_KEYS:
        if key not in w.servers:
            continue
        store = res.servers[key].label.rsplit("(", 1)[-1].rstrip(")")
        for c in concs:
            speedup = res.ratio(w, c, key, COLD_KEY)
            latency = res.ratio(w, c, key, COLD_KEY, _p50)
            out.append("| " + " | ".join([
                store, str(c), _fmt_int(res.median(w, c, COLD_KEY)), _fmt_int(res.median(w, c, key)),
                "–" if speedup is None else f"{speedup:.1f}", _ms(res.p50(w, c, COLD_KEY)), _ms(res.p50(w, c, key)),
                "–" if latency is None else f"{latency:.3f}"]) + " |")
    return out


def workers_section(workers: dict[str, Any]) -> list[str]:
    """The edge bridge in Pyodide (bench/workers_bridge.py), as run.py recorded it."""
    out = ["\n## The Workers bridge in Pyodide\n"]
    if workers.get("skipped"):
        return [*out, f"Not measured: {workers['skipped']}."]
    variants = workers["variants"]
    ours, stock = variants.get("edgemcp bridge", {}), variants.get("stock asgi bridge", {})
    out.append(f"The conformance example served by the Workers module in real Pyodide {workers.get('pyodide', '?')} "
               f"(Python {workers.get('python', '?')}) under Node (tests/workers/serve.mjs), stores as wrangler.toml "
               "says (Miniflare's KV for sessions, the harness's Durable Object fake for the exact kinds): edgemcp's "
               "own bridge (edgemcp.cloudflare) against the workers SDK's stock `asgi` bridge around the same app. "
               f"Sequential requests over loopback ({workers.get('requests', '?')} per workload; the streaming "
               "tool, which sleeps 100 ms, fewer), every reply checked, not pinned to a core. Latency in ms; the "
               "ratio is edgemcp's median ÷ the stock bridge's (below 1: edgemcp's is faster).\n")
    out.append("| workload | edgemcp median | edgemcp p90 | stock median | stock p90 | median ÷ stock |")
    out.append("|---|---|---|---|---|---|")
    for workload, f in ours.items():
        s = stock.get(workload)
        ratio = f["median_ms"] / s["median_ms"] if s and s["median_ms"] else None
        out.append("| " + " | ".join([
            f"{workload} (n={f['n']})", _ms(f["median_ms"]), _ms(f["p90_ms"]),
            _ms(s["median_ms"] if s else None), _ms(s["p90_ms"] if s else None), _fmt_ratio(ratio)]) + " |")
    return out


def chart(raw: dict[str, Any], workloads: list[Any], servers: list[Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = Results(raw, workloads, servers)
    panels = [w for w in workloads if 16 in res.concurrencies(w)]
    if not panels:
        return
    heights = [max(2.0, 0.42 * len(w.servers) + 1.0) for w in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    colours = {"raw": "#9e9e9e", "starlette": "#616161", "edgemcp": "#1565c0", "sdk": "#ef6c00",
               "fastmcp": "#6a1b9a"}
    for ax, w in zip(axes[:, 0], panels, strict=True):
        labels, values, ratios, cols = [], [], [], []
        for key in w.servers:
            d = res.servers[key]
            labels.append(d.label + (" [granian]" if d.runner == "granian" else ""))
            values.append(res.median(w, 16, key) or 0)
            ratios.append(res.ratio(w, 16, key, _baseline(w, key)))
            family = next((f for f in colours if key.startswith(f)), "raw")
            cols.append(colours[family])
        y = range(len(labels))
        ax.barh(list(y), values, color=cols)
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{w.title} — c=16", fontsize=9, loc="left")
        ax.set_xlabel(w.unit, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        top = max(values) if values else 1
        for i, (v, r) in enumerate(zip(values, ratios, strict=True)):
            text = "invalid" if not v else (f"{v:,.0f}  ({r:.2f}× bare)" if r is not None else f"{v:,.0f}")
            ax.text(v + top * 0.01, i, text, va="center", fontsize=7)
        ax.set_xlim(0, top * 1.3)
    m = raw["machine"]
    fig.suptitle(f"edgemcp benchmark ({m['mode']}, {m['settings']['reps']} rep.) — {m['cpu']}, "
                 f"Python {m['python']}; median of repetitions", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def definitions(raw: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The workloads and servers of a run, as results.json records them."""
    if "workloads" not in raw or "servers" not in raw:
        raise SystemExit("results.json predates recorded workload and server definitions: run bench/run.py again")
    workloads = [SimpleNamespace(**{**w, "servers": tuple(w["servers"])}) for w in raw["workloads"]]
    return workloads, [SimpleNamespace(**s) for s in raw["servers"]]


def render(raw: dict[str, Any], out: Path) -> str:
    """results.md and throughput.png in ``out``; returns the Markdown."""
    workloads, servers = definitions(raw)
    md = markdown(raw, workloads, servers)
    (out / "results.md").write_text(md)
    chart(raw, workloads, servers, out / "throughput.png")
    return md


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / "results.json"
    print(render(json.loads(src.read_text()), src.parent))
