package dev.tether.core.internal;

import dev.tether.core.spi.engine.ResumeOutcome;
import dev.tether.core.spi.engine.SessionLink;
import dev.tether.core.SessionHandler;
import dev.tether.core.spi.Claim;
import dev.tether.core.spi.Feed;
import dev.tether.core.spi.Protocol;
import dev.tether.core.spi.SessionRecord;
import java.security.Principal;
import java.util.List;
import java.util.Objects;

/**
 * A resume through the cluster's broker, the one path by which a clustered session is resumed on
 * any node, this one included: the native {@code hello} with {@code sid}, {@code token} and
 * {@code last}, and Socket.IO's connection state recovery with {@code pid} and {@code offset}.
 * Both number the session's feed alike, so either resumes a session wherever it was.
 *
 * <ol>
 *   <li>A session of this node under that id whose token, principal or protocol differ is
 *       {@link #FORBIDDEN} at once, without a claim.</li>
 *   <li>The broker claims the session for this node and the feed is read from its checkpoint
 *       (entries excepting it left out, see {@link Cluster#read}).</li>
 *   <li>The client's {@code last} must lie between the checkpoint and the end of the feed;
 *       the entries after it are what it missed. If they are all there and not more than a
 *       session's queue holds, the session is attached to the link with them: sequence numbers
 *       {@code last + 1}, … .</li>
 * </ol>
 *
 * Public only for the Socket.IO layer; not an API. Threading: {@link #start} and every
 * {@link Outcome} call run on the link's I/O thread.
 */
public final class BrokerResume {

    /** The session ended for good. */
    public static final int ENDED = ResumeOutcome.ENDED;
    /** The token, principal or protocol do not match. */
    public static final int FORBIDDEN = ResumeOutcome.FORBIDDEN;
    /** The session or part of what the client missed is gone; the reason says which. */
    public static final int LOST = ResumeOutcome.LOST;
    /** {@code last} lies before the checkpoint or beyond anything sent; the reason says which. */
    public static final int OUT_OF_RANGE = ResumeOutcome.OUT_OF_RANGE;
    /** The broker could not be reached; the client should retry later. */
    public static final int UNAVAILABLE = ResumeOutcome.UNAVAILABLE;
    /** A later resume attempt of the client came first: this one is a late hello, refused. */
    public static final int STALE = ResumeOutcome.STALE;

    /**
     * What the resuming connection presents.
     *
     * @param sessionId the session's public id
     * @param token     the resume token the client presented (compared through its hash)
     * @param principal whom the connection authenticated as: must be the session's principal
     * @param last      the client's last received sequence number (a Socket.IO offset)
     * @param attempt   the client's resume attempt number, 0 if it sent none (Socket.IO)
     * @param position  the cluster position of the message numbered {@code last} (native
     *                  protocol 3), 0 if the client sent none: the feed is then read from the
     *                  session's checkpoint
     * @param protocol  the connection's wire protocol: its name must be the session's
     * @param handler   the callbacks of the session once resumed here
     * @param ackless   whether the client never acknowledges; such a client cannot retry with
     *                  another {@code last}, so a session it cannot resume is ended
     */
    public record Request(String sessionId, String token, Principal principal, long last, long attempt,
                          long position, Protocol protocol, SessionHandler handler, boolean ackless) {

        /** Where the feed is read from: the client's position if it gave one, else the checkpoint. */
        long readFrom(SessionRecord record) {
            return fromPosition() ? Math.max(position, record.checkpointPosition()) : record.checkpointPosition();
        }

        boolean fromPosition() {
            return position > 0 && last > 0;
        }

        public Request {
            Objects.requireNonNull(sessionId, "sessionId");
            Objects.requireNonNull(token, "token");
            Objects.requireNonNull(principal, "principal");
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(handler, "handler");
        }
    }

    /** What the connection hears of its resume; nothing if it closed meanwhile. */
    public interface Outcome {

