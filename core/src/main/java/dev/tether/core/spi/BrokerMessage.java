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
 * @since 0.2.0
 */
public record BrokerMessage(String event, Payload payload, boolean reliable, long requestId) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte VERSION = 1;
    private static final byte TEXT = 0;
    private static final byte JSON_VALUE = 1;
    private static final byte BINARY = 2;

    public BrokerMessage {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(payload, "payload");
        if (requestId < 0) {
            throw new IllegalArgumentException("requestId must not be negative: " + requestId);
        }
    }

    /** A reliable message that expects no reply. */
    public static BrokerMessage reliable(String event, Payload payload) {
        return new BrokerMessage(event, payload, true, 0);
    }

    /** A volatile message. */
    public static BrokerMessage volatileMessage(String event, Payload payload) {
        return new BrokerMessage(event, payload, false, 0);
    }

    /**
     * The binary form: {@code [version 1][flags: bit 0 reliable][payload kind: 0 text, 1 JSON, 2
     * bytes][request id: 8 bytes][event length: 4 bytes][event: UTF-8][payload: UTF-8 or bytes]},
     * integers big-endian.
     */
    public byte[] toBytes() {
        byte[] name = event.getBytes(StandardCharsets.UTF_8);
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
        return ByteBuffer.allocate(3 + 8 + 4 + name.length + body.length)
                .put(VERSION).put((byte) (reliable ? 1 : 0)).put(kind)
                .putLong(requestId).putInt(name.length).put(name).put(body)
                .array();
    }

    /**
     * Reads the binary form of {@link #toBytes()}.
     *
     * @throws IllegalArgumentException if the bytes are not such a form
     */
    public static BrokerMessage fromBytes(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            byte version = in.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("unknown broker message version " + version);
            }
            boolean reliable = (in.get() & 1) != 0;
            byte kind = in.get();
            long requestId = in.getLong();
            int nameLength = in.getInt();
            if (nameLength < 1 || nameLength > in.remaining()) {
                throw new IllegalArgumentException("bad event length " + nameLength);
            }
            String event = new String(bytes, in.position(), nameLength, StandardCharsets.UTF_8);
            int body = in.position() + nameLength;
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
            return new BrokerMessage(event, payload, reliable, requestId);
        } catch (java.nio.BufferUnderflowException | JsonProcessingException e) {
            throw new IllegalArgumentException("malformed broker message: " + e.getMessage(), e);
        }
    }
}
