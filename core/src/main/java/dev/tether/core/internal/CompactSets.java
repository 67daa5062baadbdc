package dev.tether.core.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sets that stay small in memory while they are small: a topic's subscribers and a session's
 * topics. Most of both hold one or two elements (a user's own topic, a Socket.IO socket's own
 * room, the one room of a chat), where a concurrent set costs about 200 bytes (the map, its key
 * view, its table of sixteen and a node) and an immutable {@link Set#of} 24. Up to {@link #SMALL}
 * elements a set is immutable and replaced on every change; beyond that it becomes a concurrent
 * set changed in place, and stays one, so that a large set never costs a copy per change.
 *
 * <p>Whoever holds such a set swaps the immutable ones atomically (under a map's per-key lock, or
 * by compare-and-set) and changes a {@linkplain #isLarge large} one in place. Readers iterate
 * either kind without a lock: an immutable set is a snapshot, a concurrent one weakly consistent.
 */
final class CompactSets {

    /** The most elements an immutable set holds before the set becomes concurrent. */
    static final int SMALL = 4;

    private CompactSets() {
    }

    /** {@return whether {@code set} is a concurrent set, changed in place} */
    static boolean isLarge(Set<?> set) {
        return set instanceof ConcurrentHashMap.KeySetView;
    }

    /**
     * {@return {@code set} with {@code element} added}: a large set itself, changed in place;
     * otherwise a new set. {@code element} must not be in {@code set}.
     */
    static <T> Set<T> plus(Set<T> set, T element) {
        if (isLarge(set)) {
            set.add(element);
            return set;
        }
        if (set.size() < SMALL) {
            @SuppressWarnings("unchecked")
            T[] elements = (T[]) set.toArray(new Object[set.size() + 1]);
            elements[set.size()] = element;
            return Set.of(elements);
        }
        Set<T> large = ConcurrentHashMap.newKeySet();
        large.addAll(set);
        large.add(element);
        return large;
    }

    /**
     * {@return {@code set} without {@code element}}: a large set itself, changed in place;
     * otherwise a new immutable set, empty when {@code element} was the last.
     * {@code element} must be in {@code set}.
     */
    static <T> Set<T> minus(Set<T> set, T element) {
        if (isLarge(set)) {
            set.remove(element);
            return set;
        }
        @SuppressWarnings("unchecked")
        T[] elements = (T[]) new Object[set.size() - 1];
        int i = 0;
        for (T e : set) {
            if (!e.equals(element)) {
                elements[i++] = e;
            }
        }
        return Set.of(elements);
    }
}
