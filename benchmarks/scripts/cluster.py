#!/usr/bin/env python3
"""benchmarks/run cluster: Tether nodes in a cluster on one Redis (issue 12), Python 3 stdlib only.

  cluster.py --size short|full|100k --base benchmarks/results/cluster-TIMESTAMP
  cluster.py --report benchmarks/results/cluster-TIMESTAMP     (the report again, from its .json)

Run from the repository root by benchmarks/run after its build (benchmarks/target/classpath.txt and
examples/target/classpath.txt must exist). Starts one redis-server on a free loopback port, node
processes (the chat example, dev.tether.examples.chat.ChatServer, with TETHER_REDIS_URL), and the
load generator (dev.tether.benchmarks.load.LoadGenerator) against them, phase after phase:

  throughput   no nodes: `redis-benchmark EVALSHA` of publish.lua, 1 publish per call and 64 per
               call (the bare script loop), then BrokerPublishThroughput: publishes through a
               RedisBroker as fast as its bounded queue allows; both with history, same Redis
  warmup       broadcast over every node, not measured
  cmds-small   broadcast at 10/s over 3 nodes, few subscribers; MONITOR attributes every command
  cmds-large   the same with many subscribers: Redis work per publish must not grow
  single       broadcast at 10/s, every subscriber and the publisher on node 1
  cross        the same subscriber count on each of the 3 nodes, publisher on node 1
  cross-same-total  single's subscribers spread over the 3 nodes (the hop apart from the tripled work)
  kill         failover over 3 nodes at 10/s; node 3 gets SIGKILL mid-run, its clients resume on
               the others: time to resume, lost, duplicated
  hold100k     (--size 100k only, no other phase) an unmeasured warm-up of 6,000 handshakes, then
               100,000 connections held over 6 nodes by 6 generator processes, memory per
               connection from each node's heap after GC and NMT native memory

Writes BASE.md (the report), BASE.json (every figure), BASE.log (what the processes printed) and
BASE.PHASE.hlog (each generator run's HdrHistogram log). Every process it starts is stopped on exit
by its PID (SIGTERM, then SIGKILL after 15 s); every wait is bounded. Exit status 0 when every
phase ran, 1 otherwise.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procstat  # noqa: E402  (the server-process sampling of benchmarks/run)

# ------------------------------------------------------------------------------------------------
# Sizes. subs = subscribers per node; seconds = publishing time of a phase. Edit here.
SIZES = {
    "short": dict(nodes=3, throughput_s=5, warmup_subs=100, warmup_s=5,
                  cmds_small=20, cmds_large=200, cmds_s=10, latency_subs=300, latency_s=15,
                  kill_subs=300, kill_s=20, kill_after_s=6, connect_rate=1000),
    "full": dict(nodes=3, throughput_s=15, warmup_subs=300, warmup_s=15,
                 cmds_small=100, cmds_large=3000, cmds_s=20, latency_subs=3000, latency_s=60,
                 kill_subs=3000, kill_s=40, kill_after_s=12, connect_rate=1000),
    # 100,000 connections held 300 s: 6 nodes, 6 generator processes (16,667 each, < 19,500).
    # The first attempt opened 600/s into 6 cold nodes: handshakes timed out and Redis calls took over
    # 2 s on the overloaded cores; now a warm-up first, 360/s in all, and 30 s for a handshake.
    "100k": dict(nodes=6, connections=100_000, generators=6, hold_s=300, connect_rate_each=60,
                 warmup_connections=6000, warmup_rate=400, handshake_timeout_ms=30_000),
}
PUBLISH_RATE = 10            # publishes per second in the latency, commands and kill phases
NODE_JAVA_OPTS = "-Xms512m -Xmx2g"
NODE_JAVA_OPTS_100K = "-Xms256m -Xmx1g -XX:NativeMemoryTracking=summary"
GEN_JAVA_OPTS = "-Xmx2g"
BATCH = 64                   # publishes per script call in the batched bare loop (RedisBroker's default)
REDIS_PREFIX = "tether:"     # the nodes' key prefix (RedisBrokerConfig default)
SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "redis", "src", "main", "resources", "dev", "tether", "redis")
# ------------------------------------------------------------------------------------------------

log_file = None
started = []                 # (name, Popen) of every process we started, stopped on exit


def say(text):
    line = text if text.endswith("\n") else text + "\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    if log_file:
        log_file.write(line)
        log_file.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(proc, name, sig=signal.SIGTERM):
    """Stops one process we started, by PID: SIGTERM (or sig), then SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        say(f"cluster: {name} (PID {proc.pid}) did not stop within 15 s; SIGKILL")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


def stop_all():
    for name, proc in reversed(started):
        stop(proc, name)


def start(name, cmd, env=None, out=None):
    proc = subprocess.Popen(cmd, env=env, stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            text=True, start_new_session=False)
    started.append((name, proc))
    return proc


# --- Redis -----------------------------------------------------------------------------------------

def redis_cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def commandstats(port):
    """INFO commandstats as {command: calls}."""
    stats = {}
    for line in redis_cli(port, "INFO", "commandstats").splitlines():
        m = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
        if m:
            stats[m.group(1)] = {"calls": int(m.group(2)), "usec": int(m.group(3))}
    return stats


def script_shas():
    """SHA-1 of each broker script as RedisBroker sends it: common.lua, a newline, then the script."""
    common = open(os.path.join(SCRIPTS_DIR, "common.lua"), "rb").read()
    shas = {}
    for f in sorted(os.listdir(SCRIPTS_DIR)):
        if f.endswith(".lua") and f != "common.lua":
            body = common + b"\n" + open(os.path.join(SCRIPTS_DIR, f), "rb").read()
            shas[hashlib.sha1(body).hexdigest()] = f
    return shas


