package dev.tether.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The content of a message: a JSON value, a text or bytes. Immutable and safe to share between
 * threads and sessions.
 *
 * <p>A {@link Json} payload must not be mutated after it was handed to Tether: the node is
 * encoded later, on another thread, and possibly shared.
 *
 * @since 0.1.0
 */
public sealed interface Payload permits Payload.Json, Payload.Text, Payload.Binary {

    /** The empty payload: JSON {@code null}. */
    Payload EMPTY = new Json(com.fasterxml.jackson.databind.node.NullNode.getInstance());

    /**
     * A JSON value. A JSON string is normalised to a {@link Text}.
     *
     * @param value the JSON value; Tether keeps it, so it must not change afterwards
     * @return a {@link Json} payload, or a {@link Text} for a JSON string
     */
    static Payload json(JsonNode value) {
        Objects.requireNonNull(value, "value");
        return value.isTextual() ? new Text(value.textValue()) : new Json(value);
    }

    /**
     * A text.
     *
     * @param value the text
     * @return a {@link Text} payload
     */
    static Payload text(String value) {
        return new Text(value);
    }

    /**
     * Bytes.
     *
     * @param value the bytes, copied
     * @return a {@link Binary} payload
     */
    static Payload binary(byte[] value) {
        return new Binary(value.clone());
    }

    /**
     * A JSON value other than a string.
     *
     * @param value the JSON value, never null
     */
    record Json(JsonNode value) implements Payload {
        /**
         * Checks that the value is not null.
         *
         * @param value the JSON value
         */
        public Json {
            Objects.requireNonNull(value, "value");
        }
    }

    /**
     * A text, sent as a JSON string.
     *
     * @param value the text, never null
     */
    record Text(String value) implements Payload {
        /**
         * Checks that the value is not null.
         *
         * @param value the text
         */
        public Text {
            Objects.requireNonNull(value, "value");
        }
    }

    /** Bytes, sent in a binary frame. The array is owned by this payload and never exposed. */
    final class Binary implements Payload {
        private final byte[] bytes;

        private Binary(byte[] bytes) {
            this.bytes = bytes;
        }

        /**
         * Wraps without copying; the caller gives up the array. For codecs.
         *
         * @param owned the bytes, which the caller must not touch afterwards
         * @return a payload over {@code owned}
         */
        public static Binary wrap(byte[] owned) {
            return new Binary(Objects.requireNonNull(owned, "owned"));
        }

        /** {@return a read-only view of the bytes} */
        public ByteBuffer buffer() {
            return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        }

        /** {@return a copy of the bytes} */
        public byte[] toByteArray() {
            return bytes.clone();
        }

        /** {@return the number of bytes} */
        public int length() {
            return bytes.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Binary b && Arrays.equals(bytes, b.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Binary[" + bytes.length + " bytes]";
        }
    }

    /** {@return the payload as text: the string, the JSON text, or the bytes decoded as UTF-8} */
    default String asText() {
        if (this instanceof Text t) {
            return t.value();
        }
        if (this instanceof Json j) {
            return j.value().toString();
        }
        return new String(((Binary) this).bytes, StandardCharsets.UTF_8);
    }
}
