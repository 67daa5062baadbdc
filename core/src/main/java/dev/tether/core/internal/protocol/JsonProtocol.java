package dev.tether.core.internal.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.spi.EncodedMessage;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.Protocol;
import dev.tether.core.spi.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The native protocol, {@code tether-json}, versions 1 and 2, as specified in PROTOCOL.md. Which
 * version a connection speaks is the engine's business (negotiated with {@code hello}); decoding
 * accepts the frames of both. Stateless and thread-safe.
 */
public final class JsonProtocol implements Protocol {

    /** The shared instance. */
    public static final JsonProtocol INSTANCE = new JsonProtocol();

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory FACTORY = MAPPER.getFactory();
    private static final byte[] MSG_OPEN = "{\"t\":\"msg\"".getBytes(StandardCharsets.US_ASCII);

    private JsonProtocol() {
    }

    /**
     * Still {@code tether-json/1} although versions 2 and 3 are spoken: the name is recorded with
     * every clustered session and compared on resume, and versions 2 and 3 only add frames and
     * fields, so a session recorded by a node of an earlier release must stay resumable.
     */
    @Override
    public String name() {
        return "tether-json/1";
    }

    // ---------------------------------------------------------------- decode

    @Override
    public InboundFrame decode(ByteBuffer data, boolean binary) throws ProtocolException {
        try {
            if (!binary) {
                return decodeObject(data, null);
            }
            if (data.remaining() < 4) {
                throw bad("binary frame shorter than its header length");
            }
            int headerLength = data.getInt(data.position());
            if (headerLength < 2 || headerLength > data.remaining() - 4) {
                throw bad("binary frame header length out of range");
            }
            ByteBuffer header = data.duplicate();
            header.position(data.position() + 4).limit(data.position() + 4 + headerLength);
            ByteBuffer body = data.duplicate();
            body.position(data.position() + 4 + headerLength);
            byte[] bytes = new byte[body.remaining()];
            body.get(bytes);
            return decodeObject(header, Payload.Binary.wrap(bytes));
        } catch (IOException e) {
            throw bad("malformed JSON");
        }
    }

    private static ProtocolException bad(String why) {
        return new ProtocolException(CloseCodes.BAD_REQUEST, why);
    }

    private static InboundFrame decodeObject(ByteBuffer data, Payload binaryPayload)
            throws IOException, ProtocolException {
        Fields f = new Fields();
        try (JsonParser p = parser(data)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw bad("frame is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                switch (name) {
                    case "t" -> f.type = string(p, value, "t", f);
                    case "e" -> f.event = string(p, value, "e", f);
                    case "topic" -> f.topic = string(p, value, "topic", f);
                    case "sid" -> f.sid = string(p, value, "sid", f);
                    case "token" -> f.token = string(p, value, "token", f);
                    case "seq" -> f.seq = number(p, value, "seq", f);
                    case "rid" -> f.rid = number(p, value, "rid", f);
                    case "id" -> f.id = number(p, value, "id", f);
                    case "last" -> f.last = number(p, value, "last", f);
                    case "attempt" -> f.attempt = number(p, value, "attempt", f);
                    case "pos" -> f.pos = number(p, value, "pos", f);
                    case "ack" -> f.ack = number(p, value, "ack", f);
                    case "v" -> f.version = number(p, value, "v", f);
                    case "d" -> {
                        JsonNode node = MAPPER.readTree(p);
                        f.payload = node == null ? Payload.EMPTY : Payload.json(node);
                    }
                    case "err" -> readError(p, value, f);
                    default -> p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw bad("trailing data after the frame object");
            }
        }
        if (binaryPayload != null) {
            if (!"msg".equals(f.type) && !"reply".equals(f.type)) {
                InboundFrame frame = toFrame(f);
                if (frame instanceof InboundFrame.Unknown) {
                    return frame; // a later version's frame type may well be binary
                }
                throw bad("only msg and reply may be binary");
            }
            if (f.payload != null || f.errCode != null) {
                throw bad("a binary frame carries its payload after the header, not in 'd'");
            }
            f.payload = binaryPayload;
        }
        return toFrame(f);
    }