class Monitor:
    """MONITOR on a Redis, attributing each command a script runs to that script (script calls are
    atomic: their commands follow the EVALSHA line). Counts only between start() and stop()."""

    ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')

    def __init__(self, port, shas):
        self.port, self.shas = port, shas
        self.counting = False
        self.calls = {}          # script or command -> top-level calls
        self.inner = {}          # script -> {command: calls}
        self.publishes = 0       # publishes carried by publish.lua and commit.lua calls
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"MONITOR\r\n")
        self.sock.settimeout(0.5)
        self.closed = False
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        buf, current = b"", None
        while not self.closed:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b"\r\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                if not line.startswith("+") or "]" not in line or not self.counting:
                    continue
                where, rest = line[1:].split("] ", 1)
                args = self.ARG.findall(rest)
                if not args:
                    continue
                cmd = args[0].lower()
                if where.endswith(" lua"):
                    if current:
                        inner = self.inner.setdefault(current, {})
                        inner[cmd] = inner.get(cmd, 0) + 1
                    continue
                current = None
                name = cmd
                if cmd in ("evalsha", "eval") and len(args) > 1:
                    name = self.shas.get(args[1], "eval?") if cmd == "evalsha" else "eval"
                    current = name
                    if name == "publish.lua":
                        # EVALSHA sha numkeys prefix epoch maxLen ttl metaTtl (topic reliable message)...
                        self.publishes += max(0, (len(args) - 8) // 3)
                    elif name == "commit.lua":
                        # EVALSHA sha numkeys prefix epoch maxLen ttl metaTtl session clientSeq node (kind target message)...:
                        # a handler's publishes (kind P) commit with its client message (the chat example's
                        # "message" handler publishes to the room and sends its "response" in one commit).
                        self.publishes += sum(1 for i in range(11, len(args) - 2, 3) if args[i] == "P")
                self.calls[name] = self.calls.get(name, 0) + 1

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
        self.thread.join(timeout=5)


# --- nodes and generators --------------------------------------------------------------------------

def classpath(module):
    path = f"{module}/target/classpath.txt"
    return f"{module}/target/classes:" + open(path).read().strip()


class Node:
    def __init__(self, index, redis_port, java_opts, workdir):
        self.index, self.port = index, free_port()
        self.logpath = os.path.join(workdir, f"node{index}.log")
        self.out = open(self.logpath, "w")
        env = dict(os.environ, HOST="127.0.0.1", PORT=str(self.port), TETHER_INBOUND_RATE="0",
                   TETHER_CLIENT_TOPICS="room", TETHER_REDIS_URL=f"redis://127.0.0.1:{redis_port}")
        cmd = ["java", *java_opts.split(), "-cp", classpath("examples"), "dev.tether.examples.chat.ChatServer"]
        self.cmd = f"HOST=127.0.0.1 PORT={self.port} TETHER_INBOUND_RATE=0 TETHER_CLIENT_TOPICS=room TETHER_REDIS_URL=redis://127.0.0.1:" \
                   f"{redis_port} java {java_opts} -cp examples/target/classes:... dev.tether.examples.chat.ChatServer"
        self.proc = start(f"node{index}", cmd, env=env, out=self.out)
        self.killed = False

    def wait_listening(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "listening" in open(self.logpath).read():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"node{self.index} exited: {open(self.logpath).read()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"node{self.index} did not listen within {timeout} s")

    def target(self):
        return f"127.0.0.1:{self.port}"


def generator(args, name, base, gen_opts=GEN_JAVA_OPTS):
    """The generator command for one phase, writing its histograms to BASE.NAME.hlog."""
    hlog = f"{base}.{name}.hlog"
    cmd = ["java", *gen_opts.split(), "-cp", classpath("benchmarks"), "dev.tether.benchmarks.load.LoadGenerator",
           *args.split(), "--histogram-log", hlog]
    shown = f"java {gen_opts} -cp benchmarks/target/classes:... dev.tether.benchmarks.load.LoadGenerator {args} " \
            f"--histogram-log {hlog}"
    return cmd, shown


PROGRESS = re.compile(r"^\[\s*[\d.]+s\]\s+(\w+)\s")


def run_generator(cmd, shown, prefix, on_phase=None, timeout=3600):
    """Runs one generator process to its end, copying its output; on_phase(phase) is called at each
    progress line. Returns its RESULT (or None) and its exit status."""
    say(f"== {prefix}: {shown}")
    proc = start(prefix, cmd, out=subprocess.PIPE)
    result = None
    deadline = time.time() + timeout
    for line in proc.stdout:
        say(f"[{prefix}] {line.rstrip()}")
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        m = PROGRESS.match(line)
        if m and on_phase:
            on_phase(m.group(1))
        if time.time() > deadline:
            say(f"== {prefix}: over {timeout} s; stopping it")
            stop(proc, prefix)
            break
    rc = proc.wait(timeout=120)
    return result, rc


def load_snapshot(ours):
    """Load average and the busiest processes that are not ours (other builds on the machine)."""
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    ps = subprocess.run(["ps", "-eo", "pid,pcpu,etimes,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
    others = []
    for line in ps.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) == 4 and int(parts[0]) not in ours and parts[3] not in ("ps",) and float(parts[1]) >= 5:
            others.append(f"{parts[3]} {parts[1]} %")
    return {"loadavg": load, "busy_other_processes": others[:6]}


# --- phases ------------------------------------------------------------------------------------------

def redis_benchmark(port, args, requests, clients, pipeline):
    cmd = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline), "-n", str(requests),
           "--csv", *args]
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    elapsed = time.time() - t0
    rps = None
    for line in out.stdout.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) >= 2 and cells[0].upper().startswith("EVALSHA"):
            rps = float(cells[1])
    if rps is None:
        raise RuntimeError(f"redis-benchmark printed no rate: {out.stdout[-500:]} {out.stderr[-500:]}")
    return rps, elapsed


