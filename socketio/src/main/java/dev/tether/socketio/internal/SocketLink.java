package dev.tether.socketio.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.spi.engine.EngineSession;
import dev.tether.core.spi.engine.SessionLink;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.TransportConnection;
import java.security.Principal;

/**
 * One Socket.IO socket: one namespace on one {@link EngineIoConnection}, the link its session is
 * attached to. Socket.IO clients send no sequence numbers and no acknowledgements, so the
 * sequence and ack hooks do nothing; the heartbeat belongs to the Engine.IO connection.
 *
 * <p>Threading: as {@link SessionLink}: the Engine.IO connection's I/O thread, except
 * {@link #takenOver()}, {@link #markSlowConsumer()} and {@link #disconnect()}.
 */
public final class SocketLink implements SessionLink {

    final EngineIoConnection engine;
    final NamespaceEndpoint endpoint;
    final Principal principal;
    final ObjectNode auth;
    private EngineSession session;
    private SocketEndpoint socket;
    /** A recovery is under way: the next {@link #attached()} completes it. */
    private boolean recovering;
    private volatile boolean slowConsumer;
    /** The socket's attachment ended (transport, disconnect or takeover); told once. */
    private boolean detached;

    SocketLink(EngineIoConnection engine, NamespaceEndpoint endpoint, Principal principal, ObjectNode auth) {
        this.engine = engine;
        this.endpoint = endpoint;
        this.principal = principal;
        this.auth = auth;
    }

    void bind(EngineSession s, SocketEndpoint endpointSocket, boolean recovery) {
        this.session = s;
        this.socket = endpointSocket;
        this.recovering = recovery;
    }

    /** The session this socket is attached to now. */
    public EngineSession session() {
        return session;
    }

    // ------------------------------------------------------------ SessionLink

    @Override
    public TransportConnection connection() {
        return engine.out;
    }

    @Override
    public void attached() {
        if (recovering) {
            recovering = false;
            socket.recovered(this);
        }
        session.scheduleDrain();
    }

    @Override
    public void resumeImpossible(EngineSession old) {
        // What the client missed is gone (evicted, overflowed, or the offset is not ours): the
        // old session ends, and the client gets a new one and sees recovered === false.
        recovering = false;
        old.end(CloseCodes.SESSION_CLOSED, "not recoverable", false, false);
        if (!engine.isClosing()) {
            engine.openSocket(this);
        }
    }

    @Override
    public void piggybackAck() {
        // Socket.IO has no acknowledgements of events.
    }

    @Override
    public void fail(int code, String reason) {
        engine.fail(code, reason);
    }

    @Override
    public boolean markSlowConsumer() {
        if (slowConsumer) {
            return false;
        }
        slowConsumer = true;
        return true;
    }

    @Override
    public void writeControl(OutboundFrame frame) {
        engine.writeNow(session.protocol().frame(frame));
    }

    @Override
    public boolean acceptClientSeq(long seq) {
        return true;
    }

    @Override
    public void clientMessageAccepted(long unacked) {
        // never called: Socket.IO client messages carry no sequence number
    }

    @Override
    public void takenOver() {
        engine.out.execute(() -> {
            engine.remove(this);
            engine.writeNow(endpoint.protocol().disconnect());
            tellDetached("server namespace disconnect");
        });
    }

    /** Whether the transport closed, or this socket left its namespace (disconnected or taken over). */
    @Override
    public boolean isClosed() {
        return engine.closed || !engine.holds(this);
    }

    @Override
    public void suspendReads() {
        engine.suspendReads();
    }

    @Override
    public void resumeReads() {
        engine.resumeReads();
    }

    // ------------------------------------------------------------ from the Engine.IO connection

    void deliver(InboundFrame frame) {
        EngineSession s = session;
        if (s != null && s.isAttachedTo(this)) {
            s.onFrame(this, frame);
        }
        // Otherwise the socket is still being recovered: Socket.IO delivers at most once anyway.
    }

    void writable() {
        EngineSession s = session;
        if (s != null && s.isAttachedTo(this)) {
            s.scheduleDrain();
        }
    }

    /** The client sent DISCONNECT for this namespace: the socket ends (no recovery, as in Socket.IO). */
    void clientDisconnected() {
        // Ended first: whoever hears of the disconnect finds the socket's session over.
        if (session != null) {
            session.end(CloseCodes.NORMAL, "client namespace disconnect", false, false);
        }
        tellDetached("client namespace disconnect");
    }

    /** The transport closed: the session stays for the retention window (recovery). */
    void transportClosed(String reason) {
        // Detached first: a disconnect listener finds the socket no longer connected.
        if (session != null) {
            session.detach(this);
        }
        tellDetached(reason);
    }

    /** The server disconnects this socket. Any thread. */
    public void disconnect() {
        engine.out.execute(() -> {
            engine.remove(this);
            engine.writeNow(endpoint.protocol().disconnect());
            if (session != null) {
                session.end(CloseCodes.NORMAL, "server namespace disconnect", false, false);
            }
            tellDetached("server namespace disconnect");
        });
    }

    private void tellDetached(String reason) {
        if (!detached && socket != null) {
            detached = true;
            socket.detached(reason);
        }
    }
}
