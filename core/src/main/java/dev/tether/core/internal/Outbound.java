package dev.tether.core.internal;

import dev.tether.core.spi.EncodedMessage;
import dev.tether.core.spi.OutboundFrame;

/**
 * One entry of a session's outbound queue. Immutable; a topic publish puts the same instance in
 * every subscriber's queue, so nothing here may depend on the session.
 */
final class Outbound {

    static final int RELIABLE = 0;
    static final int VOLATILE = 1;
    static final int CONTROL = 2;

    final int kind;
    final EncodedMessage message;
    final long requestId;
    final OutboundFrame control;
    /** The broker position of a clustered reliable entry (0 without a broker). */
    final long position;

    private Outbound(int kind, EncodedMessage message, long requestId, OutboundFrame control, long position) {
        this.kind = kind;
        this.message = message;
        this.requestId = requestId;
        this.control = control;
        this.position = position;
    }

    static Outbound reliable(EncodedMessage message, long requestId) {
        return new Outbound(RELIABLE, message, requestId, null, 0);
    }

    static Outbound reliable(EncodedMessage message, long requestId, long position) {
        return new Outbound(RELIABLE, message, requestId, null, position);
    }

    static Outbound volatileMessage(EncodedMessage message) {
        return new Outbound(VOLATILE, message, 0, null, 0);
    }

    static Outbound control(OutboundFrame frame) {
        return new Outbound(CONTROL, null, 0, frame, 0);
    }

    /** Bytes counted against the replay buffer's byte limit. */
    int sizeBytes() {
        return message == null ? 16 : message.sizeBytes() + 16;
    }
}
