package dev.tether.client.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.Payload;

/**
 * One decoded frame from the server: its type, its JSON object (the header of a binary frame),
 * and, for a binary frame, its bytes. Field accessors validate and throw {@link FrameException}.
 *
 * <p>Immutable; any thread.
 */
final class ServerFrame {

    /** Largest integer the protocol allows (2^53-1, exact in every JSON implementation). */
    static final long MAX_INT = (1L << 53) - 1;

    private final String type;
    private final JsonNode object;
    private final Payload binary;

    ServerFrame(String type, JsonNode object, Payload binary) {
        this.type = type;
        this.object = object;
        this.binary = binary;
    }

    /** The {@code t} field. */
    String type() {
        return type;
    }

    /** The payload: the binary part of a binary frame, else {@code d} (missing means JSON null). */
    Payload payload() {
        if (binary != null) {
            return binary;
        }
        JsonNode d = object.get("d");
        return d == null || d.isNull() ? Payload.EMPTY : Payload.json(d);
    }

    /** Whether the field is present and not JSON null. */
    boolean has(String name) {
        JsonNode n = object.get(name);
        return n != null && !n.isNull();
    }

    /** A required integer in {@code min..2^53-1}. */
    long longField(String name, long min) throws FrameException {
        JsonNode n = object.get(name);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new FrameException("'" + type + "' needs an integer '" + name + "'");
        }
        long v = n.longValue();
        if (v < min || v > MAX_INT) {
            throw new FrameException("'" + type + "'." + name + " out of range: " + v);
        }
        return v;
    }

    /** An optional integer in {@code min..2^53-1}, or {@code absent}. */
    long longField(String name, long min, long absent) throws FrameException {
        return has(name) ? longField(name, min) : absent;
    }

    /** A required string. */
    String textField(String name) throws FrameException {
        JsonNode n = object.get(name);
        if (n == null || !n.isTextual()) {
            throw new FrameException("'" + type + "' needs a string '" + name + "'");
        }
        return n.textValue();
    }

    /** An optional string, or {@code null}. */
    String textField(String name, String absent) throws FrameException {
        return has(name) ? textField(name) : absent;
    }

    /** A required boolean. */
    boolean booleanField(String name) throws FrameException {
        JsonNode n = object.get(name);
        if (n == null || !n.isBoolean()) {
            throw new FrameException("'" + type + "' needs a boolean '" + name + "'");
        }
        return n.booleanValue();
    }

    /** A nested object, or {@code null} if absent. */
    ServerFrame objectField(String name) throws FrameException {
        JsonNode n = object.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new FrameException("'" + type + "'." + name + " must be an object");
        }
        return new ServerFrame(type + "." + name, n, null);
    }

    @Override
    public String toString() {
        return binary == null ? object.toString() : object + "+" + binary;
    }
}
