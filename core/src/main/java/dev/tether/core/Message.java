package dev.tether.core;

import java.util.Objects;

/**
 * An application message: an event name and a payload, the shape Socket.IO users know.
 *
 * @param event   the event name, never empty
 * @param payload the content
 * @param topic   the topic it was published to, or {@code null} for a direct message
 * @since 0.1.0
 */
public record Message(String event, Payload payload, String topic) {

    /**
     * Validates the components.
     *
     * @param event the event name, never empty
     * @param payload the content
     * @param topic the topic it was published to, or {@code null} for a direct message
     * @throws NullPointerException if {@code event} or {@code payload} is null
     * @throws IllegalArgumentException if {@code event} is empty
     */
    public Message {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(payload, "payload");
        if (event.isEmpty()) {
            throw new IllegalArgumentException("event must not be empty");
        }
    }

    /**
     * A direct message.
     *
     * @param event the event name, never empty
     * @param payload the content
     */
    public Message(String event, Payload payload) {
        this(event, payload, null);
    }
}
