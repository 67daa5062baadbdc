package dev.tether.client.internal;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Payload;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * Encodes the client's frames and decodes the server's, in the {@code tether-json} format of
 * PROTOCOL.md, version {@value #VERSION}: a text frame is a JSON object; a binary frame is a 4-byte unsigned big-endian
 * header length, the JSON header (the object without {@code d}) and the payload bytes.
 *
 * <p>Stateless; any thread. Encoding a payload ({@link #body}) is separate from framing it so
 * that the expensive part runs on the caller's thread and only the frame (which needs the
 * sequence number) is built on the protocol executor.
 */
final class ClientCodec {

    /** The protocol version the client speaks (PROTOCOL.md §3). */
    static final int VERSION = 3;

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory FACTORY = MAPPER.getFactory();
    /** Room for {@code t}, {@code seq}, {@code rid} and the punctuation of a msg frame. */
    private static final int FRAME_OVERHEAD_BYTES = 96;

    private ClientCodec() {
    }

    /**
     * An encoded payload: the JSON text of {@code d}, or the bytes of a binary payload.
     *
     * @param json   the JSON text, or {@code null} for a binary payload
     * @param binary the bytes, or {@code null} for a JSON or text payload
     */
    record Body(String json, Payload.Binary binary) {

        /** An upper bound of the encoded frame's size with these event and topic names. */
        long frameBytes(String event, String topic) {
            long n = FRAME_OVERHEAD_BYTES + utf8Length(event) + (topic == null ? 0 : utf8Length(topic));
            return n + (json != null ? utf8Length(json) : binary.length() + 4L);
        }
    }

    /** Encodes a payload. */
    static Body body(Payload payload) {
        if (payload instanceof Payload.Binary b) {
            return new Body(null, b);
        }
        if (payload instanceof Payload.Text t) {
            return new Body(write(g -> g.writeString(t.value())), null);
        }
        try {
            return new Body(MAPPER.writeValueAsString(((Payload.Json) payload).value()), null);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("payload cannot be encoded as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * {@code hello}: a new session when {@code sid} is {@code null}, else a resume; {@code attempt}
     * numbers the resumes of one session 1, 2, 3, ... so the server can refuse a stale one;
     * {@code position} is the cluster position of message {@code last} (0: none, left out).
     */
    static String hello(String sid, String token, long last, long attempt, long position) {
        return object(g -> {
            g.writeStringField("t", "hello");
            g.writeNumberField("v", VERSION);
            if (sid != null) {
                g.writeStringField("sid", sid);
                g.writeStringField("token", token);
                g.writeNumberField("last", last);
                g.writeNumberField("attempt", attempt);
                if (position > 0) {
                    g.writeNumberField("pos", position);
                }
            }
        });
    }

    /**
     * {@code msg}, as a {@code String} (text frame) or a {@code byte[]} (binary frame).
     *
     * @param seq   the sequence number, or 0 for a volatile message
     * @param rid   the request id, or 0 if no reply is expected
     * @param topic the topic to publish on, or {@code null}
     */
    static Object message(long seq, long rid, String event, String topic, Body body) {
        Fields header = g -> {
            g.writeStringField("t", "msg");
            if (seq > 0) {
                g.writeNumberField("seq", seq);
            }
            if (rid > 0) {
                g.writeNumberField("rid", rid);
            }
            g.writeStringField("e", event);
            if (topic != null) {
                g.writeStringField("topic", topic);
            }
        };
        return framed(header, body);
    }

    /** {@code reply} with a payload, as a {@code String} or a {@code byte[]}. */
    static Object reply(long rid, Body body) {
        return framed(g -> {
            g.writeStringField("t", "reply");
            g.writeNumberField("rid", rid);
        }, body);
    }

    /** {@code reply} with an error. */
    static String replyError(long rid, String code, String message) {
        return object(g -> {
            g.writeStringField("t", "reply");
            g.writeNumberField("rid", rid);
            g.writeObjectFieldStart("err");
            g.writeStringField("code", code);
            g.writeStringField("message", message);
            g.writeEndObject();
        });
    }

    /** {@code ack}: cumulative acknowledgement up to {@code seq}. */
    static String ack(long seq) {
        return object(g -> {
            g.writeStringField("t", "ack");
            g.writeNumberField("seq", seq);
        });
    }

    /** {@code pong}, carrying a cumulative acknowledgement if {@code ack > 0}. */
    static String pong(long ack) {
        return object(g -> {
            g.writeStringField("t", "pong");
            if (ack > 0) {
                g.writeNumberField("ack", ack);
            }
        });
    }

    /** {@code sub} or {@code unsub}. */
    static String topic(boolean subscribe, long id, String topic) {
        return object(g -> {
            g.writeStringField("t", subscribe ? "sub" : "unsub");
            g.writeNumberField("id", id);
            g.writeStringField("topic", topic);
        });
    }

    /** {@code auth}: a fresh token for the live session, answered {@code ok} or {@code error} with {@code id}. */
    static String auth(long id, String token) {
        return object(g -> {
            g.writeStringField("t", "auth");
            g.writeNumberField("id", id);
            g.writeStringField("token", token);
        });
    }

    /** Decodes a text frame. */
    static ServerFrame decode(String text) throws FrameException {
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new FrameException("text frame is not JSON: " + e.getOriginalMessage());
        }
        return frame(node, null);
    }

    /** Decodes a binary frame held in {@code bytes[0..length)}. */
    static ServerFrame decode(byte[] bytes, int length) throws FrameException {
        if (length < 4) {
            throw new FrameException("binary frame shorter than its 4-byte header length");
        }
        long headerLength = ((bytes[0] & 0xFFL) << 24) | ((bytes[1] & 0xFFL) << 16)
                | ((bytes[2] & 0xFFL) << 8) | (bytes[3] & 0xFFL);
        if (headerLength > length - 4L) {
            throw new FrameException("binary frame header length " + headerLength
                    + " exceeds the frame (" + length + " bytes)");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(bytes, 4, (int) headerLength);
        } catch (IOException e) {
            throw new FrameException("binary frame header is not JSON: " + e.getMessage());
        }
        int start = 4 + (int) headerLength;
        return frame(node, Payload.Binary.wrap(Arrays.copyOfRange(bytes, start, length)));
    }

    private static ServerFrame frame(JsonNode node, Payload binary) throws FrameException {
        if (node == null || !node.isObject()) {
            throw new FrameException("frame is not a JSON object");
        }
        JsonNode t = node.get("t");
        if (t == null || !t.isTextual()) {
            throw new FrameException("frame has no string 't'");
        }
        return new ServerFrame(t.textValue(), node, binary);
    }

    /** Bytes of {@code s} in UTF-8, without encoding it. */
    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isSurrogate(c)) {
                n += 2; // a pair is 4 bytes
            } else {
                n += 3;
            }
        }
        return n;
    }

    @FunctionalInterface
    private interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    private static Object framed(Fields header, Body body) {
        if (body.binary() == null) {
            return object(g -> {
                header.write(g);
                g.writeFieldName("d");
                g.writeRawValue(body.json());
            });
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        out.write(0);
        out.write(0);
        out.write(0);
        out.write(0);
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            header.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int headerEnd = out.size();
        int headerLength = headerEnd - 4;
        Payload.Binary payload = body.binary();
        byte[] frame = Arrays.copyOf(out.toByteArray(), headerEnd + payload.length());
        frame[0] = (byte) (headerLength >>> 24);
        frame[1] = (byte) (headerLength >>> 16);
        frame[2] = (byte) (headerLength >>> 8);
        frame[3] = (byte) headerLength;
        payload.buffer().get(frame, headerEnd, payload.length());
        return frame;
    }

    private static String object(Fields fields) {
        return write(g -> {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        });
    }

    private static String write(Fields fields) {
        StringWriter out = new StringWriter(64);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            fields.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }
}
