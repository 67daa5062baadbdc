#!/usr/bin/env python3
"""Writes the Markdown comparison of one benchmarks/run invocation (Python 3 stdlib only).

  report.py META.json TETHER.json SOCKETIO.json OUT.md [NAME=RUN.json ...]

NAME=RUN.json (issue 16): further servers of the socket.io scenarios (tether-socketio, netty-socketio),
each an extra column, after the ratio, in the generator and server-process tables.

META.json: {"scenario", "size", "timestamp", "generators", "machine": {...}, "versions": {...},
            "commands": [..], "log": "file name", "java_opts": "...",
            "histogram_logs": {"tether": "file names, space-separated", "socketio": "..."}}
TETHER.json / SOCKETIO.json: what `procstat.py drive` wrote (samples, exit, result).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def derived(run, scenario):
    """Server-side figures computed from the samples and the generator's RESULT."""
    s, r = run.get("samples", {}), run.get("result") or {}
    before, start, end = s.get("before", {}), s.get("run_start"), s.get("run_end")
    n = r.get("connected") or 0
    d = {}
    # The end of the generator's own warm-up ("warm", no GC) when it made one, else "before": CPU,
    # accept-queue overflows and RSS count from there (RSS grown by the warm-up is not the run's).
    base = s.get("warm") or before
    if base.get("rss_kb") is not None:
        d["server RSS before load (MB)"] = base["rss_kb"] / 1024
    if end and end.get("rss_kb") is not None:
        d["server RSS at end of %s (MB)" % ("hold" if scenario == "hold" else "run")] = end["rss_kb"] / 1024
        if n and base.get("rss_kb") is not None:
            d["RSS per connection (KB) = (RSS delta)/N"] = (end["rss_kb"] - base["rss_kb"]) / n
    if s.get("after", {}).get("hwm_kb") is not None:
        d["server peak RSS, VmHWM (MB)"] = s["after"]["hwm_kb"] / 1024
    if before.get("heap_used_kb") is not None:
        d["JVM heap used after GC, before load (MB)"] = before["heap_used_kb"] / 1024
        if end and end.get("heap_used_kb") is not None:
            d["JVM heap used after GC, end of hold (MB)"] = end["heap_used_kb"] / 1024
            if n:
                d["heap per connection (KB) = (heap delta)/N"] = (end["heap_used_kb"] - before["heap_used_kb"]) / n
    if n and end and before.get("heap_live_kb") is not None and end.get("heap_live_kb") is not None:
        # The class histograms' live objects: what the connections hold, without G1's part-filled
        # regions that GC.heap_info's 'used' also counts (a few MB that differ from sample to sample).
        d["live objects per connection (KB) = class histogram delta / N"] = (
            end["heap_live_kb"] - before["heap_live_kb"]) / n
    if before.get("native_kb") is not None and end and end.get("native_kb") is not None:
        d["JVM native memory, per-connection categories (NMT committed), before load (MB)"] = before["native_kb"] / 1024
        d["JVM native memory, per-connection categories (NMT committed), end of %s (MB)" % (
            "hold" if scenario == "hold" else "run")] = end["native_kb"] / 1024
        if n:
            native = (end["native_kb"] - before["native_kb"]) / n
            d["native per connection (KB) = (NMT delta)/N"] = native
            if end.get("heap_used_kb") is not None and before.get("heap_used_kb") is not None:
                d["memory per connection (KB) = heap after GC + native, deltas / N"] = native + (
                    end["heap_used_kb"] - before["heap_used_kb"]) / n
    if start and end:
        window = end["t"] - start["t"]
        cpu = end["cpu_s"] - start["cpu_s"]
        d["measured window (s)"] = window
        d["server CPU in window (s)"] = cpu
        if window > 0:
            d["server CPU in window (% of one core)"] = 100 * cpu / window
        if scenario == "hold" and n:
            d["server CPU per 10,000 held connections (% of one core)"] = 100 * cpu / window * 10_000 / n
        received = r.get("received") or sum(st.get("received", 0) for st in r.get("steps") or [])
        if scenario != "hold" and received:
            d["server CPU per message (µs) = CPU in window / received"] = cpu * 1e6 / received
    after = s.get("after")
    if after and after.get("listen_overflows") is not None and base.get("listen_overflows") is not None:
        d["accept-queue overflows during the run (TcpExt ListenOverflows)"] = (
            after["listen_overflows"] - base["listen_overflows"])
    if after and base.get("cpu_s") is not None:
        # Whole run: from base to after (before its GC), ramp and close included.
        d["server CPU whole run, ramp included (s)"] = after["cpu_s"] - base.get("cpu_after_gc_s", base["cpu_s"])
        if start and n:
            ramp_cpu = start["cpu_s"] - base.get("cpu_after_gc_s", base["cpu_s"])
            d["server CPU in ramp per handshake (ms)"] = ramp_cpu * 1e3 / n
    return d


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == int(v) and abs(v) >= 1000:
            return f"{int(v):,}"
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
    return str(v)


