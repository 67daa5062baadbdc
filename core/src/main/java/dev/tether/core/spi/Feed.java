package dev.tether.core.spi;

import java.util.List;
import java.util.Objects;

/**
 * Part of a session's feed, read back from a {@link Broker}.
 *
 * @param entries  the entries in position order (empty when not complete)
 * @param complete whether every entry of the range was still held
 * @param reason   why not complete ({@code "trimmed"}, {@code "expired"}, {@code "reset"}), or null
 * @since 0.1.0
 */
public record Feed(List<Entry> entries, boolean complete, String reason) {

    /**
     * Copies the entries.
     *
     * @param entries the entries in position order
     * @param complete whether every entry of the range was still held
     * @param reason why not complete, or null
     */
    public Feed {
        entries = List.copyOf(entries);
    }

    /**
     * A complete part of a feed.
     *
     * @param entries the entries in position order
     * @return a complete feed of those entries
     */
    public static Feed of(List<Entry> entries) {
        return new Feed(entries, true, null);
    }

    /**
     * A part of a feed that is not held any more.
     *
     * @param reason {@code "trimmed"}, {@code "expired"} or {@code "reset"}
     * @return an incomplete feed without entries
     */
    public static Feed incomplete(String reason) {
        return new Feed(List.of(), false, Objects.requireNonNull(reason, "reason"));
    }

    /**
     * One entry of a feed.
     *
     * @param position its position
     * @param topic    the topic it was published on, or null for a direct message
     * @param message  the message
     */
    public record Entry(long position, String topic, BrokerMessage message) {
        /**
         * Checks that there is a message.
         *
         * @param position its position
         * @param topic the topic it was published on, or null for a direct message
         * @param message the message
         */
        public Entry {
            Objects.requireNonNull(message, "message");
        }
    }
}
