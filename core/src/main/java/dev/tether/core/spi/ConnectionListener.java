package dev.tether.core.spi;

import java.nio.ByteBuffer;

/**
 * The engine's side of one connection, obtained from
 * {@link TransportHub#connect(TransportConnection, java.security.Principal)} and fed by
 * the transport.
 *
 * <p>Threading: every method is called on the connection's I/O thread, one at a time, in the
 * order events happened on the socket.
 *
 * @since 0.1.0
 */
public interface ConnectionListener {

    /**
     * One complete inbound WebSocket message. The engine reads {@code data} before returning and
     * keeps no reference to it.
     *
     * @param data   the message bytes (UTF-8 for text)
     * @param binary whether it arrived as a binary message
     */
    void onFrame(ByteBuffer data, boolean binary);

    /** The transport can take frames again after {@link TransportConnection#isWritable()} was false. */
    void onWritable();

    /**
     * The connection is gone: a close frame arrived, the socket failed or the connection was
     * closed locally. Called exactly once; no other method is called afterwards.
     *
     * @param code   the close code received or sent; 1006 when the socket died without one
     * @param reason the close reason, possibly empty
     */
    void onClosed(int code, String reason);
}