    private static JsonParser parser(ByteBuffer data) throws IOException {
        if (data.hasArray()) {
            return FACTORY.createParser(data.array(), data.arrayOffset() + data.position(), data.remaining());
        }
        byte[] copy = new byte[data.remaining()];
        data.duplicate().get(copy);
        return FACTORY.createParser(copy);
    }

    private static InboundFrame toFrame(Fields f) throws ProtocolException {
        if (f.type == null) {
            throw bad(f.invalid != null ? f.invalid : "frame has no type 't'");
        }
        if (f.invalid != null && KNOWN_TYPES.contains(f.type)) {
            throw bad(f.invalid); // an unknown type's fields may mean anything: they are not checked
        }
        switch (f.type) {
            case "hello":
                if (f.version < 1) {
                    throw bad("hello needs a protocol version 'v' of at least 1");
                }
                if ((f.sid == null) != (f.token == null)) {
                    throw bad("resume needs both 'sid' and 'token'");
                }
                // A later client speaks this server's highest version (PROTOCOL.md §3).
                return new InboundFrame.Hello(f.sid, f.token, Math.max(0, f.last), Math.max(0, f.attempt),
                        (int) Math.min(f.version, Integer.MAX_VALUE), Math.max(0, f.pos));
            case "auth":
                if (f.id <= 0 || f.token == null || f.token.isEmpty()) {
                    throw bad("auth needs a positive 'id' and a 'token'");
                }
                return new InboundFrame.Auth(f.id, f.token);
            case "msg":
                if (f.event == null || f.event.isEmpty()) {
                    throw bad("msg needs a non-empty event 'e'");
                }
                if (f.seq == 0) {
                    throw bad("seq must be positive");
                }
                if (f.rid == 0) {
                    throw bad("rid must be positive");
                }
                if (f.rid > 0 && f.seq < 0) {
                    throw bad("a request must be reliable (have 'seq')");
                }
                if (f.rid > 0 && f.topic != null) {
                    throw bad("a publish is never answered: no 'rid' with 'topic'");
                }
                return new InboundFrame.Msg(Math.max(0, f.seq), Math.max(0, f.rid), f.event,
                        f.payload == null ? Payload.EMPTY : f.payload, f.topic);
            case "reply":
                if (f.rid <= 0) {
                    throw bad("reply needs a positive 'rid'");
                }
                if (f.errCode != null) {
                    return new InboundFrame.Reply(f.rid, null, f.errCode,
                            f.errMessage == null ? "" : f.errMessage);
                }
                return new InboundFrame.Reply(f.rid, f.payload == null ? Payload.EMPTY : f.payload, null, null);
            case "ack":
                if (f.seq < 0) {
                    throw bad("ack needs 'seq'");
                }
                return new InboundFrame.Ack(f.seq);
            case "pong":
                return new InboundFrame.Pong(f.ack);
            case "sub":
            case "unsub":
                if (f.id <= 0 || f.topic == null || f.topic.isEmpty()) {
                    throw bad(f.type + " needs a positive 'id' and a 'topic'");
                }
                return f.type.equals("sub") ? new InboundFrame.Subscribe(f.id, f.topic)
                        : new InboundFrame.Unsubscribe(f.id, f.topic);
            case "welcome":
            case "ping":
            case "ok":
            case "error":
            case "gap":
            case "reconnect":
                throw bad("'" + f.type + "' is a server-to-client frame");
            default:
                // PROTOCOL.md §2: a later protocol version's frame; the engine ignores it after hello.
                return new InboundFrame.Unknown(f.type);
        }
    }

    /** A string field's value; otherwise the value is skipped, the error noted and null returned. */
    private static String string(JsonParser p, JsonToken token, String field, Fields f) throws IOException {
        if (token != JsonToken.VALUE_STRING) {
            f.invalid("'" + field + "' must be a string");
            p.skipChildren();
            return null;
        }
        return p.getText();
    }

    /** A non-negative integer field's value; otherwise the value is skipped, the error noted and -1 returned. */
    private static long number(JsonParser p, JsonToken token, String field, Fields f) throws IOException {
        if (token != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            f.invalid("'" + field + "' must be an integer");
            p.skipChildren();
            return -1;
        }
        long v = p.getLongValue();
        if (v < 0) {
            f.invalid("'" + field + "' must not be negative");
            return -1;
        }
        return v;
    }

