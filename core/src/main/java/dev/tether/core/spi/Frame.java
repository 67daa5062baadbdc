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
 */
public final class Frame {

    private final boolean binary;
    private final ByteBuffer[] parts;

    private Frame(boolean binary, ByteBuffer[] parts) {
        this.binary = binary;
        this.parts = Objects.requireNonNull(parts, "parts");
    }

    /** A text frame; the parts together must be valid UTF-8. */
    public static Frame text(ByteBuffer... parts) {
        return new Frame(false, parts);
    }

    /** A binary frame. */
    public static Frame binary(ByteBuffer... parts) {
        return new Frame(true, parts);
    }

    /** Whether this is a binary frame (otherwise text). */
    public boolean binary() {
        return binary;
    }

    /** The content, in order. The array itself must not be modified. */
    public ByteBuffer[] parts() {
        return parts;
    }

    /** Total remaining bytes over all parts. */
    public int length() {
        int n = 0;
        for (ByteBuffer part : parts) {
            n += part.remaining();
        }
        return n;
    }
}
