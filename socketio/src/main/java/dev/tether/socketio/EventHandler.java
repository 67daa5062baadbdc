package dev.tether.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * Handles one client event, like {@code socket.on("event", (...args, callback) => ...)}.
 *
 * <p>Threading: runs on the hub's handler executor, never on an I/O thread; one socket's
 * handlers run one at a time, in arrival order. A handler that throws is reported to the hub's
 * error handler; the socket carries on.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface EventHandler {

    /**
     * @param args the event's arguments; a binary attachment is a
     *             {@link com.fasterxml.jackson.databind.node.BinaryNode}
     * @param ack  answers the client's acknowledgement callback, if it passed one
     *             ({@link Ack#requested()}); otherwise a no-op
     */
    void onEvent(List<JsonNode> args, Ack ack);
}
