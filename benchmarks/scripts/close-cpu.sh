#!/usr/bin/env bash
# Server CPU to close N connections whose peers all vanish at once (issue 16, "server CPU to close
# 10,000 connections at once"). Loopback only; every process it starts is stopped by its PID.
#
#   benchmarks/scripts/close-cpu.sh [N]      (default 10000; run from the repository root)
#
# 1. starts `examples/run chat` (the example execs java, so its PID is the JVM's) on a free port;
# 2. the load generator opens N connections from 8 source addresses and holds them;
# 3. once all are connected: 15 s settle, then the server's CPU over 10 s idle (/proc/PID/stat);
# 4. the generator is killed with SIGKILL: every peer is gone at once, the kernel resets or ends
#    each socket, and the server's I/O threads see N sockets close together;
# 5. prints the server's CPU over the 10 s after the kill, and that minus the idle CPU (what the
#    closing cost).
# Steps 2-5 run first with WARMUP peers (default N, "warm-up"), then with N ("measured").
# Needs the benchmarks built (benchmarks/run builds them; or mvn -q -pl benchmarks -am package).
set -euo pipefail
n=${1:-10000}
. benchmarks/scripts/one-server.sh
start_server close-cpu
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
# round LABEL N: N connections held, 15 s settle, 10 s idle measured, every peer killed, 10 s measured.
round() {
  local label=$1 count=$2 t0 t1 t2 t3
  start_generator hold --protocol tether --connections "$count" --rate 2000 --hold-seconds 120 --source-ips 8
  await_connected close-cpu "$count"
  sleep 15
  t0=$(ticks); sleep 10; t1=$(ticks)
  stop_generator KILL
  t2=$(ticks); sleep 10; t3=$(ticks)
  python3 - "$label" "$count" "$hz" "$t0" "$t1" "$t2" "$t3" <<'PY'
import sys
label = sys.argv[1]
n, hz, t0, t1, t2, t3 = (int(x) for x in sys.argv[2:])
idle, closing = (t1 - t0) / hz, (t3 - t2) / hz
print(f"{label}: {n} connections: server CPU {idle:.2f} s in 10 s idle, {closing:.2f} s in the 10 s after every peer"
      f" vanished; closing cost {closing - idle:.2f} s")
PY
}
# The first mass close in a JVM also pays for compiling the closing path (C1/C2: about 0.4 s of
# the ~1 s a cold close of 10,000 measured, async-profiler); a server that has run for a while
# has it compiled. WARMUP (default N; 0 for none) peers vanish once first, then N are measured.
warmup=${WARMUP:-$n}
[ "$warmup" -gt 0 ] && round "warm-up (the JVM's first mass close)" "$warmup"
round "measured" "$n"
