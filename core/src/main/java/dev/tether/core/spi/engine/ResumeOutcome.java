package dev.tether.core.spi.engine;

/**
 * What a connection hears of a resume through the broker ({@link Engine#resumeFromBroker});
 * nothing if it closed meanwhile. Called on the link's I/O thread.
 *
 * @since 0.1.0
 */
public interface ResumeOutcome {

    /** {@link #failed}: the session ended for good. */
    int ENDED = 1;
    /** {@link #failed}: the token, principal or protocol do not match. */
    int FORBIDDEN = 2;
    /** {@link #failed}: the session or part of what the client missed is gone; the reason says which. */
    int LOST = 3;
    /** {@link #failed}: {@code last} lies before the checkpoint or beyond anything sent. */
    int OUT_OF_RANGE = 4;
    /** {@link #failed}: the broker could not be reached; the client should retry later. */
    int UNAVAILABLE = 5;
    /** {@link #failed}: a later resume attempt of the client came first: this one is refused. */
    int STALE = 6;

    /**
     * The session is claimed and about to be attached (its welcome written, the missed entries
     * queued): bind it to the link now.
     *
     * @param session the claimed session, living on this node from now on
     */
    void claimed(EngineSession session);

    /**
     * The session was not resumed.
     *
     * @param why    one of the constants
     * @param reason says more, for a log or a close reason
     */
    void failed(int why, String reason);
}
