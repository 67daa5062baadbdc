package dev.tether.core.spi;

/**
 * An application message encoded once by a {@link Protocol}, independently of the session it goes
 * to, so that a topic publish shares the bytes between every subscriber's queue. Immutable and
 * safe to share between threads. Only the protocol that made it can frame it.
 *
 * @since 0.1.0
 */
public interface EncodedMessage {

    /** {@return the size of the shared bytes, counted against replay buffer limits} */
    int sizeBytes();
}
