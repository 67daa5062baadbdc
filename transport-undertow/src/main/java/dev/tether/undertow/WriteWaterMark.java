package dev.tether.undertow;

/**
 * The bytes a connection may hold in Undertow, written but not yet on the socket, before it tells
 * the engine to stop draining. Above {@code highBytes} the connection reports itself unwritable;
 * once the backlog falls below {@code lowBytes} it signals the engine to drain again. The gap
 * between the two marks keeps a connection that sits at the limit from flapping.
 *
 * @param lowBytes  the backlog below which a connection is writable again; at least 0
 * @param highBytes the backlog above which a connection is unwritable; greater than
 *                  {@code lowBytes}
 * @since 0.1.0
 */
public record WriteWaterMark(int lowBytes, int highBytes) {

    /** Default low water mark: 128 KiB. */
    public static final int DEFAULT_LOW_BYTES = 128 * 1024;
    /** Default high water mark: 256 KiB. */
    public static final int DEFAULT_HIGH_BYTES = 256 * 1024;
    /** The default marks: 128 KiB and 256 KiB. */
    public static final WriteWaterMark DEFAULT = new WriteWaterMark(DEFAULT_LOW_BYTES, DEFAULT_HIGH_BYTES);

    /**
     * Validates the marks.
     *
     * @param lowBytes the backlog below which a connection is writable again
     * @param highBytes the backlog above which a connection is unwritable
     * @throws IllegalArgumentException if {@code lowBytes} is negative or not below
     *                                  {@code highBytes}
     */
    public WriteWaterMark {
        if (lowBytes < 0) {
            throw new IllegalArgumentException("lowBytes must not be negative: " + lowBytes);
        }
        if (highBytes <= lowBytes) {
            throw new IllegalArgumentException(
                    "highBytes must be greater than lowBytes: " + highBytes + " <= " + lowBytes);
        }
    }
}
