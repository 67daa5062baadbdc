package dev.tether.client.internal;

import dev.tether.core.Message;
import java.util.ArrayList;
import java.util.List;

/**
 * The client's reliable messages from numbering until the server acknowledges them: a ring
 * indexed by {@code seq & mask} holding each message's encoded frame, so that a resend after
 * resume writes the very same bytes with the original {@code seq}.
 *
 * <p>Single-threaded: owned by the client's protocol executor. The capacity is fixed; callers
 * reserve a slot before appending (see {@code ClientEngine}), so {@link #append} never overflows.
 */
final class UnackedBuffer {

    private final Object[] frames;
    private final Message[] messages;
    private final int mask;
    /** Oldest unacknowledged seq; equals {@link #next} when empty. */
    private long head = 1;
    /** The seq the next append gets. */
    private long next = 1;

    UnackedBuffer(int capacity) {
        if (capacity < 1 || capacity > (1 << 30)) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        int size = Integer.highestOneBit(capacity);
        if (size < capacity) {
            size <<= 1;
        }
        frames = new Object[size];
        messages = new Message[size];
        mask = size - 1;
    }

    /** The seq the next {@link #append} will return. */
    long nextSeq() {
        return next;
    }

    /**
     * Stores a numbered message.
     *
     * @param frame   its encoded frame ({@code String} or {@code byte[]})
     * @param message what to report if the session is lost, or {@code null} (requests)
     * @return its seq
     */
    long append(Object frame, Message message) {
        if (next - head > mask) {
            throw new IllegalStateException("unacked buffer full: " + size());
        }
        long seq = next++;
        int i = (int) seq & mask;
        frames[i] = frame;
        messages[i] = message;
        return seq;
    }

    /** The encoded frame of an unacknowledged {@code seq}. */
    Object frame(long seq) {
        if (seq < head || seq >= next) {
            throw new IndexOutOfBoundsException("seq " + seq + " not in " + head + ".." + (next - 1));
        }
        return frames[(int) seq & mask];
    }

    /** The highest seq assigned (0 if none). */
    long highestSeq() {
        return next - 1;
    }

    /** The oldest unacknowledged seq ({@link #nextSeq()} if none). */
    long firstSeq() {
        return head;
    }

    /** Messages held. */
    int size() {
        return (int) (next - head);
    }

    /**
     * Frees everything up to {@code seq} (a cumulative acknowledgement).
     *
     * @return how many messages were freed
     * @throws IllegalArgumentException if {@code seq} was never assigned
     */
    int releaseUpTo(long seq) {
        if (seq >= next) {
            throw new IllegalArgumentException("ack " + seq + " beyond highest seq " + (next - 1));
        }
        int freed = 0;
        while (head <= seq) {
            int i = (int) head & mask;
            frames[i] = null;
            messages[i] = null;
            head++;
            freed++;
        }
        return freed;
    }

    /**
     * Empties the buffer for a new session, whose numbering starts again at 1.
     *
     * @return the messages that were held (requests excluded), in order
     */
    List<Message> clear() {
        List<Message> held = new ArrayList<>(size());
        for (long seq = head; seq < next; seq++) {
            int i = (int) seq & mask;
            if (messages[i] != null) {
                held.add(messages[i]);
            }
            frames[i] = null;
            messages[i] = null;
        }
        head = 1;
        next = 1;
        return held;
    }
}
