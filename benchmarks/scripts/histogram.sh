#!/usr/bin/env bash
# Heap objects per idle connection (issue 16: "measure with a class histogram of 10,000 idle
# connections, before and after"). Loopback only; every process it starts is stopped by its PID.
#
#   benchmarks/scripts/histogram.sh [N] [TOP]      (defaults 10000 and 25; from the repository root)
#
# 1. starts `examples/run chat` (it execs java: its PID is the JVM's) on a free port;
# 2. takes `jcmd PID GC.class_histogram` (a full GC first: live objects only);
# 3. the load generator opens N native connections from 8 source addresses and holds them;
# 4. once all are connected and 30 s have passed (past the first heartbeat, every 25 s by default,
#    at which an idle session gives up its replay ring), takes the histogram again;
# 5. prints the difference per connection: bytes and objects in all, then the TOP classes by bytes.
# Needs the benchmarks built (benchmarks/run builds them; or mvn -q -pl benchmarks -am package).
set -euo pipefail
n=${1:-10000}
top=${2:-25}
cp="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp -d)
server=""; gen=""
cleanup() {
  [ -n "$gen" ] && kill "$gen" 2>/dev/null || true
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$log"
}
trap cleanup EXIT
HOST=127.0.0.1 TETHER_INBOUND_RATE=0 TETHER_CLIENT_TOPICS=room PORT=$port examples/run chat >"$log/server" 2>&1 &
server=$!
for _ in $(seq 1 240); do grep -q listening "$log/server" && break; sleep 0.5; done
grep -q listening "$log/server" || { echo "histogram: the server did not start" >&2; cat "$log/server" >&2; exit 1; }
jcmd "$server" GC.class_histogram >"$log/before"
java -cp "$cp" dev.tether.benchmarks.load.LoadGenerator hold --protocol tether --host 127.0.0.1 --port "$port" \
  --connections "$n" --rate 2000 --hold-seconds 300 --source-ips 8 >"$log/gen" 2>&1 &
gen=$!
for _ in $(seq 1 240); do grep -q "open=$n connected=$n" "$log/gen" && break; sleep 0.5; done
grep -q "open=$n connected=$n" "$log/gen" || { echo "histogram: not all $n connected" >&2; tail -3 "$log/gen" >&2; exit 1; }
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
