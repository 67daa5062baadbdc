package dev.tether.core.internal;

import java.util.function.ObjLongConsumer;

/**
 * The reliable messages a session sent and the client has not acknowledged yet, in sequence
 * order, bounded in entries and bytes. An entry covers one sequence number (a message) or a
 * range (a gap marker, which covers the numbers of messages that were lost).
 *
 * <p>Not thread-safe: owned by the thread that holds the session's I/O state (see
 * {@link ServerSession}). {@link #size()} and {@link #bytes()} may be read racily by other
 * threads for gauges.
 */
final class ReplayBuffer {

    private final Object[] items;
    private final long[] lastSeqs;
    private final int[] sizes;
    private final int mask;
    private final long maxBytes;
    private int head;
    private int tail;
    private int size;
    private long bytes;

    ReplayBuffer(int capacity, long maxBytes) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        this.items = new Object[capacity];
        this.lastSeqs = new long[capacity];
        this.sizes = new int[capacity];
        this.mask = capacity - 1;
        this.maxBytes = maxBytes;
    }

    /**
     * Whether an entry of {@code sizeBytes} fits. An empty buffer takes any one entry, so a
     * single message larger than the byte limit cannot wedge the session.
     */
    boolean fits(int sizeBytes) {
        return size == 0 || (size < items.length && bytes + sizeBytes <= maxBytes);
    }

    /** Appends an entry covering sequence numbers up to {@code lastSeq}. Call only if it {@link #fits}. */
    void add(Object item, long lastSeq, int sizeBytes) {
        if (size == items.length) {
            throw new IllegalStateException("replay buffer full");
        }
        items[tail] = item;
        lastSeqs[tail] = lastSeq;
        sizes[tail] = sizeBytes;
        tail = (tail + 1) & mask;
        size++;
        bytes += sizeBytes;
    }

    /**
     * Releases every entry whose sequence numbers are all at or below {@code ackedSeq}.
     *
     * @return the number of entries released
     */
    int release(long ackedSeq) {
        int released = 0;
        while (size > 0 && lastSeqs[head] <= ackedSeq) {
            bytes -= sizes[head];
            items[head] = null;
            head = (head + 1) & mask;
            size--;
            released++;
        }
        return released;
    }

    /** Calls {@code visitor} with each entry, oldest first, whose last sequence number is above {@code afterSeq}. */
    int forEachAfter(long afterSeq, ObjLongConsumer<Object> visitor) {
        int visited = 0;
        for (int i = 0, at = head; i < size; i++, at = (at + 1) & mask) {
            if (lastSeqs[at] > afterSeq) {
                visitor.accept(items[at], lastSeqs[at]);
                visited++;
            }
        }
        return visited;
    }

    int size() {
        return size;
    }

    long bytes() {
        return bytes;
    }

    int capacity() {
        return items.length;
    }
}
