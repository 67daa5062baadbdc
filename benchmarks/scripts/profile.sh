#!/usr/bin/env bash
# A CPU profile of the Tether server under one load (issue 16: "record each with its profile").
# Loopback only; every process it starts is stopped by its PID.
#
#   benchmarks/scripts/profile.sh NAME SETTLE_S PROFILE_S -- GENERATOR_ARGS...
#   e.g. benchmarks/scripts/profile.sh echo-native 40 30 -- echo --protocol tether \
#          --connections 10000 --connect-rate 2000 --rate 5000 --seconds 100 --source-ips 8
#
# 1. fetches async-profiler from Maven Central (tools.profiler:async-profiler, pinned below) into
#    benchmarks/target/async-profiler, once;
# 2. starts `examples/run chat` (it execs java: its PID is the JVM's) on a free port, with the
#    environment's TETHER_* settings (TETHER_HANDLERS_ON_IO_THREAD=1 for the inline variant);
# 3. starts the load generator with GENERATOR_ARGS (--host and --port are added);
# 4. after SETTLE_S seconds loads the profiler into the server (jcmd JVMTI.agent_load) with
#    event=cpu (perf events, kernel frames included) for PROFILE_S seconds; with KILL_GENERATOR=1
#    the generator is killed with SIGKILL as the profile starts (every peer gone at once: the
#    closing cost, as close-cpu.sh measures it);
# 5. writes benchmarks/results/profile-NAME-STAMP.html (flame graph) and .collapsed.gz (folded
#    stacks), and prints the share of samples in a few frame groups (profile-summary.py);
# 6. stops the generator and the server.
# Needs the benchmarks built (benchmarks/run builds them; or mvn -q -pl benchmarks -am package).
set -euo pipefail
[ $# -ge 4 ] && [ "$4" = "--" ] || { sed -n '2,/^# Needs/p' "$0" >&2; exit 2; }
name=$1; settle=$2; seconds=$3; shift 4
version=4.2
ap="benchmarks/target/async-profiler/$version"
if [ ! -f "$ap/linux-x64/libasyncProfiler.so" ]; then
  mkdir -p "$ap"
  mvn -q dependency:copy -Dartifact="tools.profiler:async-profiler:$version" -DoutputDirectory="$ap" >&2
  (cd "$ap" && unzip -qo "async-profiler-$version.jar" 'linux-x64/*')
fi
lib="$(pwd)/$ap/linux-x64/libasyncProfiler.so"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$(pwd)/benchmarks/results/profile-$name-$stamp"
. benchmarks/scripts/one-server.sh
start_server profile
start_generator "$@"
sleep "$settle"
kill -0 "$gen" 2>/dev/null || { echo "profile: the generator ended before the profile" >&2; tail -5 "$log/gen" >&2; exit 1; }
# jcmd reads name=value itself: the options go in quotes of their own. Errors go to the server's log.
agent() { jcmd "$server" JVMTI.agent_load "$lib" "\"$1\"" | grep -q "return code: 0" || { echo "profile: '$1' failed" >&2; tail -3 "$log/server" >&2; exit 1; }; }
agent "start,event=cpu,interval=1ms,threads"
if [ "${KILL_GENERATOR:-0}" = 1 ]; then stop_generator KILL; fi
sleep "$seconds"
agent "dump,collapsed,ann,file=$out.collapsed"
agent "stop,file=$out.html"
echo "profile: $out.html ($seconds s of $*; server: TETHER_HANDLERS_ON_IO_THREAD=${TETHER_HANDLERS_ON_IO_THREAD:-0})"
gzip -9 "$out.collapsed"
python3 benchmarks/scripts/profile-summary.py "$out.collapsed.gz"
