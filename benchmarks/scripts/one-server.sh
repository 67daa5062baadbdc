# Sourced by the scripts that measure one Tether server against the load generator (close-cpu.sh,
# histogram.sh, profile.sh), from the repository root. Loopback only; the server and the
# generator it starts are stopped by their PIDs when the script exits.
#
#   start_server NAME       starts `examples/run chat` (it execs java: its PID is the JVM's) on a
#                           free port of 127.0.0.1 and waits for its listening line; sets $server
#                           and $port (NAME is for messages); with EXAMPLE=socketio-seed, Tether's
#                           Socket.IO server of the seed's app instead (generator: --protocol socketio);
#                           EXAMPLE_ARGS are passed on (--broadcast for broadcast and storm)
#   start_generator ARGS... starts the load generator against it (--host and --port added); sets
#                           $gen; its output goes to $log/gen
#   await_connected NAME N  waits until the generator reports N connected
#   stop_generator [SIGNAL] stops the generator (default TERM; KILL for peers that vanish)
# $log is a private directory, removed at exit.
cp="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
log=$(mktemp -d)
server=""; gen=""; port=""
cleanup() {
  [ -n "$gen" ] && kill -9 "$gen" 2>/dev/null || true
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$log"
}
trap cleanup EXIT

start_server() {
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  HOST=127.0.0.1 TETHER_INBOUND_RATE=0 TETHER_CLIENT_TOPICS=room PORT=$port examples/run "${EXAMPLE:-chat}" \
    ${EXAMPLE_ARGS:-} >"$log/server" 2>&1 &
  server=$!
  for _ in $(seq 1 240); do grep -q listening "$log/server" && break; sleep 0.5; done
  grep -q listening "$log/server" || { echo "$1: the server did not start" >&2; cat "$log/server" >&2; exit 1; }
}

start_generator() {
  java -cp "$cp" dev.tether.benchmarks.load.LoadGenerator "$@" --host 127.0.0.1 --port "$port" >"$log/gen" 2>&1 &
  gen=$!
}

await_connected() {
  for _ in $(seq 1 240); do grep -q "open=$2 connected=$2" "$log/gen" && break; sleep 0.5; done
  grep -q "open=$2 connected=$2" "$log/gen" || { echo "$1: not all $2 connected" >&2; tail -3 "$log/gen" >&2; exit 1; }
}

stop_generator() {
  kill "-${1:-TERM}" "$gen"; wait "$gen" 2>/dev/null || true; gen=""
}
