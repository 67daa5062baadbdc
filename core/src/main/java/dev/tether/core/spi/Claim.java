package dev.tether.core.spi;

import java.util.Objects;

/**
 * The answer to {@link Broker#claim}.
 *
 * @param status   {@link #CLAIMED}, {@link #MISSING}, {@link #ENDED}, {@link #FORBIDDEN} or {@link #STALE}
 * @param record   the session's record when claimed, else null
 * @param position the claim position when claimed, else 0
 * @since 0.1.0
 */
public record Claim(int status, SessionRecord record, long position) {

    /** This node owns the session now. */
    public static final int CLAIMED = 0;
    /** No such session: it expired, or the broker lost it. */
    public static final int MISSING = 1;
    /** The session was ended for good. */
    public static final int ENDED = 2;
    /** The token does not match; nothing changed. */
    public static final int FORBIDDEN = 3;
    /**
     * The claim's resume attempt is not above one already seen for the session: the late hello
     * of a connection its client gave up on. Nothing changed.
     */
    public static final int STALE = 4;

    /**
     * A claim's answer.
     *
     * @param position the claim position when claimed, else 0
     * @param record the session's record when claimed, else null
     * @param status {@link #CLAIMED}, {@link #MISSING}, {@link #ENDED}, {@link #FORBIDDEN} or {@link #STALE}
     * @throws NullPointerException if {@code status} is {@link #CLAIMED} and {@code record} is null
     */
    public Claim {
        if (status == CLAIMED) {
            Objects.requireNonNull(record, "record");
        }
    }

    /**
     * {@return the answer of a claim that took the session} at {@code position}
     *
     * @param record   the session's record
     * @param position the claim's position
     */
    public static Claim claimed(SessionRecord record, long position) {
        return new Claim(CLAIMED, record, position);
    }

    /** {@return the answer for a session the broker does not hold} */
    public static Claim missing() {
        return new Claim(MISSING, null, 0);
    }

    /** {@return the answer for a session that ended for good} */
    public static Claim ended() {
        return new Claim(ENDED, null, 0);
    }

    /** {@return the answer for a token that does not match} */
    public static Claim forbidden() {
        return new Claim(FORBIDDEN, null, 0);
    }

    /** {@return the answer for a resume attempt not above one already seen} */
    public static Claim stale() {
        return new Claim(STALE, null, 0);
    }
}