def phase_throughput(redis_port, size, base, results):
    shas = {v[:-4]: k for k, v in script_shas().items()}
    body = open(os.path.join(SCRIPTS_DIR, "common.lua"), "rb").read() + b"\n" + \
        open(os.path.join(SCRIPTS_DIR, "publish.lua"), "rb").read()
    loaded = subprocess.run(["redis-cli", "-p", str(redis_port), "-x", "SCRIPT", "LOAD"], input=body,
                            capture_output=True, timeout=60).stdout.decode().strip()
    if loaded != shas["publish"]:
        raise RuntimeError(f"SCRIPT LOAD answered {loaded}, expected {shas['publish']}")
    secs = size["throughput_s"]
    # The broker's run first: it reports the size of the message it stores, which the bare loop copies.
    cmd = ["java", *GEN_JAVA_OPTS.split(), "-cp", classpath("benchmarks"),
           "dev.tether.benchmarks.cluster.BrokerPublishThroughput", "--redis", f"redis://127.0.0.1:{redis_port}",
           "--seconds", str(secs), "--warmup-seconds", "3"]
    redis_cli(redis_port, "CONFIG", "RESETSTAT")
    broker, rc = run_generator(cmd, " ".join(cmd[:2]) + " -cp benchmarks/target/classes:... " + " ".join(cmd[4:]),
                               "throughput-broker", timeout=secs + 120)
    stats = commandstats(redis_port)
    if not broker or rc != 0:
        raise RuntimeError("BrokerPublishThroughput failed")
    calls = stats.get("evalsha", {}).get("calls", 0) + stats.get("eval", {}).get("calls", 0)
    appended = stats.get("xadd", {}).get("calls", 0)
    broker["scriptCallsIncludingWarmup"] = calls
    broker["xaddIncludingWarmup"] = appended
    broker["publishesPerScriptCall"] = appended / calls if calls else None
    message = "m" * broker["messageBytes"]
    results["throughput"] = {"broker": broker}
    # The bare loop: the same script and message size, on the same Redis, a key prefix of its own.
    single_args = ["EVALSHA", shas["publish"], "0", "bare1:", "e1", "10000", "600000", "3600000", "bench", "1",
                   message]
    batch_args = ["EVALSHA", shas["publish"], "0", "bare64:", "e1", "10000", "600000", "3600000"]
    for _ in range(BATCH):
        batch_args += ["bench", "1", message]
    shown = lambda a, n, c, p: (f"redis-benchmark -p {redis_port} -c {c} -P {p} -n {n} --csv " +  # noqa: E731
                                " ".join(a[:9]) + (f" ... ({BATCH} x topic, 1, {len(message)}-byte message)"
                                                   if len(a) > 12 else f" 1 <{len(message)}-byte message>"))
    bare = {}
    for name, args, per_call, clients, pipeline in (("single", single_args, 1, 50, 16),
                                                    ("batched", batch_args, BATCH, 8, 2)):
        warm = max(1000, int(2 * 60_000 / per_call))
        redis_benchmark(redis_port, args, warm, clients, pipeline)  # warm-up: the stream reaches its cap
        n = int(secs * 70_000 / per_call)
        say(f"== throughput-bare-{name}: {shown(args, n, clients, pipeline)}")
        rps, elapsed = redis_benchmark(redis_port, args, n, clients, pipeline)
        bare[name] = {"callsPerSecond": rps, "publishesPerCall": per_call, "publishesPerSecond": rps * per_call,
                      "calls": n, "seconds": elapsed, "command": shown(args, n, clients, pipeline)}
        say(f"== throughput-bare-{name}: {rps:,.0f} calls/s = {rps * per_call:,.0f} publishes/s")
    results["throughput"]["bare"] = bare
    best = max(b["publishesPerSecond"] for b in bare.values())
    results["throughput"]["ratio"] = broker["publishesPerSecond"] / best
    results["throughput"]["ratioToSingle"] = broker["publishesPerSecond"] / bare["single"]["publishesPerSecond"]


