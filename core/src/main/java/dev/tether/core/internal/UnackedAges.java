package dev.tether.core.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The age of the oldest reliable message this node wrote and has not had acknowledged, kept in
 * constant time and space whatever the number of sessions.
 *
 * <p>Time is cut into epochs of {@link #EPOCH_NANOS} (one second), numbered from 1 when the hub
 * starts. Each session that has unacknowledged messages counts once here, under the epoch in which
 * its oldest unacknowledged message was written (its replay buffer is in write order, so that
 * message is the session's oldest); a session moves when an ack releases its head, and leaves
 * when its buffer empties or it ends. The node's oldest unacknowledged message is the oldest
 * session's, so the answer is the oldest epoch that counts a session: exact to within one epoch,
 * rounded down.
 *
 * <p>Epoch {@code e} is counted in slot {@code e mod SLOTS} of a stripe picked by the session (so
 * that sessions on different I/O threads rarely write the same cache line); each slot packs the
 * epoch it counts for (high 32 bits) and the count (low 32 bits) into one {@code long} changed by
 * CAS. A slot that a later epoch needs while it still counts sessions of an older one (they have
 * waited {@code SLOTS} epochs, about 17 minutes) hands them to {@link #ancient}: from then on
 * {@link #oldestAgeNanos} reports at least {@code SLOTS} epochs for as long as one of them
 * waits, without knowing by how much more. {@link #oldestAgeNanos} reads every slot: constant
 * work ({@code STRIPES * SLOTS} reads), independent of the number of sessions.
 *
 * <p>Threading: every method may be called from any thread. A session makes its moves from one
 * thread at a time and always adds its new epoch before it removes its old one (see
 * {@code ServerSession}), so a count never goes below zero.
 */
final class UnackedAges {

    /** The width of an epoch: the resolution of the age. */
    static final long EPOCH_NANOS = 1_000_000_000L;
    /** Epochs per stripe; a power of two. */
    static final int SLOTS = 1024;
    /** Stripes; a power of two. */
    static final int STRIPES = 8;

    private final AtomicLongArray slots = new AtomicLongArray(STRIPES * SLOTS);
    /** Sessions whose epoch lost its slot to one {@code SLOTS} epochs younger (see the class comment). */
    private final LongAdder ancient = new LongAdder();
    private final LongSupplier clock;
    private final long startNanos;

    UnackedAges(LongSupplier nanoClock) {
        this.clock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** The current epoch, at least 1. */
    int epochNow() {
        return epochAt(clock.getAsLong());
    }

    private int epochAt(long nanos) {
        return (int) ((nanos - startNanos) / EPOCH_NANOS) + 1;
    }

    /** Counts one session under {@code epoch} (at least 1) in {@code stripe}. */
    void add(int stripe, int epoch) {
        int i = index(stripe, epoch);
        for (;;) {
            long v = slots.get(i);
            int tag = tag(v);
            if (tag == epoch) {
                if (slots.compareAndSet(i, v, v + 1)) {
                    return;
                }
            } else if (tag - epoch > 0) {
                ancient.increment(); // the slot counts a younger epoch now: older than SLOTS epochs
                return;
            } else if (slots.compareAndSet(i, v, pack(epoch, 1))) {
                if (count(v) > 0) {
                    ancient.add(count(v));
                }
                return;
            }
        }
    }

    /** Uncounts one session that {@link #add} counted under {@code epoch} in {@code stripe}. */
    void remove(int stripe, int epoch) {
        int i = index(stripe, epoch);
        for (;;) {
            long v = slots.get(i);
            if (tag(v) != epoch) {
                ancient.decrement(); // its slot moved on to a younger epoch, after or before it came
                return;
            }
            if (slots.compareAndSet(i, v, v - 1)) {
                return;
            }
        }
    }

    /** The age of the oldest unacknowledged message, rounded down to a whole epoch; 0 if none. */
    long oldestAgeNanos() {
        int now = epochNow();
        int oldest = 0;
        for (int i = 0; i < slots.length(); i++) {
            long v = slots.get(i);
            if (count(v) > 0 && (oldest == 0 || tag(v) - oldest < 0)) {
                oldest = tag(v);
            }
        }
        long age = oldest == 0 ? 0 : Math.max(0, now - oldest) * EPOCH_NANOS;
        if (ancient.sum() > 0) {
            age = Math.max(age, SLOTS * EPOCH_NANOS);
        }
        return age;
    }

    private static int index(int stripe, int epoch) {
        return (stripe & (STRIPES - 1)) * SLOTS + (epoch & (SLOTS - 1));
    }

    private static long pack(int epoch, int count) {
        return ((long) epoch << 32) | (count & 0xFFFF_FFFFL);
    }

    private static int tag(long v) {
        return (int) (v >>> 32);
    }

    private static int count(long v) {
        return (int) v;
    }
}
