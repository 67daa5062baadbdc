package dev.tether.undertow.internal;

import java.util.Arrays;

/**
 * A growable first-in first-out queue of primitive ints: the sizes of the frames a connection
 * handed to Undertow, in the order Undertow completes them. No boxing, no allocation once it has
 * grown to the connection's working size.
 *
 * <p>Threading: not thread-safe; owned by one connection's I/O thread.
 */
final class IntFifo {

    private int[] ring;
    private int head;
    private int size;

    IntFifo(int initialCapacity) {
        ring = new int[Integer.highestOneBit(Math.max(2, initialCapacity - 1)) << 1];
    }

    void add(int value) {
        if (size == ring.length) {
            int[] bigger = new int[ring.length << 1];
            int firstPart = ring.length - head;
            System.arraycopy(ring, head, bigger, 0, firstPart);
            System.arraycopy(ring, 0, bigger, firstPart, head);
            ring = bigger;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = value;
        size++;
    }

    /** Removes and returns the oldest value, or 0 when empty. */
    int poll() {
        if (size == 0) {
            return 0;
        }
        int value = ring[head];
        head = (head + 1) & (ring.length - 1);
        size--;
        return value;
    }

    int size() {
        return size;
    }

    void clear() {
        Arrays.fill(ring, 0);
        head = 0;
        size = 0;
    }
}