def broadcast_phase(name, targets, subs_total, seconds, size, base, results, redis_port=None, shas=None,
                    scenario="broadcast", kill=None, nodes=()):
    """One generator run; with redis_port, `INFO commandstats` is taken over the publishing time, and
    with shas too, MONITOR attributes every command in it to its script."""
    ips = max(1, min(8, subs_total // 1500))
    args = (f"{scenario} --protocol tether --targets {','.join(targets)} --connections {subs_total} "
            f"--connect-rate {size['connect_rate']} --publish-rate {PUBLISH_RATE} --seconds {seconds} "
            f"--source-ips {ips}")
    cmd, shown = generator(args, name, base)
    state = {"monitor": None, "run_started": None, "stats": None, "killed_at": None, "cpu": None}
    lock = threading.Lock()

    def node_cpu():
        return {n.index: procstat.cpu_seconds(n.proc.pid) for n in nodes if not n.killed}

    def end_window():
        # Inside the publishing time: the clients' closes at the end must not count.
        with lock:
            if nodes and state["cpu"] and "end" not in state["cpu"]:
                state["cpu"]["end"], state["cpu"]["end_t"] = node_cpu(), time.time()
            if redis_port and state["run_started"] and state["stats"] is None:
                if state["monitor"]:
                    state["monitor"].counting = False
                state["stats"] = commandstats(redis_port)
    ours = {p.pid for _, p in started}
    results.setdefault("machine_load", {})[name] = load_snapshot(ours)

    def on_phase(phase):
        if phase in ("ramp", "subscribe"):
            return
        if state["run_started"] is None and phase in ("broadcast", "failover"):
            state["run_started"] = time.time()
            if nodes:
                state["cpu"] = {"start": node_cpu(), "start_t": time.time()}
                if not redis_port:
                    threading.Timer(max(1.0, seconds - 1.5), end_window).start()
            if redis_port:
                redis_cli(redis_port, "CONFIG", "RESETSTAT")
                state["monitor"] = Monitor(redis_port, shas) if shas else None
                if state["monitor"]:
                    state["monitor"].counting = True
                # The progress line comes up to 1 s after publishing started; stop 1.5 s before its end.
                threading.Timer(max(1.0, seconds - 1.5), end_window).start()
        if kill and state["killed_at"] is None and state["run_started"] \
                and time.time() - state["run_started"] >= kill["after_s"]:
            node = kill["node"]
            os.kill(node.proc.pid, signal.SIGKILL)
            node.killed = True
            state["killed_at"] = time.time()
            say(f"== {name}: SIGKILL node{node.index} (PID {node.proc.pid}) "
                f"{state['killed_at'] - state['run_started']:.1f} s after publishing started")
        if phase in ("grace", "closed"):
            end_window()

    result, rc = run_generator(cmd, shown, name, on_phase, timeout=seconds + 600)
    phase = {"command": shown, "exit": rc, "result": result, "subscribers": subs_total, "targets": len(targets)}
    if redis_port or nodes:
        end_window()
    if redis_port:
        phase["commandstats"] = state["stats"]
    cpu = state["cpu"]
    if cpu and "end" in cpu:
        window = cpu["end_t"] - cpu["start_t"]
        used = sum(cpu["end"][i] - cpu["start"][i] for i in cpu["end"])
        deliveries = subs_total * PUBLISH_RATE * window
        phase["node_cpu"] = {"window_s": window, "cpu_s": used, "cores": used / window if window else None,
                             "us_per_delivery": used * 1e6 / deliveries if deliveries else None}
    if state["monitor"]:
        m = state["monitor"]
        m.close()
        phase["monitor"] = {"calls": m.calls, "inner": m.inner, "publishes": m.publishes}
    if state["killed_at"]:
        phase["killed_after_s"] = state["killed_at"] - state["run_started"]
    results["phases"][name] = phase
    if rc != 0 or not result:
        raise RuntimeError(f"phase {name}: generator exit status {rc}")
    return phase


def phase_hold100k(nodes, size, base, results):
    n, g = size["connections"], size["generators"]
    targets = ",".join(node.target() for node in nodes)
    pids = {node.index: node.proc.pid for node in nodes}
    # Warm-up (not measured): the handshake path of every node compiled before the ramp.
    cmd, shown = generator(f"hold --protocol tether --targets {targets} --connections {size['warmup_connections']} "
                           f"--rate {size['warmup_rate']} --hold-seconds 5 --source-ips 4 --source-ip-offset 200",
                           "hold100k-warmup", base, gen_opts="-Xmx1g")
    run_generator(cmd, shown, "hold100k-warmup", timeout=600)
    results.setdefault("warmup_commands", []).append(shown + "    # not measured")
    time.sleep(5)
    results.setdefault("machine_load", {})["hold100k start"] = load_snapshot({p.pid for _, p in started})
    say("== hold100k: sampling every node before load (GC, heap, NMT)")
    before = {i: procstat.sample(pid, True) for i, pid in pids.items()}
    procs, shown_all = [], []
    per = [n // g + (1 if i < n % g else 0) for i in range(g)]
    outputs = {}
    for i in range(g):
        args = (f"hold --protocol tether --targets {targets} --connections {per[i]} "
                f"--rate {size['connect_rate_each']} --hold-seconds {size['hold_s']} "
                f"--handshake-timeout-ms {size['handshake_timeout_ms']} --source-ips 8 --source-ip-offset {i * 8}")
        cmd, shown = generator(args, f"hold100k.gen{i + 1}", base, gen_opts="-Xmx1g")
        shown_all.append(shown)
        say(f"== hold100k gen{i + 1}: {shown}")
        p = start(f"gen{i + 1}", cmd, out=subprocess.PIPE)
        procs.append(p)
        outputs[i] = {"result": None, "holding_since": None}

    def reader(i, p):
        for line in p.stdout:
            say(f"[gen{i + 1}] {line.rstrip()}")
            if line.startswith("RESULT "):
                outputs[i]["result"] = json.loads(line[len("RESULT "):])
            m = PROGRESS.match(line)
            if m and m.group(1) == "hold" and outputs[i]["holding_since"] is None:
                outputs[i]["holding_since"] = time.time()

    threads = [threading.Thread(target=reader, args=(i, p), daemon=True) for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    # Sample once every generator holds, 60 s before the earliest of them closes.
    deadline = time.time() + 1800
    while time.time() < deadline and any(o["holding_since"] is None for o in outputs.values()) \
            and all(p.poll() is None for p in procs):
        time.sleep(1)
    all_held_at = time.time()
    first = min((o["holding_since"] for o in outputs.values() if o["holding_since"]), default=all_held_at)
    sample_at = first + size["hold_s"] - 60
    while time.time() < sample_at and all(p.poll() is None for p in procs):
        time.sleep(1)
    results["machine_load"]["hold100k held"] = load_snapshot({p.pid for _, p in started})
    say("== hold100k: sampling every node while held (GC, heap, NMT)")
    held = {i: procstat.sample(pid, True) for i, pid in pids.items()}
    redis_info = redis_cli(results["redis_port"], "INFO", "memory")
    redis_mem = int(re.search(r"used_memory:(\d+)", redis_info).group(1))
    rcs = []
    for p in procs:
        rcs.append(p.wait(timeout=size["hold_s"] + 1800))
    for t in threads:
        t.join(timeout=30)
    gens = [outputs[i]["result"] for i in range(g)]
    results["phases"]["hold100k"] = {"commands": shown_all, "exits": rcs, "results": gens,
                                     "ramp_seconds": all_held_at - min(o["holding_since"] or all_held_at
                                                                        for o in outputs.values()),
                                     "nodes_before": before, "nodes_held": held,
                                     "redis_used_memory_bytes": redis_mem}
    if any(rc != 0 for rc in rcs) or any(r is None for r in gens):
        raise RuntimeError(f"hold100k: generator exit statuses {rcs}")


# --- report --------------------------------------------------------------------------------------------

def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


# The scripts that carry publishes: publish.lua (Tether.publish outside a handler) and commit.lua (a
# client message's handler publishes, committed with the message; it also carries the handler's
# direct sends, so its commands per publish include the chat example's "response").
PUBLISHING_SCRIPTS = ("publish.lua", "commit.lua")


def per_publish(phase):
    """Redis work per publish in a counted phase, from MONITOR: publish-script calls (round trips)
    and the commands they ran, and everything else (checkpoints, heartbeats) apart."""
    m = phase["monitor"]
    pubs = m["publishes"] or 1
    inner = {}
    for script in PUBLISHING_SCRIPTS:
        for k, v in m["inner"].get(script, {}).items():
            inner[k] = inner.get(k, 0) + v
    others = {k: v for k, v in m["calls"].items() if k not in PUBLISHING_SCRIPTS}
    return {"publishes": m["publishes"], "round_trips": sum(m["calls"].get(s, 0) for s in PUBLISHING_SCRIPTS) / pubs,
            "commands": sum(inner.values()) / pubs,
            "by_command": {k: v / pubs for k, v in sorted(inner.items())},
            "other_calls": others,
            "other_commands": {k: sum(v.values()) for k, v in m["inner"].items() if k not in PUBLISHING_SCRIPTS}}


# Scripts the nodes' timers run, whatever is published: each node's heartbeat, and the refresh of
# the TTLs of its sessions' records (touch.lua, one PEXPIRE per session every retention / 3).
TIMER_SCRIPTS = ("heartbeat.lua", "touch.lua")


def total_per_publish(phase):
    """Everything `INFO commandstats` counted in a phase's window, per publish (publishes from MONITOR),
    and the part of it the nodes' timers ran (from MONITOR), which grows with time, not publishes."""
    st, m = phase["commandstats"], phase["monitor"]
    pubs = m["publishes"] or 1
    calls = sum(st.get(k, {}).get("calls", 0) for k in ("evalsha", "eval"))
    commands = sum(v["calls"] for k, v in st.items()
                   if k not in ("evalsha", "eval", "config|resetstat", "monitor", "info"))
    timer_calls = sum(m["calls"].get(k, 0) for k in TIMER_SCRIPTS)
    timer_commands = sum(sum(m["inner"].get(k, {}).values()) for k in TIMER_SCRIPTS)
    return {"calls": calls / pubs, "commands": commands / pubs,
            "timer_calls": timer_calls / pubs, "timer_commands": timer_commands / pubs,
            "checkpoint_calls": m["calls"].get("checkpoint.lua", 0) / pubs}


def report(results, path):
    out = []
    w = out.append
    size = results["size"]
    w(f"# Cluster benchmark ({size}), {results['timestamp']}")
    w("")
    w(f"`benchmarks/run cluster --size {size}`: Tether nodes (the chat example, `TETHER_REDIS_URL`) in "
      "one cluster on one Redis, the load generator in separate processes, everything on loopback of one "
      "machine. Raw output: [" + os.path.basename(results["log"]) + "](" + os.path.basename(results["log"]) +
      "); every figure: " + os.path.basename(path)[:-3] + ".json; histograms: `*.hlog` beside it.")
    w("")
    mc = results["machine"]
    w(f"Code: commit {mc.get('commit', 'not recorded (benchmarks/RESULTS.md names it)')}. Machine: `nproc` {mc['nproc']}, {mc['model']}, memory {mc['memory']}, "
      f"kernel {mc['kernel']}, "
      f"open files {mc['open_files']}; {mc['java']}; {mc['redis']}. Node JVMs: `{results['node_java_opts']}`; "
      f"generator JVMs: `{results['gen_java_opts']}`.")
    w("")
    w("Load from other processes during the phases (other sessions' builds and tests share the 2 cores; "
      "ours are excluded):")
    w("")
    for name, snap in results.get("machine_load", {}).items():
        w(f"- {name}: load average {snap['loadavg']}; busy others: {', '.join(snap['busy_other_processes']) or 'none'}")
    w("")
    verdicts = []
    ph = results["phases"]
    if "throughput" in results:
        t = results["throughput"]
        b, bare = t["broker"], t["bare"]
        met = t["ratio"] >= 0.70
        verdicts.append(("publish throughput with history ≥ 70 % of the bare script loop",
                         f"{fmt(b['publishesPerSecond'], 0)}/s vs {fmt(bare['batched']['publishesPerSecond'], 0)}/s "
                         f"batched, {fmt(bare['single']['publishesPerSecond'], 0)}/s single: "
                         f"{100 * t['ratio']:.0f} % of the best", met))
    if "cmds-small" in ph and "cmds-large" in ph:
        a, c = per_publish(ph["cmds-small"]), per_publish(ph["cmds-large"])
        # Per script call: GET of the epoch, and in commit.lua the session's HMGET and the HSET of its
        # client seq; every other command runs once or more per publish. Calls that carry several
        # publishes (they queue) can only lower the per-call share.
        per_call = ("get", "hmget", "hset")
        same = all(abs(a["by_command"].get(k, 0) - c["by_command"].get(k, 0)) <= 0.01
                   for k in set(a["by_command"]) | set(c["by_command"]) if k not in per_call)
        met = same and c["commands"] <= a["commands"] + 0.01 and max(a["round_trips"], c["round_trips"]) <= 2
        measured = (f"{a['commands']:.2f} / {c['commands']:.2f} commands and {a['round_trips']:.2f} / "
                    f"{c['round_trips']:.2f} round trips per publish at {fmt(ph['cmds-small']['subscribers'])} / "
                    f"{fmt(ph['cmds-large']['subscribers'])} subscribers")
        if not a["publishes"] or not c["publishes"]:
            met, measured = False, ("no publish attributed: this run's cluster.py counted publish.lua only, "
                                    "and the chat handler's publishes went through commit.lua")
        verdicts.append(("Redis commands per publish constant in the subscriber count; ≤ 2 round trips: the "
                         "publish itself (publish.lua, or the commit.lua of the handler that publishes, MONITOR)",
                         measured, met))
        ta, tc = total_per_publish(ph["cmds-small"]), total_per_publish(ph["cmds-large"])
        work_a = ta["commands"] - ta["timer_commands"]
        work_c = tc["commands"] - tc["timer_commands"]
        # Constant: no more work per publish with 30 times the subscribers (batching may lower it).
        constant = work_c <= 1.05 * work_a and tc["checkpoint_calls"] <= ta["checkpoint_calls"] + 0.01
        verdicts.append(("the same over everything Redis ran while publishing (`INFO commandstats`)",
                         f"{ta['calls']:.1f} / {tc['calls']:.1f} script calls and {ta['commands']:.1f} / "
                         f"{tc['commands']:.1f} commands per publish; without the nodes' timers (heartbeat.lua, and "
                         f"touch.lua: one PEXPIRE per session every retention / 3, whatever is published: "
                         f"{ta['timer_commands']:.1f} / {tc['timer_commands']:.1f} of those commands) "
                         f"**{work_a:.1f} / {work_c:.1f}**; checkpoint.lua calls per publish "
                         f"{ta['checkpoint_calls']:.2f} / {tc['checkpoint_calls']:.2f} (version 3 clients hold their "
                         "position: no checkpoints)", constant))
    if "single" in ph and "cross" in ph:
        s, x = ph["single"]["result"], ph["cross"]["result"]
        ratio = x["latencyP99Ms"] / s["latencyP99Ms"] if s["latencyP99Ms"] else None
        verdicts.append(("cross-node delivery p99 ≤ 1.5 × single-node p99",
                         f"{fmt(x['latencyP99Ms'], 2)} ms vs {fmt(s['latencyP99Ms'], 2)} ms: ×{ratio:.2f}",
                         ratio is not None and ratio <= 1.5))
    if "kill" in ph:
        k = ph["kill"]["result"]
        ok = (k["cut"] > 0 and k["resumed"] == k["cut"] and k["resumedFalse"] == 0 and k["notResumed"] == 0
              and 0 <= k["allResumedAfterFirstLossMs"] <= 10_000 and k["lost"] == 0 and k["duplicates"] == 0)
        verdicts.append(("node kill: all its clients resumed elsewhere within 10 s, 0 lost, 0 duplicated",
                         f"{fmt(k['resumed'])} of {fmt(k['cut'])} resumed, the last "
                         f"{fmt(k['allResumedAfterFirstLossMs'] / 1000, 2)} s after the first loss; "
                         f"{fmt(k['lost'])} lost, {fmt(k['duplicates'])} duplicated", ok))
    if "hold100k" in ph:
        h = ph["hold100k"]
        conn = sum(r["connected"] for r in h["results"])
        drops = sum(r["unexpectedDisconnects"] + r["failed"] for r in h["results"])
        mem = memory_per_connection(h, conn)
        verdicts.append(("100,000 connections held 5 min over 6 nodes, 0 unexpected drops",
                         f"{fmt(conn)} connected, {fmt(drops)} failed or dropped; "
                         f"{mem['per_connection_kb']:.2f} KB per connection (heap after GC + native)",
                         conn >= 100_000 and drops == 0))
    w("## Against the acceptance points")
    w("")
    w("| point | measured | met? |")
    w("|---|---|---|")
    for point, measured, met in verdicts:
        w(f"| {point} | {measured} | {'**yes**' if met else 'no'} |")
    w("")
    if "throughput" in results:
        t = results["throughput"]
        b, bare = t["broker"], t["bare"]
        w("## Publish throughput through one Redis, with history")
        w("")
        w(f"Every publish appends to the topic's stream (capped at {fmt(b['topicMaxLength'])} entries, so each also "
          "trims one), sets the topic's meta key and looks up the nodes interested; nothing subscribes to the "
          f"topic, so no `PUBLISH`. Messages of {b['messageBytes']} bytes, as the hub stores a small publish.")
        w("")
        w("| driver | publishes/s | script calls/s | publishes per call |")
        w("|---|--:|--:|--:|")
        for name in ("single", "batched"):
            x = bare[name]
            w(f"| bare loop, `redis-benchmark EVALSHA` publish.lua, {x['publishesPerCall']} per call | "
              f"{fmt(x['publishesPerSecond'], 0)} | {fmt(x['callsPerSecond'], 0)} | {x['publishesPerCall']} |")
        ppc = b.get("publishesPerScriptCall")
        w(f"| `RedisBroker.publish` from one thread, ≤ {fmt(b['maxPendingCommands'])} outstanding "
          f"(BrokerPublishThroughput) | {fmt(b['publishesPerSecond'], 0)} | "
          f"{fmt(b['publishesPerSecond'] / ppc, 0) if ppc else '—'} | {fmt(ppc, 1)} |")
        w("")
        w(f"RedisBroker reaches **{100 * t['ratio']:.0f} %** of the best bare loop ({100 * t['ratioToSingle']:.0f} % of "
          f"the single-publish loop). Its publish latency under this saturation: p50 {fmt(b['latencyP50Ms'], 1)} ms, "
          f"p99 {fmt(b['latencyP99Ms'], 1)} ms (the queue it keeps full is {fmt(b['maxPendingCommands'])} deep). "
          "Publishes per call counts the whole run, warm-up included (`INFO commandstats`: XADD calls / EVALSHA calls).")
        w("")
        for name in ("single", "batched"):
            w(f"- bare {name}: `{bare[name]['command']}`")
        w("")
    if "cmds-small" in ph:
        w("## Redis commands per publish")
        w("")
        w(f"Broadcast at {PUBLISH_RATE} publishes/s over 3 nodes; `CONFIG RESETSTAT` when publishing starts, "
          "`INFO commandstats` when it ends, and `MONITOR` in between attributes each command a script runs to "
          "its script (a script call is atomic: its commands follow its `EVALSHA` in the feed).")
        w("")
        w("| | " + " | ".join(f"{fmt(ph[n]['subscribers'])} subscribers" for n in ("cmds-small", "cmds-large")) + " |")
        w("|---|--:|--:|")
        a, c = per_publish(ph["cmds-small"]), per_publish(ph["cmds-large"])
        w(f"| publishes seen | {fmt(a['publishes'])} | {fmt(c['publishes'])} |")
        w(f"| round trips (publish.lua and commit.lua calls) per publish | {a['round_trips']:.3f} | {c['round_trips']:.3f} |")
        w(f"| Redis commands per publish inside them (commit.lua: with the handler's direct reply and client seq) | {a['commands']:.2f} | {c['commands']:.2f} |")
        for cmd in sorted(set(a["by_command"]) | set(c["by_command"])):
            w(f"| — `{cmd.upper()}` | {a['by_command'].get(cmd, 0):.2f} | {c['by_command'].get(cmd, 0):.2f} |")
        w("")
        w("`GET` reads the epoch once per script call, and a handler's commit.lua reads its session (`HMGET`) and "
          "records its client seq (one `HSET`) once per call; every other command runs once per publish (`PUBLISH` "
          "once per node with a subscriber, here 3), whatever the number of subscribers. When publishes queue (the "
          "larger phase, or the throughput phase) several share a call, and round trips fall below 1 per publish.")
        w("")
        lat = [n for n in ("single", "cross") if ph.get(n, {}).get("commandstats")]
        if lat:
            w("Without MONITOR, from `INFO commandstats` over the publishing time of the latency phases "
              "(publishes = `XADD` calls: only publish.lua and commit.lua append to a topic stream here):")
            w("")
            w("| per publish | " + " | ".join(f"{n}, {fmt(ph[n]['subscribers'])} subscribers" for n in lat) + " |")
            w("|---|" + "--:|" * len(lat))
            for cmd in ("xadd", "xlen", "incr", "hkeys", "publish", "evalsha"):
                cells = []
                for n in lat:
                    st = ph[n]["commandstats"]
                    pubs = st.get("xadd", {}).get("calls", 0) or 1
                    cells.append(f"{st.get(cmd, {}).get('calls', 0) / pubs:.2f}")
                w(f"| `{cmd.upper()}` | " + " | ".join(cells) + " |")
            w("")
            w("`PUBLISH` also counts the nodes' heartbeat pings; `EVALSHA` every script call: publishes, the nodes' "
              "timers and, for clients of protocol versions 1 and 2, their checkpoints (one per acknowledgement, "
              "every 32 messages per client; the generator speaks version 3 and holds its position instead).")
            w("")
        w("Other script calls in the same windows (not part of a publish; they come from the clients' acks "
          "and the nodes' timers):")
        w("")
        w("| script | " + " | ".join(f"{fmt(ph[n]['subscribers'])} subscribers: calls (commands)"
                                      for n in ("cmds-small", "cmds-large")) + " |")
        w("|---|--:|--:|")
        for s in sorted(set(a["other_calls"]) | set(c["other_calls"])):
            w(f"| {s} | {fmt(a['other_calls'].get(s, 0))} ({fmt(a['other_commands'].get(s, 0))}) | "
              f"{fmt(c['other_calls'].get(s, 0))} ({fmt(c['other_commands'].get(s, 0))}) |")
        w("")
        w("`checkpoint.lua` records the cursors of sessions whose clients speak protocol version 1 or 2, after "
          "their acknowledgements (at most one per session per second, a node's gathered into one call); a "
          "version 3 client, such as the generator since protocol version 3, holds its position (PROTOCOL.md "
          "§13) and costs no checkpoint. `heartbeat` and `touch` run on each node's timer: `touch` refreshes the "
          "TTL of every session record of the node every retention / 3, whether anything is published or not.")
        w("")
        w("`INFO commandstats` of each window (calls):")
        w("")
        names = sorted(set(ph["cmds-small"]["commandstats"]) | set(ph["cmds-large"]["commandstats"]))
        w("| command | " + " | ".join(f"{fmt(ph[n]['subscribers'])} subscribers" for n in ("cmds-small", "cmds-large")) + " |")
        w("|---|--:|--:|")
        for cmd in names:
            w(f"| {cmd} | " + " | ".join(fmt(ph[n]["commandstats"].get(cmd, {}).get("calls", 0))
                                         for n in ("cmds-small", "cmds-large")) + " |")
        w("")
    if "single" in ph:
        w("## Delivery latency: one node vs three")
        w("")
        w(f"{PUBLISH_RATE} publishes/s for the same time; the publisher is on node 1 in both. Latency is from each "
          "publish's intended time to each delivery (HdrHistogram, µs resolution).")
        w("")
        w("| | subscribers | delivered / expected | lost / dup | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | "
          "nodes' CPU (cores) | node CPU per delivery (µs) |")
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        per = ph["single"]["subscribers"]
        for n, label in (("single", "1 node"), ("cross", f"3 nodes × {fmt(per)}"),
                         ("cross-same-total", f"3 nodes × {fmt(per // 3)} (the single node's total)")):
            if n not in ph:
                continue
            r = ph[n]["result"]
            w(f"| {label} | {fmt(r['subscribers'])} | {fmt(r['delivered'])} / {fmt(r['expectedDeliveries'])} | "
              f"{fmt(r['lost'])} / {fmt(r['duplicates'])} | {fmt(r['latencyP50Ms'], 2)} | {fmt(r['latencyP90Ms'], 2)} | "
              f"{fmt(r['latencyP99Ms'], 2)} | {fmt(r['latencyP999Ms'], 2)} | {fmt(r['latencyMaxMs'], 2)} | "
              f"{fmt(ph[n].get('node_cpu', {}).get('cores'), 2)} | {fmt(ph[n].get('node_cpu', {}).get('us_per_delivery'), 1)} |")
        w("")
        w("Three nodes × the same subscribers deliver three times the messages on the same two cores (and the "
          "generator reads three times as many): that comparison is of one machine doing three times the work, "
          "not of the hop between nodes alone. The last row spreads the single node's subscribers over the three "
          "nodes, the same deliveries per second as the single node: the cost of the hop and of three JVMs. "
          "The nodes' CPU is user + system time of the node processes over the publishing time (/proc/PID/stat), "
          "per delivery = that / (subscribers × publishes in the window); the generator and Redis use the "
          "rest of the machine's 2 cores.")
        w("")
    if "kill" in ph:
        k = ph["kill"]["result"]
        w("## Node kill")
        w("")
        w(f"Failover broadcast over 3 nodes at {PUBLISH_RATE} publishes/s; node 3 got SIGKILL "
          f"{ph['kill'].get('killed_after_s', 0):.1f} s after publishing started. Its clients reconnect with full "
          "jitter (base 100 ms, cap 5 s) to the next node of their list and resume their session there.")
        w("")
        w("| figure | value |")
        w("|---|--:|")
        for key, label in (("subscribers", "subscribers"), ("cut", "lost their node"), ("resumed", "resumed"),
                           ("resumedFalse", "resumed:false (fresh session)"), ("notResumed", "not resumed at the end"),
                           ("reconnectAttempts", "reconnect attempts"), ("reconnectFailures", "of them failed"),
                           ("reconnectFailureReasons", "why they failed"),
                           ("resume50Ms", "resume p50 (ms, from each client's loss)"), ("resume99Ms", "resume p99 (ms)"),
                           ("resume100Ms", "resume 100 % (ms)"),
                           ("allResumedAfterFirstLossMs", "first loss to last resume (ms)"),
                           ("published", "published"), ("expectedDeliveries", "expected deliveries"),
                           ("delivered", "delivered"), ("lost", "lost"), ("seqHoles", "of them seq holes"),
                           ("gapLost", "of them in gap frames"), ("duplicates", "duplicated"),
                           ("latencyP99Ms", "delivery p99 over the run (ms)"),
                           ("latencyMaxMs", "delivery max (ms)")):
            w(f"| {label} | {fmt(k.get(key), 2) if isinstance(k.get(key), float) else fmt(k.get(key))} |")
        w("")
    if "hold100k" in ph:
        h = ph["hold100k"]
        conn = sum(r["connected"] for r in h["results"])
        mem = memory_per_connection(h, conn)
        w("## 100,000 connections over 6 nodes")
        w("")
        ramp = max(r["connected"] / r["connectRateAchieved"] for r in h["results"] if r["connectRateAchieved"])
        w(f"The generators ramped at the same time, {fmt(sum(r['connectRateTarget'] for r in h['results']))} "
          f"connections/s in all: {ramp:.0f} s to the last welcome (the last generator began holding "
          f"{h['ramp_seconds']:.0f} s after the first). Then each held its connections "
          f"{h['results'][0]['seconds']} s, answering the nodes' heartbeats, and closed them with 1000. "
          "'Closed cleanly' counts the close handshakes that completed within the generator's 5 s close wait; "
          "the nodes close thousands at once slowly (RESULTS.md, 'Closing many connections at once'), the rest "
          "were closed by the generator: not drops.")
        w("")
        w("| generator | connected | rate achieved /s | failed | unexpected disconnects | closed cleanly | "
          "handshake p50 / p99 ms | why |")
        w("|---|--:|--:|--:|--:|--:|--:|---|")
        for i, r in enumerate(h["results"]):
            w(f"| {i + 1} | {fmt(r['connected'])} | {fmt(r['connectRateAchieved'], 1)} | {fmt(r['failed'])} | "
              f"{fmt(r['unexpectedDisconnects'])} | {fmt(r['closedCleanly'])} | {fmt(r['handshakeP50Ms'], 1)} / "
              f"{fmt(r['handshakeP99Ms'], 1)} | {r.get('problems', '—')} |")
        w("")
        w("| node | heap after GC before / held (MB) | NMT native (per-connection categories) before / held (MB) | "
          "RSS held (MB) |")
        w("|---|--:|--:|--:|")
        for i in sorted(h["nodes_before"], key=int):
            b, d = h["nodes_before"][i], h["nodes_held"][i]
            w(f"| {i} | {fmt((b.get('heap_used_kb') or 0) / 1024)} / {fmt((d.get('heap_used_kb') or 0) / 1024)} | "
              f"{fmt((b.get('native_kb') or 0) / 1024)} / {fmt((d.get('native_kb') or 0) / 1024)} | "
              f"{fmt((d.get('rss_kb') or 0) / 1024)} |")
        w("")
        w(f"Memory per connection: heap {mem['heap_kb']:.2f} KB + native {mem['native_kb']:.2f} KB = "
          f"**{mem['per_connection_kb']:.2f} KB** ((held − before) summed over the nodes / {fmt(conn)}); RSS "
          f"{mem['rss_kb']:.2f} KB per connection. Redis `used_memory` while held: "
          f"{h['redis_used_memory_bytes'] / 1048576:.1f} MB ({h['redis_used_memory_bytes'] / max(conn, 1):.0f} B "
          "per session: record, subscriptions, interest).")
        w("")
    w("## Commands")
    w("")
    w("```")
    for c in results["commands"]:
        w(c)
    w("```")
    w("")
    with open(path, "w") as f:
        f.write("\n".join(out))
    return all(met for _, _, met in verdicts)


def memory_per_connection(h, conn):
    heap = native = rss = 0
    for i in h["nodes_before"]:
        b, d = h["nodes_before"][i], h["nodes_held"][i]
        heap += (d.get("heap_used_kb") or 0) - (b.get("heap_used_kb") or 0)
        native += (d.get("native_kb") or 0) - (b.get("native_kb") or 0)
        rss += (d.get("rss_kb") or 0) - (b.get("rss_kb") or 0)
    n = max(conn, 1)
    return {"heap_kb": heap / n, "native_kb": native / n, "per_connection_kb": (heap + native) / n, "rss_kb": rss / n}


# --- main --------------------------------------------------------------------------------------------------

def machine():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip() or \
                subprocess.run(cmd, capture_output=True, text=True, timeout=30).stderr.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]
    return {"nproc": os.cpu_count(), "model": model, "memory": f"{int(mem) / 1048576:.1f} GiB",
            "free_g": first(["free", "-g"]), "kernel": os.uname().release,
            "open_files": first(["bash", "-c", "ulimit -n"]),
            "java": first(["java", "-version"]).splitlines()[0],
            "commit": first(["git", "describe", "--always", "--dirty"]),
            "redis": first(["redis-server", "--version"])}


def main():
    global log_file
    argv = sys.argv[1:]
    opts = dict(zip(argv[::2], argv[1::2]))
    if "--report" in opts:
        # Writes BASE.md again from BASE.json (after a change to the report's wording; same figures).
        with open(opts["--report"] + ".json") as f:
            results = json.load(f)
        met = report(results, opts["--report"] + ".md")
        print(f"wrote {opts['--report']}.md; every acceptance point met: {met}")
        return
    size_name, base = opts.get("--size", "short"), opts.get("--base")
    if size_name not in SIZES or not base:
        sys.exit(__doc__)
    size = SIZES[size_name]
    workdir = base + ".work"
    os.makedirs(workdir, exist_ok=True)
    log_file = open(base + ".log", "w")
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))
    results = {"size": size_name, "timestamp": os.path.basename(base).split("-", 1)[1], "log": base + ".log",
               "machine": machine(), "phases": {}, "commands": [f"benchmarks/run cluster --size {size_name}"],
               "node_java_opts": NODE_JAVA_OPTS_100K if size_name == "100k" else NODE_JAVA_OPTS,
               "gen_java_opts": "-Xmx1g" if size_name == "100k" else GEN_JAVA_OPTS}
    ok = False
    try:
        say(f"== cluster ({size_name}) on {results['machine']['nproc']} cores; free -g:\n{results['machine']['free_g']}")
        redis_port = free_port()
        results["redis_port"] = redis_port
        redis_cmd = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--loglevel", "warning"]
        redis = start("redis-server", redis_cmd, out=open(os.path.join(workdir, "redis.log"), "w"))
        results["commands"].append(" ".join(redis_cmd[:6] + ["''"] + redis_cmd[7:]) + f" &    # PID {redis.pid}")
        for _ in range(100):
            try:
                if redis_cli(redis_port, "PING").strip() == "PONG":
                    break
            except RuntimeError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("redis-server did not answer PING within 10 s")
        ours = lambda: {p.pid for _, p in started}  # noqa: E731
        if size_name != "100k":
            results.setdefault("machine_load", {})["throughput"] = load_snapshot(ours())
            phase_throughput(redis_port, size, base, results)
            results["commands"] += [b["command"] for b in results["throughput"]["bare"].values()]
            results["commands"].append("java -cp benchmarks/target/classes:... dev.tether.benchmarks.cluster."
                                       f"BrokerPublishThroughput --redis redis://127.0.0.1:{redis_port} "
                                       f"--seconds {size['throughput_s']} --warmup-seconds 3")
        java_opts = results["node_java_opts"]
        nodes = [Node(i + 1, redis_port, java_opts, workdir) for i in range(size["nodes"])]
        for node in nodes:
            node.wait_listening()
            results["commands"].append(node.cmd + f" &    # node{node.index}, PID {node.proc.pid}")
        say("== nodes listening: " + ", ".join(f"node{n.index} {n.target()} PID {n.proc.pid}" for n in nodes))
        every = [n.target() for n in nodes]
        if size_name == "100k":
            phase_hold100k(nodes, size, base, results)
            results["commands"] += results.get("warmup_commands", []) + results["phases"]["hold100k"]["commands"]
        else:
            shas = script_shas()
            plan = [
                ("warmup", every, size["warmup_subs"] * 3, size["warmup_s"], {}),
                ("cmds-small", every, size["cmds_small"] * 3, size["cmds_s"], {"redis_port": redis_port, "shas": shas}),
                ("cmds-large", every, size["cmds_large"] * 3, size["cmds_s"], {"redis_port": redis_port, "shas": shas}),
                ("single", every[:1], size["latency_subs"], size["latency_s"], {"redis_port": redis_port, "nodes": nodes}),
                ("cross", every, size["latency_subs"] * 3, size["latency_s"], {"redis_port": redis_port, "nodes": nodes}),
                # Not an acceptance point: 3 nodes with the single node's total, so that the hop is
                # seen apart from the tripled delivery work on the same cores.
                ("cross-same-total", every, size["latency_subs"], size["latency_s"], {"nodes": nodes}),
                ("kill", every, size["kill_subs"] * 3, size["kill_s"],
                 {"scenario": "failover", "kill": {"node": nodes[2], "after_s": size["kill_after_s"]}}),
            ]
            for name, targets, subs, secs, extra in plan:
                phase = broadcast_phase(name, targets, subs, secs, size, base, results, **extra)
                results["commands"].append(phase["command"] + ("    # not measured" if name == "warmup" else ""))
        ok = True
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        say(f"== cluster: FAILED: {e!r}")
        results["error"] = repr(e)
    finally:
        results.setdefault("machine_load", {})["end"] = load_snapshot({p.pid for _, p in started})
        stop_all()
        for f in sorted(os.listdir(workdir)):
            with open(os.path.join(workdir, f)) as src:
                text = src.read()
            lines = text.splitlines()
            if len(lines) > 200:
                lines = lines[:100] + [f"... {len(lines) - 200} lines left out ..."] + lines[-100:]
            say(f"== {f}:")
            for line in lines:
                say(f"{f[:-4]}: {line}")
        with open(base + ".json", "w") as f:
            json.dump(results, f, indent=1, default=str)
        met = report(results, base + ".md") if ok else False
        say(f"== wrote {base}.md, {base}.json, {base}.log" if ok else f"== run incomplete: wrote {base}.json, {base}.log")
        say("== every acceptance point met" if met else "== not every acceptance point met (see the report)")
        log_file.close()
        for f in os.listdir(workdir):
            os.remove(os.path.join(workdir, f))
        os.rmdir(workdir)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
