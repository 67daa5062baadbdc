package dev.tether.benchmarks.load;

import java.util.Locale;

/** What a run does once its connections are open. */
enum Scenario {
    /** Open the connections at a fixed rate, hold them with heartbeats answered, close them. */
    HOLD,
    /** Open the connections, then send echo requests open-loop at a fixed total rate. */
    ECHO,
    /**
     * Open the connections once, then echo steps at rising rates, each with fresh histograms, to find
     * the highest rate whose p99 stays under a bound ({@link EchoSearch}).
     */
    ECHO_SEARCH,
    /** N subscribers on one topic and one publisher at a fixed rate; per-delivery latency, completion, loss. */
    BROADCAST,
    /**
     * As broadcast, but every subscriber is cut at once and comes back: Tether's resume, or
     * Socket.IO's reconnect with a fresh session (what was published meanwhile is lost).
     */
    STORM,
    /**
     * As broadcast over several servers ({@code --targets}), but a subscriber whose connection is
     * lost during the run (its server was killed) resumes its session on the next server of the list,
     * with the storm's backoff; what it missed must be replayed, nothing lost or duplicated.
     */
    FAILOVER;

    /** Sends echo requests open-loop ({@code echo}, {@code echo-search}). */
    boolean echoes() {
        return this == ECHO || this == ECHO_SEARCH;
    }

    /** A publisher connection plus subscribers. */
    boolean fanout() {
        return this == BROADCAST || this == STORM || this == FAILOVER;
    }

    /** Subscribers come back after losing their connection and their resumes are timed. */
    boolean resumes() {
        return this == STORM || this == FAILOVER;
    }

    static Scenario parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown scenario '" + name
                    + "' (hold, echo, echo-search, broadcast, storm, failover)", e);
        }
    }

    String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