def ratio(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return ""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return ""
    if b == 0:
        return "—" if a == 0 else "∞"
    return f"{a / b:.3g}"


def search_section(w, rt, rs, extras=()):
    """echo-search: the rate each server sustained under the bound, and every step of every search
    (extras: (title, RESULT) of the further servers, each a column after the ratio)."""
    a, b = rt.get("searchBestRate"), rs.get("searchBestRate")
    bound = rt.get("searchBoundMs", rs.get("searchBoundMs"))
    w("## Echo search: highest steady rate")
    w("")
    w(f"A step is steady when its p99 and the p99 of its second half are at most {fmt(bound)} ms, it sent "
      "at least 98 % of the target rate and lost nothing. The rate grows by 1.5x while steps are steady, "
      "then bisects between the last steady and the first unsteady rate until they are within 10 % "
      "(at most `--max-steps` steps, every step over the same connections). A step that is not steady is "
      "repeated once at the same rate and the repeat decides (attempt 2 below; the first attempt shows "
      "'no, repeated'); repeats count against `--max-steps`.")
    w("")
    w("| | Tether | Socket.IO | ratio |" + "".join(f" {t} |" for t, _ in extras))
    w("|---|--:|--:|--:|" + "--:|" * len(extras))
    w(f"| highest steady rate (msg/s) | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |"
      + "".join(f" {fmt(r.get('searchBestRate'))} |" for _, r in extras))
    w("")
    for name, r in [("Tether", rt), ("Socket.IO", rs)] + list(extras):
        steps = r.get("steps") or []
        w(f"### {name}: steps")
        w("")
        if not steps:
            w("No steps (see the log).")
            w("")
            continue
        w("| step | attempt | rate (msg/s) | achieved | p50 (ms) | p99 (ms) | p99 2nd half (ms) | max (ms) | lost | errors | steady |")
        w("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for i, st in enumerate(steps, 1):
            steady = fmt(st.get('steady')) + (", repeated" if st.get('repeated') else "")
            w(f"| {i} | {fmt(st.get('attempt', 1))} | {fmt(st.get('rate'))} | {fmt(st.get('achieved'))} | "
              f"{fmt(st.get('p50Ms'))} | {fmt(st.get('p99Ms'))} | {fmt(st.get('p99SecondHalfMs'))} | "
              f"{fmt(st.get('maxMs'))} | {fmt(st.get('lost'))} | {fmt(st.get('errors'))} | {steady} |")
        w("")


def storm_section(w, rt, rs):
    """storm: the figures the scenario exists for, side by side, and what 'resumed' means for each."""
    w("## Storm: every subscriber cut at once")
    w("")
    w("Every subscriber's TCP connection is reset (SO_LINGER 0) `--storm-after-seconds` after publishing "
      "starts, while the publisher keeps publishing. Tether's clients resume their session (backoff with "
      "full jitter, base 100 ms, cap 5 s) and the server replays what they missed: lost and duplicated must "
      "be 0. Socket.IO's reconnect as socket.io-client does with its defaults (1000 ms x 2^attempt, "
      "+-50 % jitter, cap 5000 ms; a fresh Engine.IO handshake and namespace `40`, the peer puts the new "
      "socket back in the room): the seed server has no connection state recovery, so 'resumed' means back "
      "and receiving again, and everything published while a subscriber was away is lost. Lost = expected - "
      "delivered; of it, 'seqHoles' are the jumps in the numbers a subscriber saw (Tether: the server's seq; "
      "Socket.IO: the publish number the message's intended time gives); the rest never arrived by the end "
      "of the grace period.")
    w("")
    w("| | Tether | Socket.IO | ratio |")
    w("|---|--:|--:|--:|")
    for k in ("cut", "resumed", "notResumed", "reconnectAttempts", "reconnectFailures", "resume50Ms",
              "resume99Ms", "resume100Ms", "published", "expectedDeliveries", "delivered", "lost", "seqHoles",
              "gapLost", "duplicates", "subscribersWithLoss", "lostMaxPerSubscriber", "rejoin"):
        a, b = rt.get(k), rs.get(k)
        w(f"| {k} | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |")
    w("")


def generator_section(w, meta, tether, sio):
    """How many generator processes ran against each server, and what each one cost in CPU."""
    n = meta.get("generators", 1)
    w("## Load generator processes")
    w("")
    if n > 1:
        w(f"{n} generator processes ran at the same time against each server, each with its share of the "
          "connections and rates and its own source addresses; the results above are their merge "
          "(`LoadGenerator merge`: counts, rates and CPU summed, percentiles from their added HdrHistogram "
          "logs). Compare with a run of the same size with one process to see whether the generator limits "
          "the result.")
    else:
        w("One generator process per server.")
    w("")
    w("| server | generator | process CPU, all threads (s) | selector threads CPU (s) | RESULT line |")
    w("|---|--:|--:|--:|---|")
    for name, run in (("Tether", tether), ("Socket.IO", sio)):
        if run.get("skipped"):
            continue
        results = run.get("results") or [run.get("result")]
        cpus = run.get("generator_cpu_s") or []
        for i, r in enumerate(results):
            cpu = cpus[i] if i < len(cpus) else None
            sel = (r or {}).get("generatorCpuMs")
            w(f"| {name} | {i + 1} | {fmt(cpu)} | {fmt(sel / 1000 if sel is not None else None)} | "
              f"{'yes' if r else 'no'} |")
    for name, run in (("Tether", tether), ("Socket.IO", sio)):
        if run.get("merge_error"):
            w("")
            w(f"**{name}: merging the generators' results failed: {run['merge_error']}**")
    w("")


def heap_classes_section(w, scenario, runs):
    """Hold: what each JVM server's heap delta is made of, per connection, from the class histograms
    procstat.py takes with the heap (so that a figure that moves between runs can be explained)."""
    runs = [(name, run) for name, run in runs if run.get("heap_classes_delta")]
    if scenario != "hold" or not runs:
        return
    w("### Heap delta by class, per connection (`jcmd PID GC.class_histogram`, before load to end of hold)")
    w("")
    for name, run in runs:
        n = (run.get("result") or {}).get("connected") or 0
        if not n:
            continue
        w(f"{name}, the largest changes:")
        w("")
        w("| class | bytes per connection | instances per connection |")
        w("|---|--:|--:|")
        for cls, count, nbytes in run["heap_classes_delta"]:
            w(f"| `{cls}` | {nbytes / n:,.1f} | {count / n:.2f} |")
        w("")


def main():
    meta, tether, sio = (load(p) for p in sys.argv[1:4])
    extras = [(a.split("=", 1)[0], load(a.split("=", 1)[1])) for a in sys.argv[5:]]
    titles = {"tether-socketio": "Tether (Socket.IO endpoint)", "netty-socketio": "netty-socketio"}
    extra_head = "".join(f" {titles.get(n, n)} |" for n, _ in extras)
    extra_rule = "--:|" * len(extras)
    scenario = meta["scenario"]
    out = []
    w = out.append
    w(f"# `{scenario}` ({meta['size']}): Tether vs Socket.IO, {meta['timestamp']}")
    w("")
    w("Produced by `benchmarks/run`. Both servers ran one after the other on this machine, over loopback; "
      "the load generator ran as a separate process on the same machine. "
      "Ratio = Tether / Socket.IO (below 1 is lower for Tether; whether lower is better depends on the row).")
    w("")
    for name, run in [("Tether", tether), ("Socket.IO", sio)] + [(titles.get(n, n), r) for n, r in extras]:
        if run.get("skipped"):
            w(f"**{name}: not run: {run['skipped']}.**")
            w("")
        elif run.get("exit") != 0 or not run.get("result"):
            w(f"**{name}: the generator exited with status {run.get('exit')}"
              f"{'' if run.get('result') else ' and printed no RESULT line'}; see the log.**")
            w("")
    w("## Generator results (the `RESULT` line)")
    w("")
    w("| figure | Tether | Socket.IO | ratio |" + extra_head)
    w("|---|--:|--:|--:|" + extra_rule)
    rt, rs = tether.get("result") or {}, sio.get("result") or {}
    rx = [r.get("result") or {} for _, r in extras]
    keys = list(rt.keys()) + [k for k in rs.keys() if k not in rt]
    for r in rx:
        keys += [k for k in r.keys() if k not in keys]
    for k in keys:
        a, b = rt.get(k), rs.get(k)
        if k in ("scenario", "protocol", "steps"):
            continue
        w(f"| {k} | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |" + "".join(f" {fmt(r.get(k))} |" for r in rx))
    w("")
    if scenario == "echo-search":
        search_section(w, rt, rs, [(titles.get(n, n), r) for (n, _), r in zip(extras, rx)])
    if scenario == "storm":
        storm_section(w, rt, rs)
    generator_section(w, meta, tether, sio)
    w("## Server process (measured by `benchmarks/scripts/procstat.py`)")
    w("")
    dt, ds = derived(tether, scenario), derived(sio, scenario)
    dx = [derived(r, scenario) for _, r in extras]
    w("| figure | Tether | Socket.IO | ratio |" + extra_head)
    w("|---|--:|--:|--:|" + extra_rule)
    dkeys = list(dt.keys()) + [k for k in ds.keys() if k not in dt]
    for d in dx:
        dkeys += [k for k in d.keys() if k not in dkeys]
    for k in dkeys:
        a, b = dt.get(k), ds.get(k)
        w(f"| {k} | {fmt(a)} | {fmt(b)} | {ratio(a, b)} |" + "".join(f" {fmt(d.get(k))} |" for d in dx))
    w("")
    w("How: RSS from `/proc/PID/status` (VmRSS; peak VmHWM), CPU = utime+stime from `/proc/PID/stat` "
      "over `getconf CLK_TCK`. 'before load' is sampled after the server printed its listening line, "
      "after the first of the generator's two warm-up rounds (JVM: after the full GC of `jcmd PID GC.class_histogram`); the CPU, RSS and "
      "accept-queue figures count from the end of the second, without a GC there (benchmarks/README.md). The measured window runs from the "
      "generator's first progress line after the ramp to "
      + ("1 s before the end of the hold (where RSS, then `jcmd GC.class_histogram` (a full GC) + `GC.heap_info` are taken, "
         "connections still open); idle CPU is the CPU in that window."
         if scenario == "hold" else
         "its first progress line after the send phase (progress lines are 1 s apart, so the window "
         "is known to about ±1 s); CPU per message divides by every reply received.")
      + " N = connections the generator reports connected. JVM native memory: committed memory from Native "
      "Memory Tracking (`jcmd PID VM.native_memory summary`, sampled with the heap; the server runs with "
      "-XX:NativeMemoryTracking=summary) in the categories that can grow with connections (threads, "
      "direct buffers as 'Other', 'Internal', monitors; not the heap, GC structures sized by the heap, "
      "JIT or class metadata); 'memory per connection' adds the heap-after-GC "
      "and native deltas and is the figure to set against Socket.IO's RSS per connection (V8 heap and "
      "native together). 'Live objects per connection' is the class histograms' delta: the objects alone, "
      "without the part-filled G1 regions the heap row also counts (benchmarks/README.md). "
      "Socket.IO has no JVM heap: heap rows are "
        "Tether only.")
    w("")
    heap_classes_section(w, scenario, [("Tether", tether)] + [(titles.get(n, n), r) for n, r in extras])
    logs = meta.get("histogram_logs") or {}
    links = [f"{name}: " + ", ".join(f"[`{f}`]({f})" for f in (logs.get(key) or "").split())
             for name, key in (("Tether", "tether"), ("Socket.IO", "socketio"),
                               ("Tether (Socket.IO endpoint)", "tether-socketio"), ("netty-socketio", "netty-socketio"))
             if logs.get(key)]
    if links:
        w("Raw histograms (HdrHistogram log format, values in µs, one tagged interval histogram per figure: "
          "`handshake_us`, `latency_us`, `delivery_us`, `completion_us`, `resume_us`; read them with "
          "`HistogramLogReader` or HdrHistogram's `HistogramLogProcessor`): " + "; ".join(links) + ".")
    else:
        w("Raw histograms: none were written for this run; the percentiles above come from the "
          "generator's in-process histograms.")
    w("")
    w("## Machine and software")
    w("")
    for k, v in meta["machine"].items():
        w(f"- {k}: {v}")
    for k, v in meta["versions"].items():
        w(f"- {k}: {v}")
    w(f"- JAVA_OPTS for the Tether server: `{meta['java_opts'] or '(none: JVM defaults)'}`")
    if "socketio_log" in meta:
        w("- Socket.IO peer: " + ("with the seed's per-message `console.log` (`SOCKETIO_LOG=1`)"
                                  if meta["socketio_log"] else "without per-message logging"))
    if "warmup" in meta:
        w(f"- Unmeasured warm-up of each server: {meta['warmup']}")
    w(f"- Tether server JVM flags (`jcmd PID VM.flags`): `{meta.get('jvm_flags', '?')}`")
    w("")
    w("## Commands")
    w("")
    w("```")
    for c in meta["commands"]:
        w(c)
    w("```")
    w("")
    w(f"Raw generator output, both servers: [`{meta['log']}`]({meta['log']}).")
    w("")
    with open(sys.argv[4], "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