    private static void readError(JsonParser p, JsonToken token, Fields f) throws IOException {
        if (token != JsonToken.START_OBJECT) {
            f.invalid("'err' must be an object");
            p.skipChildren();
            return;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (name.equals("code")) {
                f.errCode = string(p, value, "err.code", f);
            } else if (name.equals("message")) {
                f.errMessage = string(p, value, "err.message", f);
            } else {
                p.skipChildren();
            }
        }
        if (f.errCode == null) {
            f.errCode = "error";
        }
    }

    /** The frame types a client may send or the server sends: the ones whose fields are checked. */
    private static final Set<String> KNOWN_TYPES = Set.of(
            "hello", "msg", "reply", "ack", "pong", "sub", "unsub",
            "welcome", "ping", "ok", "error", "gap", "reconnect");

    /** Scratch holder for one decode; -1 marks an absent number. */
    private static final class Fields {
        /** The first field of a known name with a value of the wrong shape, or null. */
        String invalid;
        String type;
        String event;
        String topic;
        String sid;
        String token;
        String errCode;
        String errMessage;
        long seq = -1;
        long rid = -1;
        long id = -1;
        long last = -1;
        long attempt = -1;
        long pos = -1;
        long ack = -1;
        long version = -1;
        Payload payload;

        void invalid(String why) {
            if (invalid == null) {
                invalid = why;
            }
        }
    }

    // ---------------------------------------------------------------- encode

