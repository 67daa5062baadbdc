package dev.tether.redis.internal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A marker read from a node channel: a kind letter, then fields each written as
 * {@code <decimal length>:<bytes>}: the position, the epoch, then the kind's own fields.
 *
 * <table>
 *   <caption>Kinds and their own fields</caption>
 *   <tr><td>{@code P}</td><td>topic entry: topic, message bytes</td></tr>
 *   <tr><td>{@code S}</td><td>direct message: session, message bytes</td></tr>
 *   <tr><td>{@code U} / {@code N}</td><td>subscribed / unsubscribed: session, topic</td></tr>
 *   <tr><td>{@code C}</td><td>claimed: session, then its current topics</td></tr>
 *   <tr><td>{@code R}</td><td>released: session</td></tr>
 *   <tr><td>{@code J} / {@code L}</td><td>presence join / leave: topic, session, principal</td></tr>
 *   <tr><td>{@code G}</td><td>heartbeat ping: node id</td></tr>
 * </table>
 *
 * <p>Not thread-safe; decode and read on one thread.
 */
public final class Marker {

    private final byte kind;
    private final byte[] frame;
    private final int[] starts;
    private final int[] lengths;
    private final int count;

    private Marker(byte kind, byte[] frame, int[] starts, int[] lengths, int count) {
        this.kind = kind;
        this.frame = frame;
        this.starts = starts;
        this.lengths = lengths;
        this.count = count;
    }

    /**
     * Decodes {@code frame}, keeping a reference to it.
     *
     * @throws IllegalArgumentException if it is not a marker
     */
    public static Marker decode(byte[] frame) {
        if (frame.length < 1) {
            throw new IllegalArgumentException("empty marker");
        }
        int[] starts = new int[4];
        int[] lengths = new int[4];
        int count = 0;
        int i = 1;
        while (i < frame.length) {
            int length = 0;
            int digits = 0;
            while (i < frame.length && frame[i] != ':') {
                int d = frame[i] - '0';
                if (d < 0 || d > 9 || ++digits > 10) {
                    throw new IllegalArgumentException("bad field length in marker at " + i);
                }
                length = length * 10 + d;
                i++;
            }
            i++; // the colon
            if (digits == 0 || i + length > frame.length) {
                throw new IllegalArgumentException("truncated marker field at " + i);
            }
            if (count == starts.length) {
                starts = Arrays.copyOf(starts, count * 2);
                lengths = Arrays.copyOf(lengths, count * 2);
            }
            starts[count] = i;
            lengths[count] = length;
            count++;
            i += length;
        }
        if (count < 2) {
            throw new IllegalArgumentException("marker without position and epoch");
        }
        return new Marker(frame[0], frame, starts, lengths, count);
    }

    /** The kind letter. */
    public char kind() {
        return (char) kind;
    }

    /** The position (0 for live-only markers). */
    public long position() {
        return Long.parseLong(string(0));
    }

    /** The epoch of the Redis that published it. */
    public String epoch() {
        return string(1);
    }

    /** The number of the kind's own fields. */
    public int size() {
        return count - 2;
    }

    /** The kind's own field {@code index} as UTF-8 text. */
    public String text(int index) {
        return string(index + 2);
    }

    /** A copy of the kind's own field {@code index}. */
    public byte[] bytes(int index) {
        int f = index + 2;
        check(f);
        return Arrays.copyOfRange(frame, starts[f], starts[f] + lengths[f]);
    }

    private String string(int f) {
        check(f);
        return new String(frame, starts[f], lengths[f], StandardCharsets.UTF_8);
    }

    private void check(int f) {
        if (f >= count) {
            throw new IllegalArgumentException("marker " + kind() + " has no field " + f);
        }
    }
}
