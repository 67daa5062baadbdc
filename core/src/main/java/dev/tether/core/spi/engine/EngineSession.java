package dev.tether.core.spi.engine;

import dev.tether.core.Session;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.Protocol;

/**
 * A session as a wire protocol's state machine drives it: the application's {@link Session} plus
 * attaching it to a {@link SessionLink}, feeding it what the client sent, resuming and ending it.
 * Its sequence numbers, replay buffer, outbound queue, single-writer drain and slow-consumer
 * policy are the engine's; the link only says how its protocol talks about them. Sessions come
 * from {@link Engine#openSession} and {@link Engine#findSession}.
 *
 * <p>Threading: the link-facing methods are called on the I/O thread of the link concerned;
 * {@link #scheduleDrain}, {@link #runCallback}, {@link #queued}, {@link #end} and the
 * {@link Session} methods from any thread.
 *
 * @since 0.1.0
 */
public interface EngineSession extends Session {

    /** {@link #beginResume}: the resume is under way; the link is attached when it completes. */
    int RESUMING = 0;
    /** {@link #beginResume}: the session has ended; the caller starts a new one. */
    int ENDED = 1;
    /** {@link #beginResume}: an older attempt than one already seen; refuse it. */
    int STALE = 2;

    /**
     * The protocol this session's messages are encoded with.
     *
     * @return the protocol it was opened with
     */
    Protocol protocol();

    /**
     * Whether this session runs without client acknowledgements: what was written counts as
     * delivered, and a resume names the last message the client received.
     *
     * @return whether the client never acknowledges
     */
    boolean isAckless();

    /**
     * Constant-time comparison of a presented resume token.
     *
     * @param presented the token the client presented
     * @return whether it is this session's
     */
    boolean tokenMatches(String presented);

    /**
     * Messages waiting in the outbound queue, not yet written. Any thread.
     *
     * @return the queue's length
     */
    int queued();

    /** Makes sure a drain runs on the attached link's I/O thread soon (coalesced). Any thread. */
    void scheduleDrain();

    /**
     * Runs an application callback on this session's handler executor, in order with its other
     * callbacks; a throw is reported to the hub's error handler.
     *
     * @param context  names the callback in an error report
     * @param callback the callback
     */
    void runCallback(String context, Runnable callback);

    /**
     * Whether {@code link} is the link this session reads from and writes to now.
     *
     * @param link a link
     * @return whether it is attached
     */
    boolean isAttachedTo(SessionLink link);

    /**
     * Attaches the first link of a new session, on that link's I/O thread.
     *
     * @param link       the link
     * @param previousId the session the client asked to resume, or {@code null}
     * @param whyLost    why that session could not be resumed, or {@code null}
     */
    void attachNew(SessionLink link, String previousId, String whyLost);

    /**
     * Starts a resume by {@code link}, on its I/O thread.
     *
     * @param link          the resuming link
     * @param clientLastSeq the last sequence number (or offset) the client received
     * @param attempt       the client's resume attempt number, or 0 if it sent none
     * @return {@link #RESUMING}, {@link #ENDED} or {@link #STALE}
     */
    int beginResume(SessionLink link, long clientLastSeq, long attempt);

    /**
     * A frame the client sent on {@code link}, decoded by the session's protocol. I/O thread.
     *
     * @param link  the link it came on; ignored unless attached
     * @param frame the frame
     */
    void onFrame(SessionLink link, InboundFrame frame);

    /**
     * {@code link}'s connection closed; the session stays for its retention window. I/O thread.
     *
     * @param link the link; ignored unless attached
     */
    void detach(SessionLink link);

    /**
     * Ends the session; idempotent.
     *
     * @param code            the close code the handler's {@code onClose} hears
     * @param reason          the reason it hears
     * @param closeConnection whether to close the attached connection with {@code code}
     * @param expired         whether the retention window or a hub shutdown ended it
     */
    void end(int code, String reason, boolean closeConnection, boolean expired);
}
