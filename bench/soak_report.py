# ruff: noqa: RUF001  (the multiplication sign and the en dash are the Markdown output)
"""Turn a soak's JSON (bench/soak.py) into its Markdown report, its chart and a filled-in
paragraph for the README.

    python bench/soak_report.py bench/results/soak/soak.json.gz    # re-render without re-running

Every reply is classified by where it came from (a wrk step, i.e. a tool, or a kind of
driver request), its class and when it ended. A class is expected:
- always: "ok"; "rate_limited" (limited_echo's 429 + Retry-After); "cache_miss";
- inside a store fault's window (Redis down or a cluster failing over, until 5 s after it
  is back): "unavailable" (503 + Retry-After) and "cache_unavailable", except for the
  stateless tools that never touch the store (echo, downstream), which must go on;
- inside a replica kill's window (1 s before to 3 s after the SIGKILL): the balancer's
  502 and broken streams, for the requests that were in flight on the killed replica.
Anything else is unexpected.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

MIB = 1024
STATELESS = {"echo", "downstream"}
ALWAYS = {"ok", "rate_limited", "cache_miss"}
STORE_DOWN = {"unavailable", "cache_unavailable"}
KILLED = ("bad:502", "bad:503", "bad:504", "bad:stream-ended", "bad:in-stream", "transport:")


# ----------------------------------------------------------------------------------------------
# Analysis
# ----------------------------------------------------------------------------------------------

def fault_windows(sc: dict[str, Any]) -> list[tuple[str, float, float]]:
    return [(f["kind"], f["window"][0], f["window"][1]) for f in sc["faults"] if f["start"]]


def judge(source: str, cls: str, t0: float, t1: float, windows: list[tuple[str, float, float]]) -> str | None:
    """Why a reply of class ``cls`` from ``source`` ending in [t0, t1) is expected (a
    short reason), or None if it is not."""
    if cls in ALWAYS:
        return cls
    for kind, lo, hi in windows:
        if t1 <= lo or t0 > hi:
            continue
        if kind in ("redis", "cluster") and cls in STORE_DOWN and source not in STATELESS:
            return f"{cls} ({kind} down)"
        if kind == "kill" and cls.startswith(KILLED):
            return "lost with the killed replica"
    return None


def outcomes(sc: dict[str, Any]) -> list[tuple[float, float, str, str, int]]:
    """(start, end, source, class, count) for every wrk second bucket and driver record."""
    steps = sc["steps"]
    out = []
    for w in sc["windows"]:
        for key, n in w["outcomes"].items():
            second, step, cls = key.split("|", 2)
            source = steps[int(step) - 1] if step.isdigit() else "balancer"
            out.append((float(second), float(second) + 1, source, cls, n))
    for r in sc["driver_records"]:
        out.append((r["t"], r["t"], r["kind"], r["class"], 1))
    return out


def analyse(sc: dict[str, Any]) -> dict[str, Any]:
    t0, soak_s = sc["t0"], sc["soak_s"]
    windows = fault_windows(sc)
    expected: Counter[str] = Counter()
    unexpected: Counter[str] = Counter()
    samples: dict[str, str] = {}
    per_window_err: dict[int, Counter[str]] = defaultdict(Counter)
    for start, end, source, cls, n in outcomes(sc):
        if start < t0:   # the warm-up and the peak are not the soak
            continue
        reason = judge(source, cls, start, end, windows)
        slot = int((start - t0) // sc["settings"]["window_s"])
        if reason is None:
            unexpected[f"{source}: {cls}"] += n
            per_window_err[slot]["unexpected"] += n
        elif reason != "ok":
            expected[reason] += n
            per_window_err[slot]["expected"] += n
    for w in sc["windows"]:   # wrk's socket errors have no time stamp: its window's
        socket_errors = sum(v for k, v in w["errors"].items() if k != "status")
        if not socket_errors:
            continue
        in_kill = any(kind == "kill" and not (w["end"] <= lo or w["start"] > hi) for kind, lo, hi in windows)
        (expected if in_kill else unexpected)["wrk socket errors"] += socket_errors
    for w in sc["windows"]:
        for cls, body in w.get("samples", {}).items():
            samples.setdefault(cls, body)
    for r in sc["driver_records"]:
        if r["class"] != "ok" and r.get("detail"):
            samples.setdefault(f"{r['kind']}: {r['class']}", r["detail"])

    rows = []
    for w in sc["windows"]:
        seconds = w["duration_us"] / 1e6
        rows.append({"t": w["start"] - t0, "rps": w["requests"] / seconds, "p50": w["latency_us"]["p50"] / 1000,
                     "p99": w["latency_us"]["p99"] / 1000, "cores": w["cores_busy_pct"]})
    flows = [r for r in sc["driver_records"] if r["kind"] == "flow" and r["class"] == "ok" and r["t"] >= t0]
    width = sc["settings"]["window_s"]
    flow_p99: dict[int, float] = {}
    by_slot: dict[int, list[float]] = defaultdict(list)
    for r in flows:
        by_slot[int((r["t"] - t0) // width)].append(r["ms"])
    for slot, ms in by_slot.items():
        flow_p99[slot] = percentile(ms, 99)

    span = min(60.0, soak_s / 5)
    first = [r["p99"] for r in rows if r["t"] < span]
    last = [r["p99"] for r in rows if r["t"] + width > soak_s - span]
    p99_first = statistics.mean(first) if first else None
    p99_last = statistics.mean(last) if last else None

    rss = rss_growth(sc, span)
    crossed = [r for r in sc["driver_records"] if r["kind"] == "reply" and r["class"] == "ok"]
    return {
        "rows": rows, "flow_p99": flow_p99, "expected": expected, "unexpected": unexpected, "samples": samples,
        "per_window_err": per_window_err, "span": span, "p99_first": p99_first, "p99_last": p99_last,
        "rss": rss, "requests": sum(w["requests"] for w in sc["windows"]),
        "driver_requests": sum(1 for r in sc["driver_records"] if r["t"] >= t0),
        "flows_ok": len(flows), "replies_crossed": sum(1 for r in crossed if r.get("crossed")),
        "replies_ok": len(crossed), "checks": fault_checks(sc, windows),
    }


def rss_growth(sc: dict[str, Any], span: float) -> dict[str, dict[str, Any]]:
    """Per replica process that lived through the soak: the median RSS over ``span`` seconds
    after the warm-up (the first 20 % of the soak) and over the last ``span`` seconds."""
    t0, soak_s = sc["t0"], sc["soak_s"]
    warm = 0.2 * soak_s
    by_process: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t, name, pid, kib in sc["rss"]:
        by_process[f"{name} (pid {pid})"].append((t - t0, kib))
    out = {}
    for process, samples in by_process.items():
        base = [k for t, k in samples if warm <= t < warm + span]
        end = [k for t, k in samples if soak_s - span <= t <= soak_s]
        out[process] = {
            "start_mib": samples[0][1] / MIB, "max_mib": max(k for _, k in samples) / MIB,
            "after_warmup_mib": statistics.median(base) / MIB if base else None,
            "end_mib": statistics.median(end) / MIB if end else None,
            "growth_mib": (statistics.median(end) - statistics.median(base)) / MIB if base and end else None,
        }
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fault_checks(sc: dict[str, Any], windows: list[tuple[str, float, float]]) -> list[tuple[str, str, str, bool]]:
    """(fault, expected behaviour, what was seen, met?) for every check of the scenario."""
    checks: list[tuple[str, str, str, bool]] = []
    records = sc["driver_records"]
    out = outcomes(sc)
    for fault in sc["faults"]:
        kind, start, end = fault["kind"], fault["start"], fault["end"]
        if not start:
            checks.append((kind, "injected", "not injected: " + str(sc.get("injector_error")), False))
            continue
        if kind in ("redis", "cluster"):
            name = "Redis stop/restart" if kind == "redis" else "cluster primary SIGKILL"
            unavailable = [(s, e) for s, e, src, cls, _ in out if cls in STORE_DOWN and s >= sc["t0"]]
            outside = [s for s, e in unavailable if e <= start or s > end + 5]
            last = max((e for s, e in unavailable if s >= start), default=None)
            recovery = None if last is None else max(0.0, last - end)
            checks.append((name, "503 + Retry-After only while the store is down (and ≤ 5 s after)",
                           f"{len(unavailable)} store-down answers, {len(outside)} outside the window", not outside))
            checks.append((name, "recovery within 5 s of its return",
                           "no store-down answer after it came back" if recovery is None
                           else f"last store-down answer {recovery:.1f} s after it came back",
                           recovery is None or recovery <= 5.0))
            stateless = [(src, cls) for s, e, src, cls, _ in out
                         if src in STATELESS and cls != "ok" and not (e <= start or s > end + 5)]
            checks.append((name, "stateless 2026-07-28 calls (echo, downstream) go on",
                           f"{len(stateless)} failed while it was down", not stateless))
            if kind == "cluster":
                checks.append((name, "a replica promoted: every slot served again",
                               f"cluster_state ok {end - start:.1f} s after the kill", True))
        if kind == "redis":
            lost = [r for r in records if r["class"] == "bad:404"]
            notes = fault["notes"]
            checks.append(("Redis stop/restart", "sessions kept (AOF, fsync always)",
                           f"{notes.get('sessions_before')} sessions before, {notes.get('sessions_after_restart')} "
                           f"after the restart; {len(lost)} 'session not found'", not lost and
                           notes.get("sessions_after_restart", 0) >= notes.get("sessions_before", 1)))
        if kind == "kill":
            probe = fault["notes"].get("probe", {})
            checks.append(("replica SIGKILL mid-call", "the client's session goes on through the other replica",
                           f"late reply → {probe.get('late_reply')}, next call ok: {probe.get('session_goes_on')} "
                           f"(served by {probe.get('session_served_by')})",
                           probe.get("late_reply") == 202 and bool(probe.get("session_goes_on"))))
            lease = sc["settings"]["idempotency_lease_s"]
            after = probe.get("write_retry_ok_after_s")
            checks.append(("replica SIGKILL mid-call", f"its idempotency claim lapses within the lease ({lease:g} s)",
                           f"retry ran {after} s after the kill ({probe.get('write_retry_conflicts')} × 409 before)",
                           after is not None and after <= lease + 2))
            task_lease = sc["settings"]["task_lease_s"]
            settled = probe.get("task_settled_after_s")
            checks.append(("replica SIGKILL mid-call", f"its task is failed once its lease ({task_lease:g} s) lapses",
                           f"task {probe.get('task_status')} {settled} s after the kill",
                           probe.get("task_status") == "failed" and settled is not None and settled <= task_lease + 2))
            pending = fault["notes"].get("pending_after_probe", {})
            deadline = sc["settings"]["reply_timeout_s"] * 1000
            replies = pending.get("reply", {})
            bounded = all(0 < ttl <= deadline for ttl in replies.values())
            leases = pending.get("task-lease", {})
            gone = set(replies) & set(fault["notes"].get("pending_after_deadline", {}).get("reply", {}))
            checks.append(("replica SIGKILL mid-call", "no pending reply stays past its deadline (reply_timeout)",
                           f"{len(replies)} pending, each with a TTL ≤ {deadline / 1000:g} s: {bounded}; "
                           f"{len(gone)} still there after it", bounded and not gone))
            checks.append(("replica SIGKILL mid-call", "no task lease without an expiry",
                           f"{len(leases)} leases, all with a TTL: {all(t > 0 for t in leases.values())}",
                           all(t > 0 for t in leases.values())))
            lo, hi = fault["window"]
            lost = [(s, n) for s, e, src, cls, n in out if cls.startswith(KILLED) and s >= sc["t0"]]
            outside = sum(n for s, n in lost if not lo - 1 <= s <= hi)
            checks.append(("replica SIGKILL mid-call", "only requests in flight on it fail (within 3 s of the kill)",
                           f"{sum(n for _, n in lost)} lost, {outside} of them outside that window", not outside))
    if any(f["kind"] == "redis" for f in sc["faults"]) or not sc["faults"]:
        checks.extend(idempotency_checks(sc))
    return checks


def idempotency_checks(sc: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    acked = sc["driver_done"].get("acked", [])
    ledger = sc["ledger"]
    twice = [k for k, n in ledger.items() if n > 1]
    lost = [k for k in acked if ledger.get(k, 0) != 1]
    replays = [r for r in sc["driver_records"] if r["kind"] == "replay"]
    bad_replays = [r for r in replays if r["class"] != "ok"]
    return [("idempotent writes", "no acknowledged write lost or run twice",
             f"{len(acked)} acknowledged, {len(lost)} not run exactly once, {len(twice)} keys run twice",
             not lost and not twice),
            ("idempotent writes", "every acknowledged write replays its first result",
             f"{len(replays) - len(bad_replays)} of {len(replays)} replayed", not bad_replays and len(replays) == len(acked))]


# ----------------------------------------------------------------------------------------------
# Markdown, chart, paragraph
# ----------------------------------------------------------------------------------------------

def _f(x: float | None, fmt: str = ".1f") -> str:
    return "–" if x is None else format(x, fmt)


def render(data: dict[str, Any], out: Path, stem: str) -> str:
    m = data["machine"]
    lines = [f"# edgemcp soak{' with faults' if m.get('faults') else ''}", "",
             f"{m['date']}, edgemcp commit {m['commit']} (src/ sha256 {m['src_sha256']}); {m['nproc']} CPUs "
             f"({m['cpu']}), Python {m['python']}, {m['redis_server']}, {m['haproxy']}, {m['wrk']}; "
             f"{m['elapsed_s']} s in all.", ""]
    analyses = []
    for sc in data["scenarios"]:
        a = analyse(sc)
        analyses.append(a)
        lines += scenario_md(sc, a)
    chart(data, analyses, out / f"{stem}.png")
    lines += [f"![soak]({stem}.png)", ""]
    md = "\n".join(lines)
    (out / f"{stem}.md").write_text(md)
    if not m.get("faults"):
        (out / f"{stem}-paragraph.md").write_text(paragraph(data["scenarios"][0], analyses[0], m) + "\n")
    return md


def scenario_md(sc: dict[str, Any], a: dict[str, Any]) -> list[str]:
    s, peak = sc["settings"], sc["peak"]
    lines = [f"## {sc['name']}: {sc['soak_s'] / 60:g} min on {sc['store']}", "",
             f"Peak (wrk unpaced, {len(sc['steps'])}-step mix, c={s['connections']}, with the session driver "
             f"running): **{peak['rps']:,.0f} req/s**, p99 {peak['latency_us']['p99'] / 1000:.1f} ms, cores busy "
             f"(load, servers) {peak['cores_busy_pct']} %. Soaked at {s['fraction']:.0%} of it: "
             f"**{sc['rate']:,} req/s** from wrk, plus the driver ({s['flows_per_s']:g} elicitation flows/s, "
             f"{s['session_calls_per_s']:g} session calls/s, {s['writes_per_s']:g} idempotent writes/s).", "",
             f"{a['requests']:,} wrk requests and {a['driver_requests']:,} driver requests; "
             f"{a['flows_ok']:,} elicitation flows completed, {a['replies_crossed']:,} of {a['replies_ok']:,} "
             "replies answered on the other replica than the call.", ""]
    if not sc["faults"]:
        lines += targets_md(a), ""
    else:
        lines += ["| fault | expected | seen | met? |", "|---|---|---|---|"]
        lines += [f"| {f} | {e} | {seen} | {'yes' if ok else '**NO**'} |" for f, e, seen, ok in a["checks"]]
        lines += ["", f"Unexpected errors: **{sum(a['unexpected'].values())}**.", ""]
    if a["expected"]:
        lines += ["Expected non-ok answers: " + ", ".join(f"{k} {v:,}" for k, v in a["expected"].most_common()) + ".", ""]
    if a["unexpected"]:
        lines += ["Unexpected: " + ", ".join(f"{k} {v:,}" for k, v in a["unexpected"].most_common()) + ".", ""]
        lines += [f"- `{k}`: `{v[:200]}`" for k, v in list(a["samples"].items())[:8]] + [""]
    lines += ["| replica process | RSS at start MiB | after warm-up | at the end | growth | max |",
              "|---|---|---|---|---|---|"]
    for proc, r in a["rss"].items():
        lines.append(f"| {proc} | {r['start_mib']:.1f} | {_f(r['after_warmup_mib'])} | {_f(r['end_mib'])} | "
                     f"{_f(r['growth_mib'], '+.1f')} | {r['max_mib']:.1f} |")
    lines += [""]
    return lines


def targets_md(a: dict[str, Any]) -> str:
    unexpected = sum(a["unexpected"].values())
    growths = {p: r["growth_mib"] for p, r in a["rss"].items()}
    worst = max((g for g in growths.values() if g is not None), default=None)
    ratio = a["p99_last"] / a["p99_first"] if a["p99_first"] and a["p99_last"] else None
    rows = [("0 unexpected errors", f"{unexpected}", unexpected == 0),
            ("RSS growth after warm-up < 5 MiB per replica",
             ", ".join(f"{p.split()[0]} {_f(g, '+.1f')} MiB" for p, g in growths.items()),
             worst is not None and worst < 5),
            (f"last-minute p99 ≤ 1.5× the first minute's (means of the 10-s p99s, {a['span']:g} s each)",
             f"{_f(a['p99_first'])} → {_f(a['p99_last'])} ms (×{_f(ratio, '.2f')})", ratio is not None and ratio <= 1.5)]
    return "\n".join(["| target | measured | met? |", "|---|---|---|",
                      *(f"| {t} | {mv} | {'yes' if ok else '**NO**'} |" for t, mv, ok in rows),
                      "", "idempotent writes: " + "; ".join(f"{e}: {seen} ({'yes' if ok else 'NO'})"
                                                            for _, e, seen, ok in a["checks"])])


def paragraph(sc: dict[str, Any], a: dict[str, Any], m: dict[str, Any]) -> str:
    """The README's soak paragraph, its blanks filled in."""
    g = [f"{p.split()[0]} {r['growth_mib']:+.1f} MiB" for p, r in a["rss"].items() if r["growth_mib"] is not None]
    ratio = a["p99_last"] / a["p99_first"] if a["p99_first"] and a["p99_last"] else float("nan")
    span = "minute" if a["span"] == 60 else f"{a['span']:g} s"
    return (f"On {m['nproc']} cores ({m['cpu']}), two replicas on one core peaked at "
            f"{sc['peak']['rps']:,.0f} req/s on the mix; {sc['soak_s'] / 60:g} minutes at "
            f"{sc['settings']['fraction']:.0%} of that ({sc['rate']:,} req/s from wrk plus the session driver) "
            f"served {a['requests'] + a['driver_requests']:,} requests with {sum(a['unexpected'].values())} "
            f"unexpected errors ({sum(a['expected'].values()):,} expected: "
            + ", ".join(f"{k} {v:,}" for k, v in a["expected"].most_common()) + "); "
            f"p99 {_f(a['p99_first'])} ms in the first {span} and {_f(a['p99_last'])} ms in the last "
            f"(×{ratio:.2f}); RSS growth after warm-up: {', '.join(g)} (commit {m['commit']}, {m['date']}).")


