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
 * @param gaps               counter: resumes that reported a gap or a lost session
 * @param slowConsumerCloses counter: connections closed as slow consumers
 * @param protocolErrors     counter: connections closed for bad input
 * @param refused            counter: handshakes, subscribes and publishes refused
 * @param handlerErrors      counter: handler callbacks that threw
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