        /**
         * The session is claimed and about to be attached (its welcome written, the missed
         * entries queued): bind it to the link now.
         */
        void claimed(ServerSession session);

        /** The session was not resumed: {@code why} is one of the constants, {@code reason} says more. */
        void failed(int why, String reason);
    }

    private BrokerResume() {
    }

    static void start(Hub hub, SessionLink link, Request request, Outcome outcome) {
        ServerSession local = hub.findSession(request.sessionId());
        if (local != null && (!local.tokenMatches(request.token())
                || !local.principal().getName().equals(request.principal().getName())
                || !local.protocol().name().equals(request.protocol().name()))) {
            outcome.failed(FORBIDDEN, "resume refused");
            return;
        }
        if (local != null && local.isStaleAttempt(request.attempt())) {
            outcome.failed(STALE, "stale resume"); // before the claim takes the session from its connection
            return;
        }
        hub.cluster.claim(request).whenComplete((r, error) ->
                link.connection().execute(() -> claimed(hub, link, request, outcome, r, Cluster.unwrap(error))));
    }

    private static void claimed(Hub hub, SessionLink link, Request request, Outcome outcome,
                                Cluster.Resume r, Throwable error) {
        Cluster cluster = hub.cluster;
        ServerSession session = r == null ? null : r.session();
        if (link.isClosed()) {
            if (session != null) {
                cluster.abandon(session);
            }
            return;
        }
        if (error != null) {
            outcome.failed(UNAVAILABLE, "cluster unavailable; retry");
            return;
        }
        switch (r.claim().status()) {
            case Claim.ENDED -> {
                outcome.failed(ENDED, "session ended");
                return;
            }
            case Claim.FORBIDDEN -> {
                outcome.failed(FORBIDDEN, "resume refused");
                return;
            }
            case Claim.STALE -> {
                outcome.failed(STALE, "stale resume");
                return;
            }
            case Claim.MISSING -> {
                outcome.failed(LOST, cluster.whyMissing(request.sessionId()));
                return;
            }
            default -> { }
        }
        SessionRecord record = r.claim().record();
        if (!record.principal().equals(request.principal().getName())
                || !record.protocol().equals(request.protocol().name())) {
            cluster.abandon(session);
            outcome.failed(FORBIDDEN, "resume refused");
            return;
        }
        long checkpoint = record.checkpointSeq();
        long last = request.last();
        Feed feed = r.feed();
        List<Feed.Entry> entries = feed.entries();
        boolean backwards = last < checkpoint || request.fromPosition() && request.position() < record.checkpointPosition();
        boolean ahead = request.fromPosition() ? request.position() > r.claim().position()
                : feed.complete() && last > checkpoint + entries.size();
        if (backwards || ahead) {
            if (request.ackless()) {
                drop(hub, session);
            } else {
                cluster.abandon(session);
            }
            outcome.failed(OUT_OF_RANGE, backwards
                    ? "resume went backwards" : "resume from a sequence number never sent");
            return;
        }
        // From the client's position, everything read is missed; from the checkpoint, what follows its last.
        List<Feed.Entry> missed = !feed.complete() ? null
                : request.fromPosition() ? entries : entries.subList((int) (last - checkpoint), entries.size());
        if (missed == null || missed.size() > Math.min(hub.config.outboundQueueCapacity(), hub.config.replayBufferMessages())) {
            // What the client missed is gone, or more than a session may hold: the session ends.
            drop(hub, session);
            outcome.failed(LOST, missed == null ? feed.reason() : "too_many");
            return;
        }
        outcome.claimed(session);
        session.attachRecovered(link, last, record.clientSeq(), missed, r.claim().position());
    }

    /** Ends a claimed session that cannot be resumed, in the broker too. */
    private static void drop(Hub hub, ServerSession session) {
        hub.forget(session);
        hub.cluster.ended(session);
    }
}