    @Override
    public EncodedMessage encode(String event, Payload payload, String topic) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            // The shared part continues an object the per-delivery prefix opened: start with a comma.
            g.setRootValueSeparator(null);
            g.writeRaw(",\"e\":");
            g.writeString(event);
            if (topic != null) {
                g.writeRaw(",\"topic\":");
                g.writeString(topic);
            }
            if (payload instanceof Payload.Binary binary) {
                g.writeRaw('}');
                g.flush();
                return new Encoded(out.toByteArray(), binary);
            }
            g.writeRaw(",\"d\":");
            writePayload(g, payload);
            g.writeRaw('}');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Encoded(out.toByteArray(), null);
    }

    private static void writePayload(JsonGenerator g, Payload payload) throws IOException {
        if (payload instanceof Payload.Text text) {
            g.writeString(text.value());
        } else {
            MAPPER.writeTree(g, ((Payload.Json) payload).value());
        }
    }

    @Override
    public Frame frame(long seq, long requestId, EncodedMessage message) {
        return frame(seq, requestId, 0, message);
    }

    @Override
    public Frame frame(long seq, long requestId, long position, EncodedMessage message) {
        Encoded m = (Encoded) message;
        int prefixLength = MSG_OPEN.length + (seq > 0 ? 7 + digits(seq) : 0) + (requestId > 0 ? 7 + digits(requestId) : 0)
                + (position > 0 ? 7 + digits(position) : 0);
        boolean binary = m.binary != null;
        ByteBuffer prefix = ByteBuffer.allocate(prefixLength + (binary ? 4 : 0));
        if (binary) {
            prefix.putInt(prefixLength + m.shared.length);
        }
        prefix.put(MSG_OPEN);
        if (seq > 0) {
            putField(prefix, ",\"seq\":", seq);
        }
        if (requestId > 0) {
            putField(prefix, ",\"rid\":", requestId);
        }
        if (position > 0) {
            putField(prefix, ",\"pos\":", position);
        }
        prefix.flip();
        ByteBuffer shared = m.view.duplicate(); // one object per delivery; the bytes are shared
        if (binary) {
            return Frame.binary(prefix, shared, m.binary.buffer());
        }
        return Frame.text(prefix, shared);
    }

    private static void putField(ByteBuffer out, String name, long value) {
        for (int i = 0; i < name.length(); i++) {
            out.put((byte) name.charAt(i));
        }
        int start = out.position();
        int n = digits(value);
        for (int i = n - 1; i >= 0; i--) {
            out.put(start + i, (byte) ('0' + value % 10));
            value /= 10;
        }
        out.position(start + n);
    }

    static int digits(long v) {
        int n = 1;
        while (v >= 10) {
            v /= 10;
            n++;
        }
        return n;
    }

    @Override
    public Frame frame(OutboundFrame frame) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(96);
        Payload.Binary binaryPayload = null;
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            if (frame instanceof OutboundFrame.Welcome w) {
                g.writeStringField("t", "welcome");
                g.writeNumberField("v", w.version());
                g.writeStringField("sid", w.sessionId());
                g.writeStringField("token", w.resumeToken());
                g.writeBooleanField("resumed", w.resumed());
                g.writeNumberField("lastClientSeq", w.lastClientSeq());
                g.writeNumberField("hb", w.heartbeatIntervalMs());
                g.writeNumberField("hbTimeout", w.heartbeatTimeoutMs());
                g.writeNumberField("maxMessageBytes", w.maxMessageBytes());
                if (w.reason() != null) {
                    g.writeObjectFieldStart("gap");
                    g.writeNumberField("from", w.gapFrom());
                    g.writeNumberField("to", w.gapTo());
                    g.writeStringField("reason", w.reason());
                    g.writeEndObject();
                }
            } else if (frame instanceof OutboundFrame.Ack a) {
                g.writeStringField("t", "ack");
                g.writeNumberField("seq", a.seq());
            } else if (frame instanceof OutboundFrame.Ping p) {
                g.writeStringField("t", "ping");
                if (p.ack() > 0) { // PROTOCOL.md §2: integers are 1..2^53-1; nothing to acknowledge yet
                    g.writeNumberField("ack", p.ack());
                }
            } else if (frame instanceof OutboundFrame.Reply r) {
                g.writeStringField("t", "reply");
                g.writeNumberField("rid", r.requestId());
                if (r.payload() instanceof Payload.Binary b) {
                    binaryPayload = b;
                } else {
                    g.writeFieldName("d");
                    writePayload(g, r.payload());
                }
            } else if (frame instanceof OutboundFrame.ReplyError r) {
                g.writeStringField("t", "reply");
                g.writeNumberField("rid", r.requestId());
                g.writeObjectFieldStart("err");
                g.writeStringField("code", r.code());
                g.writeStringField("message", r.message());
                g.writeEndObject();
            } else if (frame instanceof OutboundFrame.Ok o) {
                g.writeStringField("t", "ok");
                g.writeNumberField("id", o.id());
                if (o.expiresAtMs() > 0) {
                    g.writeNumberField("exp", o.expiresAtMs());
                }
            } else if (frame instanceof OutboundFrame.Error e) {
                g.writeStringField("t", "error");
                if (e.id() > 0) {
                    g.writeNumberField("id", e.id());
                } else {
                    g.writeNumberField("seq", e.seq());
                }
                g.writeStringField("code", e.code());
                g.writeStringField("message", e.message());
            } else if (frame instanceof OutboundFrame.Gap gap) {
                g.writeStringField("t", "gap");
                g.writeNumberField("from", gap.from());
                g.writeNumberField("to", gap.to());
                g.writeStringField("reason", gap.reason());
            } else if (frame instanceof OutboundFrame.Reconnect r) {
                g.writeStringField("t", "reconnect");
                g.writeNumberField("afterMs", r.afterMs());
            } else if (frame instanceof OutboundFrame.Refresh r) {
                g.writeStringField("t", "refresh");
                g.writeNumberField("exp", r.expiresAtMs());
                g.writeNumberField("expiresInMs", r.expiresInMs());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] json = out.toByteArray();
        if (binaryPayload != null) {
            ByteBuffer header = ByteBuffer.allocate(4 + json.length);
            header.putInt(json.length).put(json).flip();
            return Frame.binary(header, binaryPayload.buffer());
        }
        return Frame.text(ByteBuffer.wrap(json));
    }

    /** The session-independent part of a message: shared, never modified. */
    private static final class Encoded implements EncodedMessage {
        /** Text: {@code ,"e":…,"d":…}} — Binary: the header's tail {@code ,"e":…}}. */
        final byte[] shared;
        /** A read-only view of {@link #shared}, duplicated per delivery (never consumed itself). */
        final ByteBuffer view;
        final Payload.Binary binary;

        Encoded(byte[] shared, Payload.Binary binary) {
            this.shared = shared;
            this.view = ByteBuffer.wrap(shared).asReadOnlyBuffer();
            this.binary = binary;
        }

        @Override
        public int sizeBytes() {
            return shared.length + (binary == null ? 0 : binary.length());
        }
    }
}
