package dev.tether.core;

/**
 * A snapshot of a hub's counters and gauges. Counters are totals since the hub started.
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
        long handlerErrors) {
}