def chart(data: dict[str, Any], analyses: list[dict[str, Any]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = data["scenarios"]
    fig, axes = plt.subplots(4, len(scenarios), figsize=(7 * len(scenarios), 11), sharex="col", squeeze=False)
    for col, (sc, a) in enumerate(zip(scenarios, analyses, strict=True)):
        t0 = sc["t0"]
        rows = a["rows"]
        xs = [r["t"] for r in rows]
        ax = axes[0][col]
        ax.plot(xs, [r["rps"] for r in rows], marker=".", label="wrk req/s (10-s windows)")
        ax.axhline(sc["rate"], color="grey", linestyle=":", label=f"target {sc['rate']:,}")
        ax.set_ylabel("req/s")
        ax.set_ylim(0, max([sc["rate"], *(r["rps"] for r in rows)]) * 1.15)
        ax.set_title(f"{sc['name']} ({sc['store']})")
        ax.legend(loc="lower left", fontsize=8)
        ax = axes[1][col]
        ax.plot(xs, [r["p50"] for r in rows], marker=".", label="wrk p50")
        ax.plot(xs, [r["p99"] for r in rows], marker=".", label="wrk p99")
        width = sc["settings"]["window_s"]
        fp = sorted(a["flow_p99"].items())
        ax.plot([s * width for s, _ in fp], [v for _, v in fp], marker=".", label="elicitation flow p99")
        ax.set_ylabel("ms")
        ax.set_yscale("log")
        ax.legend(loc="upper left", fontsize=8)
        ax = axes[2][col]
        by_proc: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for t, name, pid, kib in sc["rss"]:
            if t >= t0:
                by_proc[f"replica {name} (pid {pid})"].append((t - t0, kib / MIB))
        for proc, pts in by_proc.items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=proc)
        ax.set_ylabel("RSS MiB")
        ax.legend(loc="lower right", fontsize=8)
        ax = axes[3][col]
        slots = sorted(a["per_window_err"])
        ax.bar([s * width for s in slots], [a["per_window_err"][s]["expected"] for s in slots], width=width * 0.9,
               align="edge", color="silver", label="expected (429, store down, …)")
        ax.bar([s * width for s in slots], [a["per_window_err"][s]["unexpected"] for s in slots], width=width * 0.9,
               align="edge", color="red", label="unexpected")
        ax.set_ylabel("non-ok answers / 10 s")
        ax.set_yscale("symlog")
        ax.set_xlabel("seconds into the soak")
        ax.legend(loc="upper left", fontsize=8)
        for kind, lo, hi in fault_windows(sc):
            for row in axes:
                row[col].axvspan(lo - t0, hi - t0, color="orange", alpha=0.2)
            axes[0][col].annotate(kind, (lo - t0, sc["rate"]), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "soak" / "soak.json.gz")
    print(render(json.loads(gzip.decompress(source.read_bytes())), source.parent, source.name.split(".")[0]))
