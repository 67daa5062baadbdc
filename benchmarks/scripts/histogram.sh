#!/usr/bin/env bash
# Heap objects per idle connection (issue 16: "measure with a class histogram of 10,000 idle
# connections, before and after"). Loopback only; every process it starts is stopped by its PID.
#
#   benchmarks/scripts/histogram.sh [N] [TOP]      (defaults 10000 and 25; from the repository root)
#   EXAMPLE=socketio-seed PROTOCOL=socketio benchmarks/scripts/histogram.sh    (Socket.IO sessions)
#
# 1. starts `examples/run chat` (it execs java: its PID is the JVM's) on a free port;
# 2. takes `jcmd PID GC.class_histogram` (a full GC first: live objects only);
# 3. the load generator opens N connections (native, or PROTOCOL) from 8 source addresses and
#    holds them;
# 4. once all are connected and 30 s have passed (past the first heartbeat, every 25 s by default,
#    at which an idle session gives up its replay ring), takes the histogram again;
# 5. prints the difference per connection: bytes and objects in all, then the TOP classes by bytes.
# Needs the benchmarks built (benchmarks/run builds them; or mvn -q -pl benchmarks -am package).
set -euo pipefail
n=${1:-10000}
top=${2:-25}
. benchmarks/scripts/one-server.sh
start_server histogram
jcmd "$server" GC.class_histogram >"$log/before"
start_generator hold --protocol "${PROTOCOL:-tether}" --connections "$n" --rate 2000 --hold-seconds 300 --source-ips 8
await_connected histogram "$n"
sleep 30
jcmd "$server" GC.class_histogram >"$log/after"
python3 - "$n" "$top" "$log/before" "$log/after" <<'PY'
import re
import sys

n, top = int(sys.argv[1]), int(sys.argv[2])


def read(path):
    rows = {}
    for line in open(path):
        m = re.match(r"\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if m:
            rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return rows


before, after = read(sys.argv[3]), read(sys.argv[4])
delta = {}
for cls in set(before) | set(after):
    b, a = before.get(cls, (0, 0)), after.get(cls, (0, 0))
    delta[cls] = (a[0] - b[0], a[1] - b[1])
objects = sum(d[0] for d in delta.values())
size = sum(d[1] for d in delta.values())
print(f"{n} idle connections: {size / n:,.0f} B and {objects / n:.1f} objects per connection (live heap, histogram delta / N)")
for cls, (count, nbytes) in sorted(delta.items(), key=lambda e: -e[1][1])[:top]:
    print(f"  {nbytes / n:7.1f} B  {count / n:5.2f}  {cls}")
PY
