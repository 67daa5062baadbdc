package dev.tether.socketio.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BinaryNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.spi.EncodedMessage;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.Protocol;
import dev.tether.core.spi.ProtocolException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes the engine's outbound messages of one namespace as Engine.IO {@code message} packets
 * carrying Socket.IO v5 packets, one WebSocket message each ({@code 42/chat,["event",...]}).
 *
 * <p>Payload mapping: a JSON array payload is the argument list; any other payload is one
 * argument. A {@link BinaryNode} anywhere in the arguments (or a {@link Payload.Binary} payload) is
 * sent as an attachment: the packet becomes a BINARY_EVENT with a placeholder, followed by one
 * binary message per attachment (a {@link Frame#followedBy chain}).
 *
 * <p>Offsets: with connection state recovery on, a reliable event without an ack id carries its
 * session sequence number as a string, as its last argument, so that the client hands it back
 * when it reconnects ({@code 42["news",{...},"17"]}). On a clustered hub that number is the
 * event's place in the session's broker feed, the same on every node. The bytes of the event are encoded once and
 * shared; the per-delivery header (type, namespace, ack id) and trailer (offset) are small.
 *
 * <p>Inbound packets need per-connection state (binary attachments arrive in later messages) and
 * are decoded by {@link EngineIoConnection}; {@link #decode} is not used.
 *
 * <p>Threading: immutable and thread-safe.
 */
public final class SocketIoProtocol implements Protocol {

    private static final byte[] CLOSE = {']'};
    private static final byte[] NOOP = {'6'};
    private static final byte[] PING = {'2'};

    private final String namespace;
    /** {@code "/chat,"} or empty for the main namespace. */
    private final String namespacePart;
    private final boolean recovery;

    /**
     * @param namespace the namespace ({@code "/"} or {@code "/name"})
     * @param recovery  whether connection state recovery is on (offsets and pid)
     */
    public SocketIoProtocol(String namespace, boolean recovery) {
        this.namespace = namespace;
        this.namespacePart = namespace.equals("/") ? "" : namespace + ",";
        this.recovery = recovery;
    }

    /**
     * {@code socket.io/5} and the namespace, {@code socket.io/5/chat}: a clustered session's
     * record names it, so that a pid is only recovered into the namespace that issued it.
     */
    @Override
    public String name() {
        return "socket.io/5" + namespace;
    }

    /** The namespace this protocol encodes for. */
    public String namespace() {
        return namespace;
    }

    @Override
    public InboundFrame decode(ByteBuffer data, boolean binary) throws ProtocolException {
        throw new ProtocolException(CloseCodes.BAD_REQUEST, "socket.io packets are decoded per connection");
    }

    /** An event encoded once: the JSON array without its closing bracket, and its attachments. */
    record Encoded(byte[] body, byte[][] attachments) implements EncodedMessage {
        @Override
        public int sizeBytes() {
            int n = body.length;
            for (byte[] a : attachments) {
                n += a.length;
            }
            return n;
        }
    }

    @Override
    public EncodedMessage encode(String event, Payload payload, String topic) {
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        array.add(event);
        addArguments(array, payload);
        List<byte[]> attachments = new ArrayList<>(0);
        JsonNode plain = replaceBinary(array, attachments);
        byte[] json = bytes(plain);
        byte[] body = new byte[json.length - 1]; // without the closing ']'
        System.arraycopy(json, 0, body, 0, body.length);
        return new Encoded(body, attachments.toArray(new byte[0][]));
    }

    private static void addArguments(ArrayNode array, Payload payload) {
        if (payload instanceof Payload.Json j && j.value().isArray()) {
            array.addAll((ArrayNode) j.value());
        } else if (payload instanceof Payload.Json j) {
            array.add(j.value());
        } else if (payload instanceof Payload.Text t) {
            array.add(t.value());
        } else {
            array.add(((Payload.Binary) payload).toByteArray());
        }
    }

    /** A copy of {@code node} with every binary value replaced by a placeholder, or {@code node}. */
    static JsonNode replaceBinary(JsonNode node, List<byte[]> attachments) {
        if (node instanceof BinaryNode b) {
            ObjectNode placeholder = JsonNodeFactory.instance.objectNode();
            placeholder.put("_placeholder", true);
            placeholder.put("num", attachments.size());
            attachments.add(b.binaryValue());
            return placeholder;
        }
        if (!containsBinary(node)) {
            return node;
        }
        if (node.isArray()) {
            ArrayNode copy = JsonNodeFactory.instance.arrayNode(node.size());
            for (JsonNode element : node) {
                copy.add(replaceBinary(element, attachments));
            }
            return copy;
        }
        ObjectNode copy = JsonNodeFactory.instance.objectNode();
        node.properties().forEach(e -> copy.set(e.getKey(), replaceBinary(e.getValue(), attachments)));
        return copy;
    }

    private static boolean containsBinary(JsonNode node) {
        if (node.isBinary()) {
            return true;
        }
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                if (containsBinary(child)) {
                    return true;
                }
            }
        }
        return false;
    }

    static byte[] bytes(JsonNode node) {
        try {
            return SioPacket.MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Frame frame(long seq, long requestId, EncodedMessage message) {
        Encoded e = (Encoded) message;
        StringBuilder header = new StringBuilder(16 + namespacePart.length());
        header.append('4');
        appendType(header, SioPacket.EVENT, e.attachments().length);
        header.append(namespacePart);
        if (requestId > 0) {
            header.append(requestId);
        }
        ByteBuffer trailer;
        if (recovery && requestId == 0 && seq > 0) {
            trailer = ByteBuffer.wrap((",\"" + seq + "\"]").getBytes(StandardCharsets.US_ASCII));
        } else {
            trailer = ByteBuffer.wrap(CLOSE).asReadOnlyBuffer();
        }
        Frame text = Frame.text(ascii(header), ByteBuffer.wrap(e.body()).asReadOnlyBuffer(), trailer);
        return withAttachments(text, e.attachments());
    }

    private static void appendType(StringBuilder b, int plainType, int attachments) {
        if (attachments == 0) {
            b.append(plainType);
        } else {
            b.append(plainType + 3).append(attachments).append('-');
        }
    }

    private static Frame withAttachments(Frame text, byte[][] attachments) {
        if (attachments.length == 0) {
            return text;
        }
        Frame tail = null;
        for (int i = attachments.length - 1; i >= 0; i--) {
            Frame f = Frame.binary(ByteBuffer.wrap(attachments[i]).asReadOnlyBuffer());
            tail = tail == null ? f : f.followedBy(tail);
        }
        return text.followedBy(tail);
    }

    @Override
    public Frame frame(OutboundFrame frame) {
        if (frame instanceof OutboundFrame.Welcome w) {
            ObjectNode reply = JsonNodeFactory.instance.objectNode();
            reply.put("sid", w.sessionId());
            if (recovery) {
                reply.put("pid", PrivateSessionId.of(w.sessionId(), w.resumeToken()));
            }
            return text("40" + namespacePart, bytes(reply));
        }
        if (frame instanceof OutboundFrame.Reply r) {
            return ack(r.requestId(), r.payload());
        }
        if (frame instanceof OutboundFrame.ReplyError r) {
            ObjectNode error = JsonNodeFactory.instance.objectNode();
            error.put("error", r.code());
            error.put("message", r.message());
            return ack(r.requestId(), Payload.json(error));
        }
        if (frame instanceof OutboundFrame.Ping) {
            return Frame.text(ByteBuffer.wrap(PING).asReadOnlyBuffer());
        }
        // Acks, subscriptions, gaps and reconnect hints have no Socket.IO counterpart.
        return Frame.text(ByteBuffer.wrap(NOOP).asReadOnlyBuffer());
    }

    /** The ACK for a client's request: the engine's request id is the wire ack id plus one. */
    private Frame ack(long requestId, Payload payload) {
        ArrayNode args = JsonNodeFactory.instance.arrayNode();
        addArguments(args, payload);
        List<byte[]> attachments = new ArrayList<>(0);
        JsonNode plain = replaceBinary(args, attachments);
        StringBuilder header = new StringBuilder();
        header.append('4');
        appendType(header, SioPacket.ACK, attachments.size());
        header.append(namespacePart).append(requestId - 1);
        return withAttachments(text(header.toString(), bytes(plain)), attachments.toArray(new byte[0][]));
    }

    /** {@code 44/nsp,{"message":...}}: a refused namespace connect. */
    public Frame connectError(String message) {
        ObjectNode error = JsonNodeFactory.instance.objectNode();
        error.put("message", message);
        return text("44" + namespacePart, bytes(error));
    }

    /** {@code 41/nsp,}: the server disconnects the socket of this namespace. */
    public Frame disconnect() {
        return Frame.text(ascii("41" + namespacePart));
    }

    private static Frame text(String header, byte[] json) {
        return Frame.text(ascii(header), ByteBuffer.wrap(json));
    }

    private static ByteBuffer ascii(CharSequence s) {
        return ByteBuffer.wrap(s.toString().getBytes(StandardCharsets.UTF_8));
    }
}
