package dev.tether.core.spi;

import dev.tether.core.Payload;
import java.nio.ByteBuffer;

/**
 * A wire protocol: turns WebSocket frames into {@link InboundFrame}s and the engine's outbound
 * messages into {@link Frame}s. The native JSON protocol is the default (see PROTOCOL.md).
 *
 * <p>Threading: implementations are stateless and thread-safe. {@link #decode} and
 * {@link #frame} run on I/O threads and must not block; {@link #encode} runs on the publishing
 * thread.
 *
 * @since 0.1.0
 */
public interface Protocol {

    /** {@return a short name for logs, e.g. {@code "tether-json/1"}} {@code "tether-json/1"}. */
    String name();

    /**
     * Decodes one inbound WebSocket message. Reads {@code data} fully and keeps no reference to it.
     *
     * @param data the message's content
     * @param binary whether it came in a binary frame
     * @return the frame
     * @throws ProtocolException for malformed input; the connection is closed with its code
     */
    InboundFrame decode(ByteBuffer data, boolean binary) throws ProtocolException;

    /**
     * Encodes the session-independent part of an application message once.
     *
     * @param event   event name
     * @param payload content
     * @param topic   topic it is published to, or {@code null}
     * @return the encoded message, to frame for each session
     */
    EncodedMessage encode(String event, Payload payload, String topic);

    /**
     * Frames an encoded message for one session. Must share the bytes of {@code message} rather
     * than copy them (at most a small per-delivery header is allocated).
     *
     * @param seq       the session's sequence number, or 0 for a volatile message
     * @param requestId non-zero when the server expects a reply with this id
     * @param message   made by this protocol's {@link #encode}
     * @return the frame to write
     */
    Frame frame(long seq, long requestId, EncodedMessage message);

    /**
     * As {@link #frame(long, long, EncodedMessage)}, with the message's cluster position for a
     * protocol that carries it (the native protocol from version 3, PROTOCOL.md §13); the
     * default leaves it out.
     *
     * @param seq       the session's sequence number, or 0 for a volatile message
     * @param requestId non-zero when the server expects a reply with this id
     * @param position  the broker position of a clustered reliable message, or 0 for none
     * @param message   made by this protocol's {@link #encode}
     * @return the frame to write
     */
    default Frame frame(long seq, long requestId, long position, EncodedMessage message) {
        return frame(seq, requestId, message);
    }

    /**
     * Encodes a control frame.
     *
     * @param frame the control frame
     * @return the frame to write
     */
    Frame frame(OutboundFrame frame);
}
