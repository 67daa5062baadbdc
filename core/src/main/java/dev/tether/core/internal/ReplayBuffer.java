package dev.tether.core.internal;

import java.util.function.ObjLongConsumer;

/**
 * The reliable messages a session sent and the client has not acknowledged yet, in sequence
 * order, bounded in entries and bytes. An entry covers one sequence number (a message) or a
 * range (an {@link dev.tether.core.spi.OutboundFrame.Gap}, which covers the numbers of messages that were lost).
 *
 * <p>Memory: the ring is allocated with the first entry, starts small and doubles up to its
 * capacity as unacknowledged entries pile up, goes back to its initial size when it empties, and
 * is given up by {@link #trimIfEmpty()} (the session calls it at each heartbeat), so an idle
 * session holds none of it.
 *
 * <p>Not thread-safe: owned by the thread that holds the session's I/O state (see
 * {@link ServerSession}). {@link #size()} and {@link #bytes()} may be read racily by other
 * threads for gauges.
 */
final class ReplayBuffer {

    static final int INITIAL_CAPACITY = 8;

    private final int capacity;
    private final long maxBytes;
    private Object[] items;
    private long[] lastSeqs;
    private int[] sizes;
    /** When each entry was written, as an {@link UnackedAges} epoch (0 when not tracked). */
    private int[] epochs;
    private int mask;
    private int head;
    private int size;
    private long bytes;

    ReplayBuffer(int capacity, long maxBytes) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        this.capacity = capacity;
        this.maxBytes = maxBytes;
    }

    private void allocate(int length) {
        items = new Object[length];
        lastSeqs = new long[length];
        sizes = new int[length];
        epochs = new int[length];
        mask = length - 1;
        head = 0;
    }

    /**
     * Whether an entry of {@code sizeBytes} fits. An empty buffer takes any one entry, so a
     * single message larger than the byte limit cannot wedge the session.
     */
    boolean fits(int sizeBytes) {
        return size == 0 || (size < capacity && bytes + sizeBytes <= maxBytes);
    }

    /** Appends an entry covering sequence numbers up to {@code lastSeq}. Call only if it {@link #fits}. */
    void add(Object item, long lastSeq, int sizeBytes) {
        add(item, lastSeq, sizeBytes, 0);
    }

    /**
     * Appends an entry covering sequence numbers up to {@code lastSeq}, written in
     * {@code epoch} (see {@link #oldestEpoch()}). Call only if it {@link #fits}.
     */
    void add(Object item, long lastSeq, int sizeBytes, int epoch) {
        if (size == capacity) {
            throw new IllegalStateException("replay buffer full");
        }
        if (items == null) {
            allocate(Math.min(INITIAL_CAPACITY, capacity));
        } else if (size == items.length) {
            grow();
        }
        int at = (head + size) & mask;
        items[at] = item;
        lastSeqs[at] = lastSeq;
        sizes[at] = sizeBytes;
        epochs[at] = epoch;
        size++;
        bytes += sizeBytes;
    }

    private void grow() {
        int length = items.length;
        Object[] oldItems = items;
        long[] oldSeqs = lastSeqs;
        int[] oldSizes = sizes;
        int[] oldEpochs = epochs;
        int oldHead = head;
        int oldMask = mask;
        allocate(length * 2);
        for (int i = 0; i < size; i++) {
            int from = (oldHead + i) & oldMask;
            items[i] = oldItems[from];
            lastSeqs[i] = oldSeqs[from];
            sizes[i] = oldSizes[from];
            epochs[i] = oldEpochs[from];
        }
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
        if (size == 0 && items != null && items.length > INITIAL_CAPACITY) {
            allocate(Math.min(INITIAL_CAPACITY, capacity)); // a burst is over: give the memory back
        }
        return released;
    }

    /**
     * Gives up the ring if nothing is waiting for an acknowledgement; the next {@link #add}
     * allocates it again. Not on every release: a session that keeps sending would allocate a ring
     * per message.
     */
    void trimIfEmpty() {
        if (size == 0 && items != null) {
            items = null;
            lastSeqs = null;
            sizes = null;
            epochs = null;
            mask = 0;
            head = 0;
        }
    }

    /** The epoch the oldest entry was {@link #add(Object, long, int, int) added} with, or 0 if the buffer is empty. */
    int oldestEpoch() {
        return size == 0 ? 0 : epochs[head];
    }

    /** The oldest entry, or null if the buffer is empty. */
    Object oldest() {
        return size == 0 ? null : items[head];
    }

    /**
     * Drops the oldest entry (ack-less sessions, which evict rather than wait for an ack).
     *
     * @return the last sequence number it covered
     * @throws IllegalStateException if the buffer is empty
     */
    long evictOldest() {
        if (size == 0) {
            throw new IllegalStateException("replay buffer empty");
        }
        long seq = lastSeqs[head];
        release(seq);
        return seq;
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

    /** The entry whose last sequence number is {@code seq}, or null. */
    Object entryAt(long seq) {
        if (size == 0) {
            return null;
        }
        int at = (int) ((head + (seq - lastSeqs[head])) & mask);
        if (seq >= lastSeqs[head] && seq - lastSeqs[head] < size && lastSeqs[at] == seq) {
            return items[at]; // one sequence number per entry: found at once
        }
        for (int i = 0, j = head; i < size; i++, j = (j + 1) & mask) {
            if (lastSeqs[j] == seq) {
                return items[j];
            }
        }
        return null;
    }

    int size() {
        return size;
    }

    long bytes() {
        return bytes;
    }

    int capacity() {
        return capacity;
    }

    /** The ring's current length, 0 when it holds none, for tests of its memory behaviour. */
    int allocated() {
        return items == null ? 0 : items.length;
    }
}
