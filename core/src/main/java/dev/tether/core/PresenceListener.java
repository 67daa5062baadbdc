package dev.tether.core;

/**
 * Hears sessions join and leave a topic; registered with {@link Tether#onPresence}.
 *
 * <p>Threading: called on the hub's handler executor ({@link TetherConfig#handlerExecutor()}),
 * never on an I/O thread or a broker thread (unless that executor is {@code Runnable::run},
 * which runs it on the thread that learned of the event: keep such a listener non-blocking).
 * Calls to one registration come one at a time, in the order the hub learned of the events. A
 * listener that throws is reported to {@link TetherConfig#errorHandler()} and counted in
 * {@link Stats#handlerErrors()}; later events still come.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface PresenceListener {

    /**
     * A session joined (subscribed to) or left {@code topic}.
     *
     * @param topic     the topic the listener was registered for
     * @param sessionId the session's id ({@link Session#id()})
     * @param principal the name of the session's principal
     * @param joined    {@code true} for a join, {@code false} for a leave
     */
    void onPresence(String topic, String sessionId, String principal, boolean joined);

    /**
     * Joins and leaves of {@code topic} may have been missed: the hub's stream from the broker
     * was interrupted (a reconnect), or the broker lost its data. Re-read
     * {@link Tether#presence(String)} to catch up. Never called without a broker. Default:
     * nothing.
     *
     * @param topic the topic the listener was registered for
     */
    default void onGap(String topic) {
    }
}
