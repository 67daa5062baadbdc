package dev.tether.benchmarks.load;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One run's settings, validated in the constructor (the message names the option).
 *
 * @param scenario         {@code hold}, {@code echo}, {@code echo-search}, {@code broadcast}, {@code storm} or
 *                         {@code failover}
 * @param protocol         {@code tether} or {@code socketio}
 * @param host             the server address; must be in 127.0.0.0/8 (default 127.0.0.1)
 * @param port             the server port (default 8080)
 * @param path             the upgrade request target (default: the protocol's)
 * @param connections      connections to open (default 100)
 * @param connectRate      connections opened per second ({@code hold --rate}, {@code echo
 *                         --connect-rate}; default 1000)
 * @param messageRate      echo requests per second over all connections ({@code echo --rate}), or
 *                         publishes per second ({@code broadcast|storm --publish-rate} or {@code --rate});
 *                         default 1000; unused by {@code hold}
 * @param connections      broadcast / storm: subscribers; one publisher connection is added
 * @param seconds          how long to hold ({@code --hold-seconds}) or to send ({@code --seconds});
 *                         default 10
 * @param graceSeconds     how long an echo run waits for outstanding replies after the last send
 *                         before counting them lost (default 5)
 * @param sourceIps        source addresses 127.0.0.2 .. 127.0.0.(1+N), round-robin; default enough
 *                         that none has more than {@value #CONNECTIONS_PER_SOURCE_IP} connections
 * @param loops            selector threads, 1 or 2 (default: 2 on two or more cores)
 * @param handshakeTimeoutMs a connection not welcomed this long after its connect started fails
 *                         (default 10,000)
 * @param stalledPercent   broadcast: the share of subscribers that stop reading once subscribed (default 0)
 * @param stormAfterSeconds storm: seconds after the first publish when every subscriber is cut (default 3)
 * @param histogramLog     where to write the run's histograms as an HdrHistogram log at the end
 *                         ({@code --histogram-log FILE}); null: none
 * @param p99BoundMs       echo-search: a step is steady only if its p99 is at most this
 *                         ({@code --p99-bound-ms}, default 20)
 * @param maxSteps         echo-search: at most this many steps ({@code --max-steps}, 1..20, default 10)
 * @param sourceIpOffset   the first source address is 127.0.0.(2+K) ({@code --source-ip-offset K},
 *                         default 0), so that several generator processes use disjoint addresses
 * @param generators       echo-search: generator processes searching together in lockstep
 *                         ({@code --generators N}, 1..4, default 1); each is given its share of
 *                         {@code --connections}, but the same {@code --rate}: the total start rate
 * @param generatorIndex   echo-search: this process's number, 1..generators ({@code --generator-index})
 * @param peerDir          echo-search with several generators: the directory through which they
 *                         exchange each step's figures ({@code --peer-dir}); null for one
 * @param targets          the servers, all in 127.0.0.0/8 ({@code --targets HOST:PORT,HOST:PORT,...};
 *                         default: {@code host:port} alone). Connection {@code i} of the run goes to
 *                         {@code targets[i % n]} (the publisher, run index 0, to the first); a reconnect
 *                         (storm, failover) goes to the next target after the one it last tried, so
 *                         the list is also the clients' fail-over list
 * @param warmupHandshakes handshakes this process makes (and closes) before the run, unmeasured
 *                         ({@code --warmup-handshakes N}, default 0), in two rounds, the second
 *                         {@value #WARMUP_SECOND_ROUND} (half of N when N is smaller), the first the rest
 *                         ({@link #warmup(int, int)} at {@value #WARMUP_RATE}/s; a storm's second round
 *                         is a small storm), so that the run measures a warm generator, not its JIT
 *                         compiling the connect and upgrade path
 * @param awaitGo          after each warm-up round, print {@value #WARMUP_DONE} and wait for a line
 *                         on standard input (at most {@value #AWAIT_GO_SECONDS} s; end of input also
 *                         goes on) ({@code --await-go}, no value): the caller samples the server
 *                         between the rounds (with a GC: memory) and after the second (without:
 *                         CPU), benchmarks/scripts/procstat.py
 */
record LoadOptions(Scenario scenario, WireProtocol protocol, InetAddress host, int port, String path,
                   int connections, int connectRate, int messageRate, int seconds, int graceSeconds,
                   int sourceIps, int loops, int handshakeTimeoutMs, double stalledPercent,
                   int stormAfterSeconds, String histogramLog, double p99BoundMs, int maxSteps,
                   int sourceIpOffset, int generators, int generatorIndex, String peerDir,
                   List<InetSocketAddress> targets, int warmupHandshakes, boolean awaitGo) {

    /** A storm's second warm-up round: its publish rate at most this, for this long ({@link #warmup(int, int)}). */
    static final int WARMUP_STORM_PUBLISH_RATE = 10;
    static final int WARMUP_STORM_SECONDS = 3;
    /** The most connections the default gives one source address (the ephemeral range is ~28,000). */
    static final int CONNECTIONS_PER_SOURCE_IP = 20_000;
    /** Seconds a run may overrun its planned duration before every loop gives up. */
    static final int HARD_DEADLINE_SLACK_SECONDS = 60;
    /** Broadcast / storm: at most this many publishes per run (each has a completion slot per loop). */
    static final long MAX_PUBLISHES = 8_000_000;
    /** Source addresses are 127.0.0.2 + offset + i; this bound keeps them within 127.0.0.0/16. */
    static final int MAX_SOURCE_ADDRESS = 65_000;
    /** Echo search: the most steps {@code --max-steps} may ask for. */
    static final int MAX_SEARCH_STEPS = 20;
    /** Broadcast: the longest wait for stalled subscribers to drain after the run. */
    static final int STALLED_DRAIN_SECONDS = 3;
    /** The warm-up's connect rate. */
    static final int WARMUP_RATE = 2000;
    /** The second warm-up round's handshakes (half the warm-up when that is smaller). */
    static final int WARMUP_SECOND_ROUND = 2000;
    /** The most warm-up handshakes (one process holds them at once: 20,000 open files). */
    static final int MAX_WARMUP_HANDSHAKES = 19_000;
    /** The line printed when the warm-up is over. */
    static final String WARMUP_DONE = "load: warm-up done";
    /** {@code --await-go}: the longest wait for the line on standard input. */
    static final int AWAIT_GO_SECONDS = 120;

    LoadOptions {
        Objects.requireNonNull(scenario, "scenario");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(path, "path");
        loopback("--host", host);
        positive("--port", port);
        if (port > 65_535) {
            throw new IllegalArgumentException("--port must be at most 65535, was " + port);
        }
        targets = targets == null || targets.isEmpty() ? List.of(new InetSocketAddress(host, port)) : List.copyOf(targets);
        for (InetSocketAddress t : targets) {
            loopback("--targets", t.getAddress());
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("--path must start with '/', was " + path);
        }
        positive("--connections", connections);
        positive("connect rate (--rate for hold, --connect-rate for echo)", connectRate);
        positive("--rate", messageRate);
        positive("--seconds / --hold-seconds", seconds);
        if (graceSeconds < 0) {
            throw new IllegalArgumentException("--grace-seconds must not be negative, was " + graceSeconds);
        }
        if (sourceIps < 1 || sourceIps > 250) {
            throw new IllegalArgumentException("--source-ips must be in 1..250, was " + sourceIps);
        }
        if (loops < 1 || loops > 2) {
            throw new IllegalArgumentException("--loops must be 1 or 2, was " + loops);
        }
        positive("--handshake-timeout-ms", handshakeTimeoutMs);
        if (!(stalledPercent >= 0 && stalledPercent < 100)) {
            throw new IllegalArgumentException("--stalled-percent must be in [0, 100), was " + stalledPercent);
        }
        if (scenario == Scenario.FAILOVER && targets.size() < 2) {
            throw new IllegalArgumentException("failover needs at least two --targets to fail over between");
        }
        if (stalledPercent > 0 && scenario != Scenario.BROADCAST) {
            throw new IllegalArgumentException("--stalled-percent applies to broadcast only");
        }
        if (scenario == Scenario.STORM) {
            if (stormAfterSeconds < 0 || stormAfterSeconds >= seconds) {
                throw new IllegalArgumentException("--storm-after-seconds must be in [0, --seconds), was " + stormAfterSeconds);
            }
        }
        if (!(p99BoundMs > 0)) {
            throw new IllegalArgumentException("--p99-bound-ms must be positive, was " + p99BoundMs);
        }
        if (maxSteps < 1 || maxSteps > MAX_SEARCH_STEPS) {
            throw new IllegalArgumentException("--max-steps must be in 1.." + MAX_SEARCH_STEPS + ", was " + maxSteps);
        }
        // 127.0.0.(2+K) .. 127.0.(hi).(lo) with 2+K+N-1 below 65,536: never outside 127.0.0.0/8.
        if (sourceIpOffset < 0 || (long) sourceIpOffset + sourceIps > MAX_SOURCE_ADDRESS) {
            throw new IllegalArgumentException("--source-ip-offset must be in 0.." + (MAX_SOURCE_ADDRESS - sourceIps)
                    + " for " + sourceIps + " source address(es), was " + sourceIpOffset);
        }
        if (generators < 1 || generators > 4) {
            throw new IllegalArgumentException("--generators must be in 1..4, was " + generators);
        }
        if (generatorIndex < 1 || generatorIndex > generators) {
            throw new IllegalArgumentException("--generator-index must be in 1..--generators, was " + generatorIndex);
        }
        if (generators > 1 && (scenario != Scenario.ECHO_SEARCH || peerDir == null)) {
            throw new IllegalArgumentException("--generators > 1 is for echo-search with --peer-dir DIR (other"
                    + " scenarios run independent processes and merge their logs: LoadGenerator merge)");
        }
        if (scenario.fanout() && (long) messageRate * seconds > MAX_PUBLISHES) {
            throw new IllegalArgumentException("--publish-rate x --seconds must be at most " + MAX_PUBLISHES);
        }
        if (warmupHandshakes < 0 || warmupHandshakes == 1 || warmupHandshakes > MAX_WARMUP_HANDSHAKES) {
            throw new IllegalArgumentException("--warmup-handshakes must be 0 or in 2.." + MAX_WARMUP_HANDSHAKES
                    + " (two rounds), was " + warmupHandshakes);
        }
        if (awaitGo && warmupHandshakes == 0) {
            throw new IllegalArgumentException("--await-go waits after the warm-up: it needs --warmup-handshakes N");
        }
    }

    /**
     * The handshakes of warm-up round {@code round} (1 or 2): the second makes
     * {@value #WARMUP_SECOND_ROUND} whatever the total (half of it when that is smaller), the first
     * the rest. The ids of the sessions the second round closes stay in the server for its
     * retention window, past the memory sample a caller takes between the rounds, and so count in
     * a hold's memory per connection: a fixed second round keeps that share the same whatever the
     * warm-up.
     */
    int warmupRoundHandshakes(int round) {
        int second = Math.min(WARMUP_SECOND_ROUND, warmupHandshakes / 2);
        return round == 1 ? warmupHandshakes - second : second;
    }

    /**
     * A warm-up round: {@code handshakes} connections of this run's protocol to its servers, from
     * its source addresses, opened at {@value #WARMUP_RATE}/s, held 1 s and closed normally (a
     * Tether session ends with its 1000 close, a Socket.IO client disconnects first); no histogram log.
     */
    LoadOptions warmup(int handshakes) {
        return new LoadOptions(Scenario.HOLD, protocol, host, port, path, handshakes, WARMUP_RATE, messageRate, 1,
                graceSeconds, sourceIps, loops, handshakeTimeoutMs, 0, stormAfterSeconds, null, p99BoundMs, maxSteps,
                sourceIpOffset, 1, 1, null, targets, 0, false);
    }

    /**
     * Warm-up round {@code round} (1 or 2) of this run: {@link #warmup(int)}, except that a storm's
     * second round is a small storm of its own ({@code handshakes} subscribers, at most
     * {@value #WARMUP_STORM_PUBLISH_RATE} publishes a second for {@value #WARMUP_STORM_SECONDS} s, every
     * subscriber cut after 1 s, then closed normally), so that the run's reconnects and resumes
     * find the server's and the generator's reconnect path compiled, as they are on a server that
     * has been up for a while, where clients come and go. Without it a native storm's first resume
     * waited on the JIT (C2 a quarter of the server's samples in the storm's first seconds).
     */
    LoadOptions warmup(int handshakes, int round) {
        if (scenario != Scenario.STORM || round == 1) {
            return warmup(handshakes);
        }
        return new LoadOptions(Scenario.STORM, protocol, host, port, path, handshakes, WARMUP_RATE,
                Math.min(messageRate, WARMUP_STORM_PUBLISH_RATE), WARMUP_STORM_SECONDS, graceSeconds, sourceIps, loops,
                handshakeTimeoutMs, 0, 1, null, p99BoundMs, maxSteps, sourceIpOffset, 1, 1, null, targets, 0, false);
    }

    /** Connections the run opens: broadcast and storm add the publisher (run index 0). */
    int totalConnections() {
        return scenario.fanout() ? connections + 1 : connections;
    }

    /** Broadcast: how many subscribers stop reading (run indexes 1..this). */
    int stalledSubscribers() {
        return (int) Math.round(connections * stalledPercent / 100.0);
    }

    /** Publishes intended in the run: exactly {@code rate x seconds}. */
    long plannedPublishes() {
        return (long) messageRate * seconds;
    }

    /** Seconds the run is planned to take: ramp, hold or send, grace. */
    long plannedSeconds() {
        long ramp = (totalConnections() + connectRate - 1L) / connectRate;
        long after = scenario == Scenario.HOLD ? 0 : graceSeconds;
        if (scenario == Scenario.ECHO_SEARCH) {
            // Every step sends for --seconds and may wait --grace-seconds for its replies.
            long exchange = generators > 1 ? (maxSteps + 1L) * EchoSearch.PEER_WAIT_SECONDS : 0;
            return ramp + maxSteps * (seconds + graceSeconds + 1L) + exchange + handshakeTimeoutMs / 1000 + 5;
        }
        if (scenario.fanout()) {
            after += STALLED_DRAIN_SECONDS + handshakeTimeoutMs / 1000;
        }
        return ramp + seconds + after + handshakeTimeoutMs / 1000 + 5;
    }

    /** Planned duration plus {@value #HARD_DEADLINE_SLACK_SECONDS} s: no loop runs longer. */
    long hardDeadlineSeconds() {
        return plannedSeconds() + HARD_DEADLINE_SLACK_SECONDS;
    }

    /**
     * Parses {@code SCENARIO [--option value]...}.
     *
     * @throws IllegalArgumentException naming the option that is unknown, missing its value or invalid
     */
    static LoadOptions parse(String... args) {
        if (args.length == 0) {
            throw new IllegalArgumentException("missing scenario (hold, echo, echo-search, broadcast, storm, failover)");
        }
        Scenario scenario = Scenario.parse(args[0]);
        WireProtocol protocol = WireProtocol.TETHER;
        String host = "127.0.0.1";
        int port = 8080;
        String path = null;
        int connections = 100;
        int connectRate = 1000;
        int messageRate = 1000;
        int seconds = 10;
        int grace = 5;
        int sourceIps = 0;
        int loops = Runtime.getRuntime().availableProcessors() >= 2 ? 2 : 1;
        int handshakeTimeoutMs = 10_000;
        double stalledPercent = 0;
        int stormAfter = 3;
        String histogramLog = null;
        double p99BoundMs = 20;
        int maxSteps = 10;
        int sourceIpOffset = 0;
        int generators = 1;
        int generatorIndex = 1;
        String peerDir = null;
        List<InetSocketAddress> targets = List.of();
        int warmupHandshakes = 0;
        boolean awaitGo = false;
        for (int i = 1; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--await-go")) {
                awaitGo = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            String value = args[++i];
            switch (name) {
                case "--protocol" -> protocol = WireProtocol.parse(value);
                case "--host" -> host = value;
                case "--port" -> port = intValue(name, value);
                case "--path" -> path = value;
                case "--connections" -> connections = intValue(name, value);
                case "--rate" -> {
                    if (scenario == Scenario.HOLD) {
                        connectRate = intValue(name, value);
                    } else {
                        messageRate = intValue(name, value);
                    }
                }
                case "--publish-rate" -> messageRate = intValue(name, value);
                case "--stalled-percent" -> stalledPercent = doubleValue(name, value);
                case "--storm-after-seconds" -> stormAfter = intValue(name, value);
                case "--connect-rate" -> connectRate = intValue(name, value);
                case "--hold-seconds", "--seconds" -> seconds = intValue(name, value);
                case "--grace-seconds" -> grace = intValue(name, value);
                case "--source-ips" -> sourceIps = intValue(name, value);
                case "--loops" -> loops = intValue(name, value);
                case "--handshake-timeout-ms" -> handshakeTimeoutMs = intValue(name, value);
                case "--histogram-log" -> histogramLog = value;
                case "--p99-bound-ms" -> p99BoundMs = doubleValue(name, value);
                case "--max-steps" -> maxSteps = intValue(name, value);
                case "--source-ip-offset" -> sourceIpOffset = intValue(name, value);
                case "--generators" -> generators = intValue(name, value);
                case "--generator-index" -> generatorIndex = intValue(name, value);
                case "--peer-dir" -> peerDir = value;
                case "--targets" -> targets = targets(value);
                case "--warmup-handshakes" -> warmupHandshakes = intValue(name, value);
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (sourceIps == 0) {
            sourceIps = Math.max(1, (connections + 1 + CONNECTIONS_PER_SOURCE_IP - 1) / CONNECTIONS_PER_SOURCE_IP);
        }
        return new LoadOptions(scenario, protocol, address("--host", host), port, path == null ? protocol.defaultPath() : path,
                connections, connectRate, messageRate, seconds, grace, sourceIps, loops, handshakeTimeoutMs,
                stalledPercent, stormAfter, histogramLog, p99BoundMs, maxSteps, sourceIpOffset, generators,
                generatorIndex, peerDir, targets, warmupHandshakes, awaitGo);
    }

    /** {@code 127.0.0.1:8081,127.0.0.1:8082}: literal IPv4 addresses with ports, at least one. */
    private static List<InetSocketAddress> targets(String value) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String item : value.split(",")) {
            int colon = item.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--targets takes HOST:PORT,HOST:PORT,..., was " + value);
            }
            int port = intValue("--targets", item.substring(colon + 1));
            if (port <= 0 || port > 65_535) {
                throw new IllegalArgumentException("--targets: port out of range in " + item);
            }
            out.add(new InetSocketAddress(address("--targets", item.substring(0, colon).trim()), port));
        }
        return out;
    }

    private static void loopback(String name, InetAddress address) {
        if (!(address instanceof Inet4Address) || !address.isLoopbackAddress()) {
            throw new IllegalArgumentException(name + " must be in 127.0.0.0/8, was " + address.getHostAddress());
        }
    }

    private static InetAddress address(String name, String host) {
        // Literal addresses only: no name lookup may send the generator anywhere but loopback.
        if (!host.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException(name + " must be an IPv4 literal in 127.0.0.0/8, was " + host);
        }
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(name + " is not an address: " + host, e);
        }
    }

    private static int intValue(String name, String value) {
        try {
            return Integer.parseInt(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, was " + value, e);
        }
    }

    private static double doubleValue(String name, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, was " + value, e);
        }
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }
}
