package dev.tether.socketio;

import dev.tether.core.Session;
import java.util.Objects;

/**
 * A broadcast to the sockets of one room (or of a whole namespace), optionally except one socket:
 * {@code io.to("room").emit(...)}, {@code socket.broadcast().emit(...)}. The event is encoded
 * once and the bytes shared by every recipient's queue. Immutable; any thread.
 *
 * @since 0.1.0
 */
public final class BroadcastOperator {

    private final Namespace namespace;
    private final String topic;
    private final Session except;

    BroadcastOperator(Namespace namespace, String topic, Session except) {
        this.namespace = namespace;
        this.topic = topic;
        this.except = except;
    }

    /**
     * Emits a reliable event (replayed on recovery) to every socket of the room but the excepted one.
     * On a clustered hub it goes through the broker to the sockets of every node, the excepted
     * one left out wherever it is connected.
     *
     * @param event the event name, not empty
     * @param args the arguments, as for {@link Socket#emit}
     * @return how many sockets it was queued for; 0 on a clustered hub, where each node queues
     *     it for its own sockets later
     */
    public int emit(String event, Object... args) {
        return namespace.hub().publish(topic, checkEvent(event), namespace.arguments().payload(args), false, except);
    }

    /**
     * Emits a volatile event: dropped for sockets that are backed up or disconnected.
     *
     * @param event the event name, not empty
     * @param args the arguments, as for {@link Socket#emit}
     * @return how many sockets it was queued for; 0 on a clustered hub
     */
    public int emitVolatile(String event, Object... args) {
        return namespace.hub().publish(topic, checkEvent(event), namespace.arguments().payload(args), true, except);
    }

    static String checkEvent(String event) {
        if (Objects.requireNonNull(event, "event").isEmpty()) {
            throw new IllegalArgumentException("event must not be empty");
        }
        return event;
    }
}
