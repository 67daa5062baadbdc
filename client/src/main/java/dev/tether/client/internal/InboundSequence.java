package dev.tether.client.internal;

/**
 * De-duplication and acknowledgement pacing of the server's reliable messages in one session.
 *
 * <p>Single-threaded: owned by the client's protocol executor.
 */
final class InboundSequence {

    /** The next message in order: hand it to the application. */
    static final int DELIVER = 0;
    /** Already received (a replay after resume): drop it silently. */
    static final int DUPLICATE = 1;
    /** A hole in the numbering: impossible for a correct server, drop the connection. */
    static final int OUT_OF_ORDER = 2;

    private final int ackEvery;
    private long last;
    /** The cluster position of message {@code last} (PROTOCOL.md §13), 0 if unknown. */
    private long lastPosition;
    private long lastAcked;
    private int sinceAck;

    InboundSequence(int ackEvery) {
        if (ackEvery < 1) {
            throw new IllegalArgumentException("ackEvery must be at least 1");
        }
        this.ackEvery = ackEvery;
    }

    /**
     * Classifies a received {@code seq} and, if it is {@link #DELIVER}, records it with its
     * cluster position {@code position} (0 if the message carried none).
     */
    int accept(long seq, long position) {
        if (seq == last + 1) {
            last = seq;
            lastPosition = position;
            sinceAck++;
            return DELIVER;
        }
        return seq <= last ? DUPLICATE : OUT_OF_ORDER;
    }

    /**
     * Records that the server declared {@code from..to} lost. Returns {@code false} for a gap
     * already behind us (replayed), and throws if it would leave a hole.
     */
    boolean skip(long from, long to) {
        if (!checkSkip(from, to)) {
            return false;
        }
        last = to;
        lastPosition = 0;
        sinceAck++;
        return true;
    }

    /**
     * Validates a gap without recording it: {@code false} for one already behind us, an exception
     * if it would leave a hole.
     */
    boolean checkSkip(long from, long to) {
        if (from < 1 || to < from) {
            throw new IllegalArgumentException("bad gap " + from + ".." + to);
        }
        if (to <= last) {
            return false;
        }
        if (from > last + 1) {
            throw new IllegalArgumentException("gap " + from + ".." + to + " leaves a hole after " + last);
        }
        return true;
    }

    /** Whether {@code ackEvery} messages arrived since the last acknowledgement. */
    boolean ackDue() {
        return sinceAck >= ackEvery;
    }

    /** Whether the last accepted message is the first one since the last acknowledgement: arm the ack timer. */
    boolean firstUnacked() {
        return sinceAck == 1;
    }

    /** Whether something was received that the server has not been told about. */
    boolean hasUnacked() {
        return last > lastAcked;
    }

    /** Marks everything received as acknowledged and returns the cumulative value to send. */
    long takeAck() {
        lastAcked = last;
        sinceAck = 0;
        return last;
    }

    /**
     * A new connection resumed the session with {@code hello.last = last()}: the server knows
     * everything up to there, so nothing is pending.
     */
    void resumed() {
        lastAcked = last;
        sinceAck = 0;
    }

    /** A new session: numbering restarts at 1. */
    void reset() {
        last = 0;
        lastPosition = 0;
        lastAcked = 0;
        sinceAck = 0;
    }

    /** The cluster position of the message numbered {@link #last()}, 0 if it had none. */
    long lastPosition() {
        return lastPosition;
    }

    /** The highest server {@code seq} received (0 if none). */
    long last() {
        return last;
    }
}
