package dev.tether.core.spi.engine;

import dev.tether.core.CloseCodes;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.TransportConnection;

/**
 * The connection side of an attached {@link EngineSession}: what the session needs from a wire
 * protocol's per-connection state machine. The native protocol's lives in the engine (hello,
 * heartbeat, ack pacing); Socket.IO's in {@code tether-socketio} (one link per namespace socket).
 *
 * <p>Threading: every method but {@link #takenOver()} and {@link #markSlowConsumer()} is called
 * on the I/O thread of {@link #connection()}.
 *
 * @since 0.1.0
 */
public interface SessionLink {

    /**
     * The transport the session writes to and drains on.
     *
     * @return the transport, the same for the link's whole life
     */
    TransportConnection connection();

    /** The session is attached to this link now (a new session, or a resume that completed). */
    void attached();

    /**
     * The protocol version this connection speaks, for the welcome.
     *
     * @return the version; 1 unless the protocol negotiated another
     */
    default int protocolVersion() {
        return 1;
    }

    /** Called before a drain's flush: add an owed acknowledgement to the batch, if any. */
    void piggybackAck();

    /**
     * Closes the connection for a reason of the link's own making. Idempotent.
     *
     * @param code   the close code ({@link CloseCodes})
     * @param reason the close reason for the client
     */
    void fail(int code, String reason);

    /**
     * Marks the link as closed for a slow consumer. Any thread.
     *
     * @return false if it already was
     */
    boolean markSlowConsumer();

    /**
     * Writes a control frame and flushes.
     *
     * @param frame the frame, encoded with the session's protocol
     */
    void writeControl(OutboundFrame frame);

    /**
     * Whether a client sequence number moves forward on this connection.
     *
     * @param seq the sequence number of a reliable client message
     * @return false if the session must refuse it
     */
    boolean acceptClientSeq(long seq);

    /**
     * A reliable client message was accepted.
     *
     * @param unacked how many client messages now wait for the server's acknowledgement
     */
    void clientMessageAccepted(long unacked);

    /** Cluster: the broker recorded more client messages; write an ack if one is owed. */
    default void clientSeqDurable() {
    }

    /** Another connection resumed the session. Any thread. */
    void takenOver();

    /**
     * Whether the transport has closed.
     *
     * @return true once the link can no longer write
     */
    boolean isClosed();

    /** Stops reading (handler backpressure). */
    void suspendReads();

    /** Resumes reading. */
    void resumeReads();

    /**
     * A resume of {@code session} by this link cannot be honoured (ack-less sessions only: what the
     * client missed is no longer all in the replay buffer, or the offset is out of range). The
     * session is detached again; the link decides what the client gets instead. By default the
     * connection is closed with {@link CloseCodes#INVALID_SEQUENCE}.
     *
     * @param session the session the link tried to resume
     */
    default void resumeImpossible(EngineSession session) {
        fail(CloseCodes.INVALID_SEQUENCE, "resume impossible");
    }
}
