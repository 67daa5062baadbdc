package dev.tether.core.spi;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Payload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A message as it travels between nodes: not yet encoded for any wire protocol, since the
 * sessions of each node may speak different ones. {@link #toBytes()} and {@link #fromBytes} are
 * the one binary form every broker stores and ships, so that nodes of any broker agree.
 *
 * @param event     the event name, non-empty
 * @param payload   the content
 * @param reliable  false for a volatile message (never stored, may be dropped)
 * @param requestId a request the receiver answers (direct reliable messages only), or 0
 * @param except    a topic entry only: the id of the one session it is not for (Socket.IO's
 *                  {@code socket.to(room).emit}, which excludes the sender), or null. A broker
 *                  stores, delivers and reads such an entry like any other; the engine leaves it
 *                  out of that session's feed, live and on every read alike, so that the
 *                  session's numbering is the same on every node
 * @since 0.1.0
 */
public record BrokerMessage(String event, Payload payload, boolean reliable, long requestId, String except) {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The form without {@code except}: still written when there is none, so older nodes read it. */
    private static final byte VERSION_1 = 1;
    /** The form with {@code except}, after the event name. */
    private static final byte VERSION_2 = 2;
    private static final byte TEXT = 0;
    private static final byte JSON_VALUE = 1;
    private static final byte BINARY = 2;

    /**
     * Validates the components.
     *
     * @param event the event name, non-empty
     * @param payload the content
     * @param reliable false for a volatile message
     * @param requestId a request the receiver answers, or 0
     * @param except the one session a topic entry is not for, or null
     * @throws NullPointerException if {@code event} or {@code payload} is null
     * @throws IllegalArgumentException if {@code requestId} is negative or {@code except} is empty
     */
    public BrokerMessage {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(payload, "payload");
        if (requestId < 0) {
            throw new IllegalArgumentException("requestId must not be negative: " + requestId);
        }
        if (except != null && except.isEmpty()) {
            throw new IllegalArgumentException("except must be a session id or null");
        }
    }

    /**
     * A message for every recipient ({@code except} null).
     *
     * @param event the event name, non-empty
     * @param payload the content
     * @param reliable false for a volatile message
     * @param requestId a request the receiver answers, or 0
     */
    public BrokerMessage(String event, Payload payload, boolean reliable, long requestId) {
        this(event, payload, reliable, requestId, null);
    }

    /**
     * A reliable message that expects no reply.
     *
     * @param event the event name, non-empty
     * @param payload the content
     * @return the message
     */
    public static BrokerMessage reliable(String event, Payload payload) {
        return new BrokerMessage(event, payload, true, 0);
    }

    /**
     * A volatile message.
     *
     * @param event the event name, non-empty
     * @param payload the content
     * @return the message
     */
    public static BrokerMessage volatileMessage(String event, Payload payload) {
        return new BrokerMessage(event, payload, false, 0);
    }

    /**
     * The binary form, integers big-endian:
     * <pre>
     * [version: 1 byte][flags: 1 byte, bit 0 reliable][payload kind: 1 byte, 0 text, 1 JSON, 2 bytes]
     * [request id: 8 bytes][event length: 4 bytes][event: UTF-8]
     * [except length: 4 bytes][except: UTF-8]      (version 2 only)
     * [payload: UTF-8 or bytes, to the end]
     * </pre>
     * Version 1 is written when {@code except} is null, version 2 otherwise, so that nodes that
     * only know version 1 still read every message but those; {@link #fromBytes} reads both.
     *
     * @return a new array with the binary form
     */
    public byte[] toBytes() {
        byte[] name = event.getBytes(StandardCharsets.UTF_8);
        byte[] excluded = except == null ? null : except.getBytes(StandardCharsets.UTF_8);
        byte kind;
        byte[] body;
        if (payload instanceof Payload.Text t) {
            kind = TEXT;
            body = t.value().getBytes(StandardCharsets.UTF_8);
        } else if (payload instanceof Payload.Json j) {
            kind = JSON_VALUE;
            body = j.value().toString().getBytes(StandardCharsets.UTF_8);
        } else {
            kind = BINARY;
            body = ((Payload.Binary) payload).toByteArray();
        }
        int exceptBytes = excluded == null ? 0 : 4 + excluded.length;
        ByteBuffer out = ByteBuffer.allocate(3 + 8 + 4 + name.length + exceptBytes + body.length)
                .put(excluded == null ? VERSION_1 : VERSION_2).put((byte) (reliable ? 1 : 0)).put(kind)
                .putLong(requestId).putInt(name.length).put(name);
        if (excluded != null) {
            out.putInt(excluded.length).put(excluded);
        }
        return out.put(body).array();
    }

    /**
     * Reads the binary form of {@link #toBytes()}, either version.
     *
     * @param bytes a binary form
     * @return the message it holds
     * @throws IllegalArgumentException if the bytes are not such a form
     */
    public static BrokerMessage fromBytes(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            byte version = in.get();
            if (version != VERSION_1 && version != VERSION_2) {
                throw new IllegalArgumentException("unknown broker message version " + version);
            }
            boolean reliable = (in.get() & 1) != 0;
            byte kind = in.get();
            long requestId = in.getLong();
            String event = utf8(in, 1);
            String except = version == VERSION_2 ? utf8(in, 1) : null;
            int body = in.position();
            int bodyLength = bytes.length - body;
            Payload payload = switch (kind) {
                case TEXT -> Payload.text(new String(bytes, body, bodyLength, StandardCharsets.UTF_8));
                case JSON_VALUE -> Payload.json(JSON.readTree(new String(bytes, body, bodyLength, StandardCharsets.UTF_8)));
                case BINARY -> {
                    byte[] b = new byte[bodyLength];
                    System.arraycopy(bytes, body, b, 0, bodyLength);
                    yield Payload.Binary.wrap(b);
                }
                default -> throw new IllegalArgumentException("unknown payload kind " + kind);
            };
            return new BrokerMessage(event, payload, reliable, requestId, except);
        } catch (java.nio.BufferUnderflowException | JsonProcessingException e) {
            throw new IllegalArgumentException("malformed broker message: " + e.getMessage(), e);
        }
    }

    /** A length-prefixed UTF-8 string of at least {@code min} bytes; advances {@code in} past it. */
    private static String utf8(ByteBuffer in, int min) {
        int length = in.getInt();
        if (length < min || length > in.remaining()) {
            throw new IllegalArgumentException("bad string length " + length);
        }
        String s = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
        return s;
    }
}
