package dev.tether.core;

/**
 * A registered listener; {@link #close()} removes it.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface Registration extends AutoCloseable {

    /**
     * Removes the listener: no call to it starts after this returns (one under way may finish).
     * Idempotent; any thread.
     */
    @Override
    void close();
}
