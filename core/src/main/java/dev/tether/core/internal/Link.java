package dev.tether.core.internal;

import dev.tether.core.CloseCodes;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.ProtocolException;
import dev.tether.core.spi.TransportConnection;
import java.nio.ByteBuffer;
import java.security.Principal;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The engine's view of one connection: the hello handshake, the heartbeat, and the routing of
 * frames to the session it is attached to.
 *
 * <p>Threading: all fields but {@link #slowConsumer} and the ack-pacing flags are owned by the
 * connection's I/O thread; timers hop onto it through {@link TransportConnection#execute(Runnable)}
 * (the heartbeat's own threading is described in {@link Heartbeat}).
 */
final class Link implements ConnectionListener, SessionLink, Heartbeat.Owner {

    private final Hub hub;
    private final TetherConfig config;
    final TransportConnection connection;
    private final Principal principal;

    private ServerSession session;
    private boolean closed;
    private boolean closing;
    /** Cluster: a hello's claim is under way; no other frame is expected before our welcome. */
    private boolean resuming;
    private boolean readsSuspended;
    /*
     * Ack pacing. ackOwed: client messages wait for our ack. ackTimerArmed: an ack-delay timeout
     * is pending. Both volatile because the timer thread reads them to skip a wake-up of the I/O
     * thread when the ack already went out on a reply. Written in opposite order on each side
     * (I/O thread: owed then armed; timer: armed then owed), so one of them always sees the other.
     */
    private volatile boolean ackTimerArmed;
    private volatile boolean ackOwed;
    /** Inbound rate limit; {@code null} when off. */
    private TokenBucket inboundRate;
    /** The highest client sequence number seen on this connection: it must only grow. */
    private long highestClientSeq;
    private HashedWheelTimer.Timeout helloTimer;
    /** Started when a session is attached; null before. */
    private Heartbeat heartbeat;
    private volatile boolean slowConsumer;

    Link(Hub hub, TransportConnection connection, Principal principal) {
        this.hub = hub;
        this.config = hub.config;
        this.connection = connection;
        this.principal = principal;
    }

    void start() {
        if (config.inboundMessagesPerSecond() > 0) {
            inboundRate = new TokenBucket(config.inboundMessagesPerSecond(), config.inboundBurst(), System.nanoTime());
        }
        helloTimer = hub.timer.schedule(() -> connection.execute(this::helloDeadline),
                config.helloTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void helloDeadline() {
        if (session == null && !closed) {
            fail(CloseCodes.HELLO_TIMEOUT, "no hello in time");
        }
    }

    @Override
    public TransportConnection connection() {
        return connection;
    }

    // ------------------------------------------------------------ ConnectionListener

    @Override
    public void onFrame(ByteBuffer data, boolean binary) {
        long now = System.nanoTime();
        if (heartbeat != null) {
            heartbeat.heard(now);
        }
        if (closing) {
            return;
        }
        if (inboundRate != null && !inboundRate.tryTake(now)) {
            hub.refused.increment();
            config.metrics().refused("rate limit");
            fail(CloseCodes.RATE_LIMITED, "inbound rate limit exceeded");
            return;
        }
        InboundFrame frame;
        try {
            frame = config.protocol().decode(data, binary);
        } catch (ProtocolException e) {
            fail(e.closeCode(), e.getMessage());
            return;
        } catch (RuntimeException e) {
            hub.config.errorHandler().onError("protocol.decode", e);
            fail(CloseCodes.BAD_REQUEST, "malformed frame");
            return;
        }
        if (session == null) {
            if (resuming) {
                fail(CloseCodes.BAD_REQUEST, "frame before welcome");
            } else if (frame instanceof InboundFrame.Hello hello) {
                onHello(hello);
            } else {
                fail(CloseCodes.BAD_REQUEST, "first frame must be hello");
            }
            return;
        }
        if (session.link == this) {
            session.onFrame(this, frame);
        }
        // Otherwise the session moved on (taken over) or is being handed to us: drop the frame;
        // a client resends what was not acknowledged.
    }

    @Override
    public void onWritable() {
        ServerSession s = session;
        if (s != null && s.link == this) {
            s.scheduleDrain();
        }
    }

    @Override
    public void onClosed(int code, String reason) {
        if (closed) {
            return;
        }
        boolean clientEnded = code == CloseCodes.NORMAL && !closing;
        closed = true;
        closing = true;
        cancel(helloTimer);
        if (heartbeat != null) {
            heartbeat.cancel();
        }
        hub.linkClosed(this, code);
        if (session != null && session.link == this && clientEnded) {
            // A normal close by the client means it is done: free the session now.
            session.end(CloseCodes.NORMAL, "closed by client", false, false);
        } else if (session != null) {
            session.detach(this);
        }
    }

    // ------------------------------------------------------------ handshake

    private void onHello(InboundFrame.Hello hello) {
        cancel(helloTimer);
        if (hub.isClosed()) {
            fail(CloseCodes.SERVER_RESTART, "server shutting down");
            return;
        }
        if (hello.sessionId() == null) {
            session = hub.newSession(principal);
            session.attachNew(this, null, null);
            return;
        }
        if (hub.cluster != null) {
            resumeFromBroker(hello);
            return;
        }
        ServerSession existing = hub.findSession(hello.sessionId());
        if (existing != null && !existing.isClosed()) {
            if (!existing.tokenMatches(hello.resumeToken())
                    || !existing.principal().getName().equals(principal.getName())) {
                hub.refused.increment();
                config.metrics().refused("resume");
                fail(CloseCodes.FORBIDDEN, "resume refused");
                return;
            }
            session = existing;
            int outcome = existing.beginResume(this, hello.lastSeq(), hello.attempt());
            if (outcome == ServerSession.RESUMING) {
                return;
            }
            if (outcome == ServerSession.STALE) {
                session = null;
                fail(CloseCodes.SESSION_TAKEN_OVER, "stale resume");
                return;
            }
        }
        String why = existing == null ? hub.whyMissing(hello.sessionId()) : "ended";
        if (why.equals("ended")) {
            session = null;
            fail(CloseCodes.SESSION_CLOSED, "session ended");
            return;
        }
        // Expired, or unknown (another server, or this one restarted): a new session, and the client is told.
        hub.gaps.increment();
        config.metrics().gapReported();
        session = hub.newSession(principal);
        session.attachNew(this, hello.sessionId(), why);
    }

    /**
     * Cluster: every resume goes through the broker, which holds the session's record and the
     * history it needs wherever the session was before ({@link BrokerResume}). Frames the client
     * sends before our welcome are not expected (PROTOCOL.md §3) and are refused as before a hello.
     */
    private void resumeFromBroker(InboundFrame.Hello hello) {
        resuming = true;
        BrokerResume.Request request = new BrokerResume.Request(hello.sessionId(), hello.resumeToken(), principal,
                hello.lastSeq(), config.protocol(), hub.handler, false);
        BrokerResume.start(hub, this, request, new BrokerResume.Outcome() {
            @Override
            public void claimed(ServerSession claimed) {
                resuming = false;
                session = claimed;
            }

            @Override
            public void failed(int why, String reason) {
                resuming = false;
                switch (why) {
                    case BrokerResume.ENDED -> fail(CloseCodes.SESSION_CLOSED, reason);
                    case BrokerResume.FORBIDDEN -> refuseResume();
                    case BrokerResume.LOST -> startOver(hello.sessionId(), reason);
                    case BrokerResume.OUT_OF_RANGE -> fail(CloseCodes.INVALID_SEQUENCE, reason);
                    default -> fail(CloseCodes.TRY_AGAIN_LATER, reason);
                }
            }
        });
    }

    private void refuseResume() {
        hub.refused.increment();
        config.metrics().refused("resume");
        fail(CloseCodes.FORBIDDEN, "resume refused");
    }

    /** A resume that cannot be honoured: a new session, and the client is told why. */
    private void startOver(String previousId, String why) {
        hub.gaps.increment();
        config.metrics().gapReported();
        session = hub.newSession(principal);
        session.attachNew(this, previousId, why);
    }

    @Override
    public void clientSeqDurable() {
        if (!closing && session != null && session.link == this && session.hasUnackedClientMessages()) {
            writeAck();
            connection.flush();
        }
    }

    /** The session is now attached to this link (on this link's I/O thread). */
    @Override
    public void attached() {
        if (heartbeat == null) {
            long interval = config.heartbeatInterval().toNanos();
            // A random first delay spreads the pings of connections that arrived together.
            long first = interval / 2 + ThreadLocalRandom.current().nextLong(interval / 2 + 1);
            heartbeat = new Heartbeat(hub.timer, connection, config.heartbeatInterval(), config.heartbeatTimeout(), this);
            heartbeat.start(first);
        }
        session.scheduleDrain();
    }

    // ------------------------------------------------------------ heartbeat and acks

    @Override
    public boolean sendPing() {
        if (closing) {
            return false;
        }
        long ack = 0;
        if (session.link == this) {
            ack = session.takeClientAck();
            ackOwed = false;
        }
        writeControl(new OutboundFrame.Ping(ack));
        return true;
    }

    @Override
    public void timedOut() {
        fail(CloseCodes.HEARTBEAT_TIMEOUT, "heartbeat timeout");
    }

    /**
     * Whether {@code seq} moves forward on this connection. A client may resend what the server
     * already processed (after a resume), but never goes back on one connection.
     */
    @Override
    public boolean acceptClientSeq(long seq) {
        if (seq <= highestClientSeq) {
            return false;
        }
        highestClientSeq = seq;
        return true;
    }

    /** A reliable client message was accepted; {@code unacked} are now waiting for our ack. */
    @Override
    public void clientMessageAccepted(long unacked) {
        if (unacked >= config.ackEvery()) {
            writeAck();
            connection.flush();
            return;
        }
        ackOwed = true;
        if (!ackTimerArmed) {
            ackTimerArmed = true;
            hub.timer.schedule(this::ackTimerFired, config.ackDelay().toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** Timer thread. Most acks leave with a reply before the delay: then nothing is left to do. */
    private void ackTimerFired() {
        ackTimerArmed = false;
        if (ackOwed) {
            connection.execute(this::ackDeadline);
        }
    }

    private void ackDeadline() {
        if (!closing && session.link == this && session.hasUnackedClientMessages()) {
            writeAck();
            connection.flush();
        }
    }

    /**
     * Adds the owed ack to a drain's batch, so it leaves with the same flush instead of its own
     * write and wake-up later. I/O thread, while this link is attached.
     */
    @Override
    public void piggybackAck() {
        if (ackOwed && session.hasUnackedClientMessages()) {
            writeAck();
        }
    }

    /** Writes our cumulative ack, unflushed; nothing is owed afterwards. */
    private void writeAck() {
        ackOwed = false;
        connection.write(config.protocol().frame(new OutboundFrame.Ack(session.takeClientAck())));
    }

    // ------------------------------------------------------------ writes and closes

    /** Writes a control frame and flushes. I/O thread only. */
    @Override
    public void writeControl(OutboundFrame frame) {
        if (!closing) {
            connection.write(config.protocol().frame(frame));
            connection.flush();
        }
    }

    /** Closes this connection for a reason of its own making. I/O thread only. */
    @Override
    public void fail(int code, String reason) {
        if (closing) {
            return;
        }
        closing = true;
        if (code == CloseCodes.BAD_REQUEST || code == CloseCodes.INVALID_SEQUENCE) {
            hub.protocolErrors.increment();
        }
        connection.close(code, reason);
    }

    /** The hub is draining: tell the client when to come back. I/O thread only. */
    void announceReconnect(long afterMs) {
        writeControl(new OutboundFrame.Reconnect(afterMs));
    }

    /** Another connection resumed our session. Any thread. */
    @Override
    public void takenOver() {
        connection.execute(() -> fail(CloseCodes.SESSION_TAKEN_OVER, "session taken over"));
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
    public void suspendReads() {
        if (!readsSuspended && !closed) {
            readsSuspended = true;
            connection.suspendReads();
        }
    }

    @Override
    public void resumeReads() {
        if (readsSuspended && !closed) {
            readsSuspended = false;
            connection.resumeReads();
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    private static void cancel(HashedWheelTimer.Timeout t) {
        if (t != null) {
            t.cancel();
        }
    }
}
