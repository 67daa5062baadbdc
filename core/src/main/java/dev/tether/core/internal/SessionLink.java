package dev.tether.core.internal;

import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.TransportConnection;

/**
 * The connection side of an attached {@link ServerSession}: what the session needs from the wire
 * protocol's per-connection state machine. The native protocol's is {@link Link} (hello,
 * heartbeat, ack pacing); the Socket.IO one lives in {@code dev.tether.socketio.internal}.
 * Public only so that that package can implement it; not an API.
 *
 * <p>Threading: every method but {@link #takenOver()} and {@link #markSlowConsumer()} is called
 * on the I/O thread of {@link #connection()}.
 */
public interface SessionLink {

    /** The transport the session writes to and drains on. */
    TransportConnection connection();

    /** The session is attached to this link now (a new session, or a resume that completed). */
    void attached();

    /** The protocol version this connection speaks, for the welcome. Default 1. */
    default int protocolVersion() {
        return 1;
    }

    /** Called before a drain's flush: add an owed acknowledgement to the batch, if any. */
    void piggybackAck();

    /** Closes the connection for a reason of the link's own making. Idempotent. */
    void fail(int code, String reason);

    /** Marks the link as closed for a slow consumer; false if it already was. Any thread. */
    boolean markSlowConsumer();

    /** Writes a control frame and flushes. */
    void writeControl(OutboundFrame frame);

    /** Whether a client sequence number moves forward on this connection. */
    boolean acceptClientSeq(long seq);

    /** A reliable client message was accepted; {@code unacked} now wait for the server's ack. */
    void clientMessageAccepted(long unacked);

    /** Cluster: the broker recorded more client messages; write an ack if one is owed. */
    default void clientSeqDurable() {
    }

    /** Another connection resumed the session. Any thread. */
    void takenOver();

    /** Whether the transport has closed. */
    boolean isClosed();

    /** Stops reading (handler backpressure). */
    void suspendReads();

    /** Resumes reading. */
    void resumeReads();

    /**
     * A resume of {@code session} by this link cannot be honoured (ack-less sessions only: what the
     * client missed is no longer all in the replay buffer, or the offset is out of range). The
     * session is detached again; the link decides what the client gets instead.
     */
    default void resumeImpossible(ServerSession session) {
        fail(dev.tether.core.CloseCodes.INVALID_SEQUENCE, "resume impossible");
    }
}
