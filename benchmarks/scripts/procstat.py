#!/usr/bin/env python3
"""Server-process measurements for benchmarks/run (Python 3 standard library only).

  procstat.py sample PID [--jvm]
      one JSON object: rss_kb, hwm_kb (VmRSS, VmHWM from /proc/PID/status), cpu_s (utime+stime
      from /proc/PID/stat over CLK_TCK) and, with --jvm, heap_used_kb after a forced GC
      (`jcmd PID GC.class_histogram`, which collects first, then `jcmd PID GC.heap_info`) and
      heap_live_kb, the histogram's live objects alone, listen_overflows (TcpExt ListenOverflows of
      /proc/net/netstat: SYNs dropped on a full accept queue, whole network namespace) and native_kb, the committed native memory
      that can grow with connections, from Native Memory Tracking (`jcmd PID VM.native_memory
      summary`, without the heap, GC, JIT and class metadata; null unless the JVM runs with
      -XX:NativeMemoryTracking=summary).

  procstat.py drive --server-pid PID [--jvm] --scenario S --seconds T --log FILE --out FILE -- CMD...
                    [--- CMD2...]
      runs the load generator CMD as a child process (with CMD2..., several generator processes at
      once; their lines are prefixed "[gen2] ", ...), copies its output to stdout and FILE, and
      samples the server at the phase changes the (first) generator's progress lines show
      ("[  12.0s] ramp ...", "hold", "echo", "grace", "closed"):
        before      before the generator starts (after a forced GC for the JVM); for generators
                    run with --warmup-handshakes N --await-go, once every one of them printed
                    "load: warm-up done" the first time (after the first of its two warm-up rounds)
        warm        the same, the second time (no GC: a full collection just before the run would
                    leave G1 sizing its young generation from nothing during the arrival); the run's
                    CPU, RSS and accept-queue figures count from here
                    (after each, every warming generator is sent a line on its standard input: go on)
        run_start   first progress line of the hold/echo phase (end of the ramp)
        run_end     hold: T-1 s after run_start, connections still open (then forced GC + heap);
                    echo and others: first line after the send phase (grace/closed), or exit
        after       after the generator exited
      Writes {"samples": {...}, "exit": rc, "result": {RESULT json or null}, "results": [one per
      generator], "generator_cpu_s": [user+system CPU of each generator process, from wait4],
      "heap_classes_delta": [[class, instances, bytes], ...]: for a hold with --jvm, the 15 classes
      whose live bytes changed most from before to run_end (`jcmd PID GC.class_histogram`, taken
      with each heap sample), else null} to --out and exits with the first non-zero exit status
      of the generators (0 if none).
"""
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
AWAIT_GO = "--await-go"
WARMUP_DONE = "load: warm-up done"


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    fields = data[data.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLK_TCK


_UNITS = {"K": 1, "M": 1024, "G": 1024 * 1024}
_HISTOGRAM_ROW = re.compile(r"^\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", re.M)


def jvm_heap(pid):
    """Forces a full GC (`jcmd PID GC.class_histogram` collects before it counts), then reads the
    used heap from `jcmd PID GC.heap_info`: (used KB or None, {class: [instances, bytes]} or None).
    The histogram comes first, in the place of a `GC.run`, so that it sees the same live objects
    as the heap figure (a hold's connections close about a second after its end sample starts)."""
    try:
        histogram = subprocess.run(["jcmd", str(pid), "GC.class_histogram"], check=True,
                                   capture_output=True, text=True, timeout=120).stdout
        info = subprocess.run(["jcmd", str(pid), "GC.heap_info"], check=True, capture_output=True,
                              text=True, timeout=60).stdout
    except (subprocess.SubprocessError, OSError) as e:
        print(f"procstat: jcmd failed: {e}", file=sys.stderr)
        return None, None
    classes = {m.group(3): [int(m.group(1)), int(m.group(2))] for m in _HISTOGRAM_ROW.finditer(histogram)}
    return heap_used_kb(info), classes or None


def live_kb(classes):
    """The bytes of every live object in a class histogram, in KB (None without one). Unlike
    GC.heap_info's 'used', which counts G1 regions up to their top (after a full GC each collector
    thread leaves its last region part-filled: several MB with 4 MB regions), this is the objects
    alone."""
    return sum(b for _, b in classes.values()) / 1024 if classes else None


def heap_used_kb(out):
    """The used heap in KB from `jcmd PID GC.heap_info` output, or None."""
    # G1 / Parallel / Shenandoah: one "... heap ... used 1234K" line; ZGC: "ZHeap used 12M";
    # Serial/Parallel: one line per generation ("def new generation ... used ...").
    for line in out.splitlines():
        if re.search(r"garbage-first heap|ZHeap|Shenandoah", line):
            m = re.search(r"used (\d+)([KMG])", line)
            if m:
                return int(m.group(1)) * _UNITS[m.group(2)]
    total, found = 0, False
    for line in out.splitlines():
        m = re.search(r"(generation|PSYoungGen|ParOldGen).*?used (\d+)([KMG])", line)
        if m:
            total += int(m.group(2)) * _UNITS[m.group(3)]
            found = True
    return total if found else None


def classes_delta(before, after, top=15):
    """The TOP classes by bytes of after - before: [[class, instances, bytes], ...] (growth first)."""
    delta = []
    for name in set(before) | set(after):
        b, a = before.get(name, [0, 0]), after.get(name, [0, 0])
        if a[1] != b[1]:
            delta.append([name, a[0] - b[0], a[1] - b[1]])
    delta.sort(key=lambda row: -abs(row[2]))
    return delta[:top]


# NMT categories that do not grow with connections: the heap itself, what scales with the heap's
# committed size (GC: card table, remembered sets, mark bitmaps; they shrink and grow as G1 resizes
# the heap, by tens of MB), the JIT's and class loading's, and NMT's own bookkeeping.
_NMT_NOT_PER_CONNECTION = {"Java Heap", "GC", "Code", "Compiler", "Arena Chunk", "Class", "Metaspace",
                           "Shared class space", "Symbol", "Native Memory Tracking"}


def jvm_native_kb(pid):
    """Committed native memory in KB that can grow with connections, from Native Memory Tracking.

    Needs the server started with -XX:NativeMemoryTracking=summary (None otherwise). Sums the
    committed KB of the `jcmd PID VM.native_memory summary` categories not in
    _NMT_NOT_PER_CONNECTION: thread stacks, direct buffers ("Other"), "Internal", monitors, ...
    """
    try:
        out = subprocess.run(["jcmd", str(pid), "VM.native_memory", "summary"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    total, found = 0, False
    for m in re.finditer(r"^-\s+(.+?) \(reserved=\d+KB, committed=(\d+)KB\)", out, re.M):
        found = True
        if m.group(1).strip() not in _NMT_NOT_PER_CONNECTION:
            total += int(m.group(2))
    return total if found else None


def listen_overflows():
    """TcpExt ListenOverflows from /proc/net/netstat: connections the kernel dropped because a
    listening socket's accept queue was full (this network namespace, every listener), or None."""
    try:
        with open("/proc/net/netstat") as f:
            lines = [line.split() for line in f if line.startswith("TcpExt:")]
        names, values = lines[0], lines[1]
        return int(values[names.index("ListenOverflows")])
    except (OSError, IndexError, ValueError):
        return None


def sample(pid, jvm, gc=True):
    s = {"t": time.time(), "rss_kb": status_kb(pid, "VmRSS"), "hwm_kb": status_kb(pid, "VmHWM"),
         "cpu_s": cpu_seconds(pid), "listen_overflows": listen_overflows()}
    if jvm and gc:
        s["heap_used_kb"], s["classes"] = jvm_heap(pid)
        s["heap_live_kb"] = live_kb(s["classes"])
        s["native_kb"] = jvm_native_kb(pid)
        # The forced GC's own CPU must not count in a later window: read CPU again after it.
        s["cpu_after_gc_s"] = cpu_seconds(pid)
    return s


PROGRESS = re.compile(r"^\[\s*[\d.]+s\]\s+(\w+)\s")


def drive(argv):
    args = {"jvm": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            cmds, cmd = [], []
            for word in argv[i + 1:]:
                if word == "---":
                    cmds.append(cmd)
                    cmd = []
                else:
                    cmd.append(word)
            cmds.append(cmd)
            break
        if a == "--jvm":
            args["jvm"] = True
            i += 1
            continue
        args[a.lstrip("-").replace("-", "_")] = argv[i + 1]
        i += 2
    else:
        sys.exit("procstat drive: missing -- CMD")
    pid, jvm = int(args["server_pid"]), args["jvm"]
    hold_s = int(args["seconds"])
    scenario = args["scenario"]
    samples = {"before": sample(pid, jvm)}
    log = open(args["log"], "a")
    children = [subprocess.Popen(c, stdin=subprocess.PIPE if AWAIT_GO in c else subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
                for c in cmds]
    # Generators that warm up first (two rounds) wait for a go after each: "before" (with a GC)
    # is sampled between the rounds, "warm" (without) after the second.
    warming = [i for i, c in enumerate(cmds) if AWAIT_GO in c]
    rounds = {i: 0 for i in warming}

    def stop(signum, frame):
        for child in children:
            if child.returncode is None:
                child.terminate()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    lines = queue.Queue()

    def reader(index, child):
        prefix = "" if index == 0 else f"[gen{index + 1}] "
        for line in child.stdout:
            lines.put((index, prefix + line))
        lines.put((index, None))

    for index, child in enumerate(children):
        threading.Thread(target=reader, args=(index, child), daemon=True).start()
    results = [None] * len(children)
    running = len(children)
    hold_end_at = None
    while running:
        timeout = None if hold_end_at is None else max(0.0, hold_end_at - time.time())
        try:
            index, line = lines.get(timeout=timeout)
        except queue.Empty:
            index, line = 0, ""
        if hold_end_at is not None and time.time() >= hold_end_at and "run_end" not in samples:
            samples["run_end"] = sample(pid, jvm)
            hold_end_at = None
        if line is None:
            running -= 1
            continue
        if not line:
            continue
        sys.stdout.write(line)
        log.write(line)
        text = line[line.index("] ") + 2:] if index > 0 else line
        if index in rounds and text.startswith(WARMUP_DONE):
            rounds[index] += 1
            done = rounds[index]
            if done in (1, 2) and all(r == done for r in rounds.values()):  # the last one to get there
                if done == 1:
                    samples["before"] = sample(pid, jvm)
                else:
                    samples["warm"] = sample(pid, jvm, gc=False)
                for i in warming:
                    try:
                        children[i].stdin.write("go\n")
                        children[i].stdin.flush()
                        if done == 2:
                            children[i].stdin.close()
                    except OSError:
                        pass  # it ended: its exit status says why
        if text.startswith("RESULT "):
            try:
                results[index] = json.loads(text[len("RESULT "):])
            except ValueError:
                pass
        if index > 0:
            continue
        m = PROGRESS.match(line)
        if not m:
            continue
        phase = m.group(1)
        if phase not in ("ramp",) and "run_start" not in samples and phase != "closed":
            samples["run_start"] = sample(pid, jvm, gc=False)
            if scenario == "hold":
                hold_end_at = time.time() + max(0.5, hold_s - 1.0)
        elif "run_start" in samples and "run_end" not in samples and scenario != "hold" \
                and phase in ("grace", "closed"):
            samples["run_end"] = sample(pid, jvm, gc=False)
    rcs, cpus = [], []
    for child in children:
        # wait4 rather than wait: the generator's own CPU (every thread: selector loops, JIT, GC).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        rcs.append(child.returncode)
        cpus.append(usage.ru_utime + usage.ru_stime)
    rc = next((r for r in rcs if r != 0), 0)
    if "run_end" not in samples and "run_start" in samples:
        samples["run_end"] = sample(pid, jvm, gc=False)
    samples["after"] = sample(pid, jvm)
    log.close()
    # What the heap delta of a hold is made of (the report prints it per connection); the whole
    # histograms stay out of the file.
    histograms = {name: s.pop("classes", None) for name, s in samples.items()}
    classes = None
    if scenario == "hold" and histograms.get("before") and histograms.get("run_end"):
        classes = classes_delta(histograms["before"], histograms["run_end"])
    with open(args["out"], "w") as f:
        json.dump({"samples": samples, "exit": rc, "result": results[0], "results": results,
                   "generator_cpu_s": cpus, "heap_classes_delta": classes}, f, indent=1)
    return rc


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sample":
        print(json.dumps(sample(int(sys.argv[2]), "--jvm" in sys.argv[3:])))
    elif len(sys.argv) >= 2 and sys.argv[1] == "drive":
        sys.exit(drive(sys.argv[2:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
