package dev.tether.core.spi;

import java.net.InetSocketAddress;

/**
 * One live WebSocket, as a transport exposes it to the engine. The engine owns the session;
 * the transport owns the socket.
 *
 * <p>Threading: each connection has one I/O thread. {@link #write(Frame)}, {@link #flush()},
 * {@link #isWritable()}, {@link #suspendReads()} and {@link #resumeReads()} are called only on
 * that thread. {@link #execute(Runnable)}, {@link #close(int, String)} and
 * {@link #remoteAddress()} may be called from any thread.
 *
 * @since 0.1.0
 */
public interface TransportConnection {

    /**
     * Queues one frame for writing without flushing. See {@link Frame} for buffer ownership.
     *
     * @param frame the frame
     * @return {@code false} if the connection is closed and the frame was not accepted
     */
    boolean write(Frame frame);

    /** Writes what {@link #write(Frame)} queued to the socket, as few system calls as it can. */
    void flush();

    /**
     * Tells whether the transport can take more frames now. When this returns {@code false} the
     * engine stops draining until the transport calls {@link ConnectionListener#onWritable()}.
     *
     * @return whether the transport can take more frames now
     */
    boolean isWritable();

    /** Stops reading from the socket (inbound backpressure) until {@link #resumeReads()}. */
    void suspendReads();

    /** Resumes reading after {@link #suspendReads()}. */
    void resumeReads();

    /**
     * Runs {@code task} on this connection's I/O thread, after tasks submitted before it. Never
     * blocks. Must keep working after the connection closed, for as long as the transport runs:
     * the engine hands session state between I/O threads through it.
     *
     * @param task the task
     */
    void execute(Runnable task);

    /** {@return whether the current thread is this connection's I/O thread} */
    boolean inIoThread();

    /**
     * Flushes what is queued, sends a close frame with {@code code} and {@code reason}, and closes
     * the socket. Idempotent; any thread. The transport reports the end through
     * {@link ConnectionListener#onClosed(int, String)}.
     *
     * @param code the close code
     * @param reason the close reason, at most 123 bytes of UTF-8
     */
    void close(int code, String reason);

    /** {@return the peer's address, for logs and limits} */
    InetSocketAddress remoteAddress();
}
