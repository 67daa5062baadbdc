package dev.tether.core.spi;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One WebSocket message to write: a text or binary frame whose content is the concatenation of
 * {@link #parts()}.
 *
 * <p>Buffer ownership: the parts are read-only views the engine hands to the transport for the
 * duration of {@link TransportConnection#write(Frame)}. A part may be a view over bytes shared by
 * many connections (a topic publish encodes once), so the transport must read the parts and
 * never modify their content; it may consume their position. Once {@code write} returns, the
 * transport must not keep a reference to the parts; if it needs the bytes later it copies them.
 *
 * <p>Chains: a protocol message that spans several WebSocket messages (a Socket.IO packet with
 * binary attachments: one text message, then one binary message per attachment) is one frame
 * {@link #followedBy followed by} the others. {@link TransportConnection#write(Frame)} writes only
 * the frame it is given; whoever writes a chain writes {@link #next()} after it, in order, in the
 * same batch (the Socket.IO connection does; the native protocol never makes chains).
 *
 * @since 0.1.0
 */
public final class Frame {

    private final boolean binary;
    private final ByteBuffer[] parts;
    private final Frame next;

    private Frame(boolean binary, ByteBuffer[] parts, Frame next) {
        this.binary = binary;
        this.parts = Objects.requireNonNull(parts, "parts");
        this.next = next;
    }

    /**
     * A text frame; the parts together must be valid UTF-8.
     *
     * @param parts the content, in order
     * @return the frame
     */
    public static Frame text(ByteBuffer... parts) {
        return new Frame(false, parts, null);
    }

    /**
     * A binary frame.
     *
     * @param parts the content, in order
     * @return the frame
     */
    public static Frame binary(ByteBuffer... parts) {
        return new Frame(true, parts, null);
    }

    /** {@return whether this is a binary frame (otherwise text)} */
    public boolean binary() {
        return binary;
    }

    /** {@return the content, in order} The array itself must not be modified. */
    public ByteBuffer[] parts() {
        return parts;
    }

    /**
     * This frame followed by {@code following} (and the frames that follow it) as one chain.
     *
     * @param following the frame to write right after this one
     * @return a new frame with this one's content, then {@code following}
     * @throws IllegalStateException if this frame is already followed by another
     */
    public Frame followedBy(Frame following) {
        Objects.requireNonNull(following, "following");
        if (next != null) {
            throw new IllegalStateException("frame already has a successor");
        }
        return new Frame(binary, parts, following);
    }

    /** {@return the frame to write right after this one, or {@code null}} */
    public Frame next() {
        return next;
    }

    /** {@return the total remaining bytes over all parts} */
    public int length() {
        int n = 0;
        for (ByteBuffer part : parts) {
            n += part.remaining();
        }
        return n;
    }

    /**
     * A copy of the content in one array, for a transport that must keep the bytes past the
     * write (the parts may be shared with other deliveries and must not be kept). Leaves the
     * parts' positions unchanged.
     *
     * @return a new array with the content
     */
    public byte[] copyBytes() {
        byte[] bytes = new byte[length()];
        int at = 0;
        for (ByteBuffer part : parts) {
            int n = part.remaining();
            part.get(part.position(), bytes, at, n);
            at += n;
        }
        return bytes;
    }
}
