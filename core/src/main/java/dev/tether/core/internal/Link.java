package dev.tether.core.internal;

import dev.tether.core.spi.engine.AuthAnswers;
import dev.tether.core.spi.engine.EngineConnection;
import dev.tether.core.spi.engine.Heartbeat;
import dev.tether.core.spi.engine.SessionLink;
import dev.tether.core.spi.engine.TokenBucket;
import dev.tether.core.CloseCodes;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.ProtocolException;
import dev.tether.core.spi.TransportConnection;
import java.nio.ByteBuffer;
import java.security.Principal;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The engine's view of one connection: the hello handshake, the heartbeat, the credentials the
 * connection was accepted with (their expiry and refresh, PROTOCOL.md §12), and the routing of
 * frames to the session it is attached to.
 *
 * <p>Threading: all fields but {@link #slowConsumer} and the ack-pacing flags are owned by the
 * connection's I/O thread; timers hop onto it through {@link TransportConnection#execute(Runnable)}
 * (the heartbeat's own threading is described in {@link Heartbeat}).
 */
final class Link implements ConnectionListener, SessionLink, Heartbeat.Owner, EngineConnection {

    /** The highest native protocol version this server speaks. */
    static final int PROTOCOL_VERSION = 3;
    /** The refresh request comes at most this long before the credentials expire. */
    static final long REFRESH_LEAD_MAX_MS = 60_000;

    private final Hub hub;
    private final TetherConfig config;
    final TransportConnection connection;
    /** The current credentials' principal: the handshake's, then each refreshed token's (same name). */
    private Principal principal;
    /** When the current credentials expire (ms since the epoch), or 0 for never. */
    private long expiresAtMs;
    /** When the current credentials were accepted (ms since the epoch). */
    private long acceptedAtMs;
    /** Bumped when the credentials change, so that a timer armed for older ones does nothing. */
    private int credentialsEpoch;
    private HashedWheelTimer.Timeout expiryTimer;
    private HashedWheelTimer.Timeout refreshTimer;
    /** The expiry the client was last asked to refresh: asked once per expiry, not again for a token that keeps it. */
    private long askedForMs;
    /** An {@code auth} frame's token is being checked; another is answered {@code busy}. */
    private boolean refreshing;
    /** The protocol version agreed with the hello: the lower of the client's and ours. */
    private int version = 1;

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
    /** When the transport attached this connection to the hub, for the handshake's duration. */
    private final long connectedNanos = System.nanoTime();

    Link(Hub hub, TransportConnection connection, AuthResult.Accepted credentials) {
        this.hub = hub;
        this.config = hub.config;
        this.connection = connection;
        this.principal = credentials.principal();
        this.expiresAtMs = expiryMs(credentials.expiresAt());
        this.acceptedAtMs = System.currentTimeMillis();
    }

    private static long expiryMs(Instant expiresAt) {
        return expiresAt == null ? 0 : Math.max(1, expiresAt.toEpochMilli());
    }

    void start() {
        if (hub.inboundRate() != null) {
            inboundRate = new TokenBucket(hub.inboundRate(), System.nanoTime());
        }
        helloTimer = hub.timer.schedule(() -> connection.execute(this::helloDeadline),
                config.helloTimeout().toNanos(), TimeUnit.NANOSECONDS);
        armExpiry();
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
        if (session.link != this) {
            // The session moved on (taken over) or is being handed to us: drop the frame; a
            // client resends what was not acknowledged.
            return;
        }
        if (frame instanceof InboundFrame.Auth auth) {
            onAuth(auth); // credentials belong to the connection, not to the session
        } else {
            session.onFrame(this, frame);
        }
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
        cancelCredentialTimers();
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
        helloTimer = null; // the spent entry is 48 B a connection for the connection's life
        version = Math.min(hello.version(), PROTOCOL_VERSION);
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
                hello.lastSeq(), hello.attempt(), version >= ServerSession.POSITIONS_VERSION ? hello.position() : 0,
                config.protocol(), hub.handler, false);
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
                    case BrokerResume.STALE -> fail(CloseCodes.SESSION_TAKEN_OVER, reason);
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

    @Override
    public int protocolVersion() {
        return version;
    }

    /** The session is now attached to this link (on this link's I/O thread). */
    @Override
    public void attached() {
        // A resumed session acts with this connection's credentials from now on.
        session.renewPrincipal(principal);
        if (refreshTimer == null) {
            armRefreshRequest();
        }
        if (heartbeat == null) {
            // The first attach: the handshake (hello to welcome, claim included) is over.
            config.metrics().handshakeCompleted(System.nanoTime() - connectedNanos);
            long interval = config.heartbeatInterval().toNanos();
            // A random first delay spreads the pings of connections that arrived together.
            long first = interval / 2 + ThreadLocalRandom.current().nextLong(interval / 2 + 1);
            heartbeat = new Heartbeat(hub.heartbeatSchedule, connection, this);
            heartbeat.start(first);
        }
        session.scheduleDrain();
    }

    // ------------------------------------------------------------ credentials

    /** Closes the connection when the current credentials expire. I/O thread. */
    private void armExpiry() {
        cancel(expiryTimer);
        expiryTimer = null;
        if (expiresAtMs == 0 || closing) {
            return;
        }
        int armedFor = credentialsEpoch;
        long delayMs = Math.max(0, expiresAtMs - System.currentTimeMillis());
        expiryTimer = hub.timer.schedule(() -> connection.execute(() -> credentialsExpired(armedFor)),
                delayMs, TimeUnit.MILLISECONDS);
    }

    private void credentialsExpired(int armedFor) {
        if (armedFor == credentialsEpoch && !closing) {
            fail(CloseCodes.CREDENTIALS_EXPIRED, "credentials expired");
        }
    }

    /**
     * Asks a version 2 client for a fresh token ahead of the expiry: a quarter of the credentials'
     * lifetime before it, at most {@link #REFRESH_LEAD_MAX_MS}, and up to a quarter of that
     * earlier at random, so that the many sessions of one token issuer do not all ask at once
     * (PROTOCOL.md §12). I/O thread, once a session is attached.
     */
    private void armRefreshRequest() {
        cancel(refreshTimer);
        refreshTimer = null;
        if (expiresAtMs == 0 || version < 2 || closing) {
            return;
        }
        long lifetimeMs = Math.max(0, expiresAtMs - acceptedAtMs);
        long leadMs = Math.min(REFRESH_LEAD_MAX_MS, lifetimeMs / 4);
        long jitterMs = ThreadLocalRandom.current().nextLong(leadMs / 4 + 1);
        long delayMs = Math.max(0, expiresAtMs - leadMs - jitterMs - System.currentTimeMillis());
        int armedFor = credentialsEpoch;
        refreshTimer = hub.timer.schedule(() -> connection.execute(() -> requestRefresh(armedFor)),
                delayMs, TimeUnit.MILLISECONDS);
    }

    private void requestRefresh(int armedFor) {
        if (armedFor == credentialsEpoch && !closing && session != null && session.link == this
                && askedForMs != expiresAtMs) {
            askedForMs = expiresAtMs;
            long inMs = Math.max(0, expiresAtMs - System.currentTimeMillis());
            writeControl(new OutboundFrame.Refresh(expiresAtMs, inMs));
        }
    }

    private void cancelCredentialTimers() {
        cancel(expiryTimer);
        cancel(refreshTimer);
    }

    /**
     * A fresh token from the client: checked by {@link dev.tether.core.spi.Authenticator#refresh}
     * without waiting on this thread, within the authentication timeout; the answer is applied
     * back on this thread ({@link #refreshed}).
     */
    private void onAuth(InboundFrame.Auth auth) {
        if (version < 2) {
            fail(CloseCodes.BAD_REQUEST, "'auth' needs protocol version 2");
            return;
        }
        if (refreshing) {
            writeControl(new OutboundFrame.Error(auth.id(), 0, "busy", "another token is being checked"));
            return;
        }
        refreshing = true;
        CompletionStage<AuthResult> check;
        try {
            check = config.authenticator().refresh(principal, auth.token());
            if (check == null) {
                throw new IllegalStateException("the authenticator's refresh returned null");
            }
        } catch (RuntimeException e) {
            check = CompletableFuture.failedFuture(e);
        }
        AtomicBoolean answered = new AtomicBoolean();
        HashedWheelTimer.Timeout timeout = hub.timer.schedule(() -> {
            if (answered.compareAndSet(false, true)) {
                connection.execute(() -> refreshed(auth.id(),
                        AuthResult.unavailable("The token could not be checked in time; retry."), null));
            }
        }, config.authenticationTimeout().toNanos(), TimeUnit.NANOSECONDS);
        check.whenComplete((result, error) -> {
            if (answered.compareAndSet(false, true)) {
                timeout.cancel();
                connection.execute(() -> refreshed(auth.id(), result, error));
            }
        });
    }

    /** Applies the authenticator's answer to an {@code auth} frame. I/O thread. */
    private void refreshed(long id, AuthResult result, Throwable error) {
        refreshing = false;
        if (closing) {
            return;
        }
        result = AuthAnswers.outcome(result, error, "the authenticator's refresh", failure -> {
            report(failure);
            return AuthResult.unauthorized("Unauthorized.");
        });
        if (result instanceof AuthResult.Accepted accepted) {
            if (accepted.principal().getName().equals(principal.getName())) {
                renewCredentials(accepted);
                writeControl(new OutboundFrame.Ok(id, expiresAtMs));
                return;
            }
            result = AuthResult.forbidden("The token is another principal's.");
        }
        AuthResult.Refused refused = (AuthResult.Refused) result;
        config.metrics().refused("refresh"); // as handshake refusals: not in Stats.refused()
        String code = switch (refused.status()) {
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            default -> "unavailable";
        };
        writeControl(new OutboundFrame.Error(id, 0, code, refused.reason()));
    }

    /** As a failed handshake authentication: reported under {@code "authenticate"}, answered 401. */
    private void report(Throwable error) {
        try {
            config.errorHandler().onError("authenticate", error);
        } catch (RuntimeException ignored) {
            // An error handler must not throw; the client gets its refusal regardless.
        }
    }

    private void renewCredentials(AuthResult.Accepted accepted) {
        credentialsEpoch++;
        principal = accepted.principal();
        expiresAtMs = expiryMs(accepted.expiresAt());
        acceptedAtMs = System.currentTimeMillis();
        if (session != null && session.link == this) {
            session.renewPrincipal(principal);
        }
        armExpiry();
        armRefreshRequest();
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
            session.trimIdle();
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
            config.metrics().protocolError(code);
        }
        connection.close(code, reason);
    }

    /** The hub is draining: tells the client when to come back; the hub closes us once drained. */
    @Override
    public void goingAway(long reconnectAfterMs) {
        connection.execute(() -> writeControl(new OutboundFrame.Reconnect(reconnectAfterMs)));
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
