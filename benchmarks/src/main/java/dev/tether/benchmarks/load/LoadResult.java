package dev.tether.benchmarks.load;

import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What one run measured. Latencies in milliseconds; {@code handshake} from the start of the TCP
 * connect to Tether's {@code welcome} / Socket.IO's {@code 40}; {@code latency} (echo) from each
 * request's intended send time to its reply, so that a stalled generator or server shows up as
 * latency rather than as fewer samples.
 *
 * @param lost echo requests sent whose reply had not arrived at the end of the grace period
 * @param fanout broadcast and storm figures; null for hold and echo
 * @param search echo-search steps and the rate found; null for the other scenarios
 * @param problems why connections failed or were dropped, "reason xN; ..." ("none")
 */
record LoadResult(String scenario, String protocol, int connections, int sourceIps, int loops,
                  long attempted, long connected, long failed, long unexpectedDisconnects, long closedCleanly,
                  int connectRateTarget, double connectRateAchieved,
                  double handshakeP50Ms, double handshakeP99Ms, double handshakeMaxMs,
                  int seconds, int messageRateTarget, double messageRateAchieved,
                  long sent, long received, long replyErrors, long unsent, long lost,
                  long latencyCount, double latencyP50Ms, double latencyP90Ms, double latencyP99Ms,
                  double latencyP999Ms, double latencyMaxMs,
                  long pingsAnswered, long protocolErrors, double generatorCpuMs, boolean aborted,
                  Histogram latencyUs, FanoutResult fanout, EchoSearch.Result search, String problems) {

    static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    static double maxMs(Histogram h) {
        return h.getTotalCount() == 0 ? 0 : h.getMaxValue() / 1000.0;
    }

    /** One line of JSON (no nesting), the machine-readable summary. */
    String toJson() {
        StringBuilder b = new StringBuilder("{");
        field(b, "scenario", scenario);
        field(b, "protocol", protocol);
        field(b, "connections", connections);
        field(b, "sourceIps", sourceIps);
        field(b, "loops", loops);
        field(b, "attempted", attempted);
        field(b, "connected", connected);
        field(b, "failed", failed);
        field(b, "unexpectedDisconnects", unexpectedDisconnects);
        field(b, "closedCleanly", closedCleanly);
        field(b, "connectRateTarget", connectRateTarget);
        field(b, "connectRateAchieved", connectRateAchieved);
        field(b, "handshakeP50Ms", handshakeP50Ms);
        field(b, "handshakeP99Ms", handshakeP99Ms);
        field(b, "handshakeMaxMs", handshakeMaxMs);
        field(b, "seconds", seconds);
        if (scenario.equals("echo")) {
            field(b, "messageRateTarget", messageRateTarget);
            field(b, "messageRateAchieved", messageRateAchieved);
            field(b, "sent", sent);
            field(b, "received", received);
            field(b, "replyErrors", replyErrors);
            field(b, "unsent", unsent);
            field(b, "lost", lost);
            field(b, "latencyCount", latencyCount);
            field(b, "latencyP50Ms", latencyP50Ms);
            field(b, "latencyP90Ms", latencyP90Ms);
            field(b, "latencyP99Ms", latencyP99Ms);
            field(b, "latencyP999Ms", latencyP999Ms);
            field(b, "latencyMaxMs", latencyMaxMs);
        }
        if (fanout != null) {
            field(b, "unsent", unsent);
            fanout.json(b);
        }
        if (search != null) {
            search.json(b);
        }
        field(b, "pingsAnswered", pingsAnswered);
        field(b, "protocolErrors", protocolErrors);
        if (!"none".equals(problems)) {
            field(b, "problems", problems);
        }
        field(b, "generatorCpuMs", generatorCpuMs);
        field(b, "aborted", aborted);
        b.setLength(b.length() - 1);
        return b.append('}').toString();
    }

    /** The same figures for a reader. */
    String table() {
        StringBuilder b = new StringBuilder();
        row(b, "scenario / protocol", scenario + " / " + protocol);
        row(b, "connections (target)", fanout == null ? Integer.toString(connections)
                : connections + " subscribers + 1 publisher");
        row(b, "connected / failed", connected + " / " + failed);
        row(b, "unexpected disconnects", Long.toString(unexpectedDisconnects));
        row(b, "closed cleanly", Long.toString(closedCleanly));
        row(b, "connect rate target / achieved", connectRateTarget + " / " + fmt(connectRateAchieved) + " per s");
        row(b, "handshake p50 / p99 / max", fmt(handshakeP50Ms) + " / " + fmt(handshakeP99Ms) + " / "
                + fmt(handshakeMaxMs) + " ms");
        if (scenario.equals("echo")) {
            row(b, "echo rate target / achieved", messageRateTarget + " / " + fmt(messageRateAchieved) + " per s");
            row(b, "sent / received / lost", sent + " / " + received + " / " + lost);
            row(b, "reply errors / unsent", replyErrors + " / " + unsent);
            row(b, "latency p50 / p90 / p99", fmt(latencyP50Ms) + " / " + fmt(latencyP90Ms) + " / "
                    + fmt(latencyP99Ms) + " ms");
            row(b, "latency p99.9 / max", fmt(latencyP999Ms) + " / " + fmt(latencyMaxMs) + " ms");
        }
        if (fanout != null) {
            fanout.table(b);
            row(b, "unsent publishes", Long.toString(unsent));
        }

        row(b, "heartbeats answered", Long.toString(pingsAnswered));
        row(b, "protocol errors", Long.toString(protocolErrors));
        if (!"none".equals(problems)) {
            row(b, "failed / dropped because", problems);
        }
        row(b, "generator CPU (selector threads)", fmt(generatorCpuMs) + " ms");
        if (aborted) {
            row(b, "ABORTED", "hard deadline reached or a loop failed");
        }
        if (search != null) {
            search.table(b);
        }
        return b.toString();
    }

    static void row(StringBuilder b, String name, String value) {
        b.append(String.format(Locale.ROOT, "| %-32s | %-32s |%n", name, value));
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static void field(StringBuilder b, String name, Object value) {
        b.append('"').append(name).append("\":");
        if (value instanceof String s) {
            b.append('"').append(s).append('"');
        } else if (value instanceof Double d) {
            b.append(String.format(Locale.ROOT, "%.3f", d));
        } else {
            b.append(value);
        }
        b.append(',');
    }
}
