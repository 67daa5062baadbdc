package dev.tether.core;

/**
 * A snapshot of a hub's counters and gauges on this node. Counters are totals since the hub
 * started. Taking one costs the same whatever the number of connections and sessions: every
 * field is kept as its events happen. Fields are read one after the other, not atomically
 * together.
 *
 * @param connections        gauge: connections attached now
 * @param sessions           gauge: sessions alive now (connected or detached)
 * @param topics             gauge: topics with at least one subscriber
 * @param queued             gauge: messages waiting in outbound queues
 * @param pendingAcks        gauge: reliable messages sent and not yet acknowledged
 * @param messagesIn         counter: application messages received from clients
 * @param messagesOut        counter: application messages written to connections
 * @param duplicatesIn       counter: client messages dropped as duplicates (resends)
 * @param volatileDropped    counter: volatile messages dropped under backpressure
 * @param reliableOverflowed counter: reliable messages that did not fit a queue (reported as gaps)
 * @param replayed           counter: messages replayed after a resume
 * @param resumed            counter: sessions resumed
 * @param gaps               counter: gaps reported to clients: overflow gaps (in a live stream
 *                           or at a resume) and resumes of sessions that were gone
 * @param slowConsumerCloses counter: connections closed as slow consumers
 * @param protocolErrors     counter: connections closed by the engine for malformed frames or
 *                           impossible sequence numbers (4500, 4505); WebSocket-level errors
 *                           (1002, 1007, 1009) are closed by the transport and not counted here
 * @param refused            counter: admissions refused (503), resumes refused (4501),
 *                           subscribes and publishes refused, and rate-limit closes (4008);
 *                           authentication and Origin refusals go to
 *                           {@link dev.tether.core.spi.MetricsListener#refused(String)} only
 * @param handlerErrors      counter: handler callbacks that threw
 * @param oldestUnackedMs    gauge: how long the oldest reliable message written to a client and
 *                           not yet acknowledged has waited, in whole seconds (expressed in
 *                           milliseconds, rounded down); 0 when nothing waits. Sessions without
 *                           acknowledgements (Socket.IO) do not count, as for {@code pendingAcks};
 *                           detached sessions do, until they expire. Past about 17 minutes
 *                           (1024 s) the value may stay at 1024 s while the message waits longer
 *                           (the engine keeps a count per second of write time in a ring of that
 *                           length)
 * @since 0.1.0
 */
public record Stats(
        long connections,
        long sessions,
        long topics,
        long queued,
        long pendingAcks,
        long messagesIn,
        long messagesOut,
        long duplicatesIn,
        long volatileDropped,
        long reliableOverflowed,
        long replayed,
        long resumed,
        long gaps,
        long slowConsumerCloses,
        long protocolErrors,
        long refused,
        long handlerErrors,
        long oldestUnackedMs) {
}
