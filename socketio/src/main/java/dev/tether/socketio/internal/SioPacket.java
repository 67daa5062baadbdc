package dev.tether.socketio.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.CloseCodes;
import dev.tether.core.spi.ProtocolException;
import java.io.IOException;
import java.util.Set;

/**
 * One decoded Socket.IO v5 packet (the part after the Engine.IO {@code 4} message type):
 * {@code <type>[<attachments>-][<nsp>,][<ackId>][JSON]}.
 *
 * @param type        {@link #CONNECT} .. {@link #BINARY_ACK}
 * @param namespace   the namespace, {@code "/"} when absent
 * @param ackId       the acknowledgement id, or -1
 * @param attachments the number of binary attachments that follow (binary types only)
 * @param data        the JSON payload, or {@code null}
 */
record SioPacket(int type, String namespace, long ackId, int attachments, JsonNode data) {

    static final int CONNECT = 0;
    static final int DISCONNECT = 1;
    static final int EVENT = 2;
    static final int ACK = 3;
    static final int CONNECT_ERROR = 4;
    static final int BINARY_EVENT = 5;
    static final int BINARY_ACK = 6;

    /** Event names a client may not emit (the reference parser refuses them too). */
    static final Set<String> RESERVED_EVENTS = Set.of("connect", "connect_error", "disconnect",
            "disconnecting", "newListener", "removeListener");

    static final ObjectMapper MAPPER = new ObjectMapper();

    /** Longest ack id we accept, in digits: keeps it a safe long. */
    private static final int MAX_ACK_DIGITS = 15;
    private static final int MAX_NAMESPACE_CHARS = 256;

    /**
     * Parses {@code text} from index {@code from} (just after the Engine.IO type).
     *
     * @param maxAttachments the most attachments a binary packet may announce
     * @throws ProtocolException for anything the reference parser would refuse
     */
    static SioPacket parse(String text, int from, int maxAttachments) throws ProtocolException {
        int i = from;
        int n = text.length();
        if (i >= n) {
            throw bad("empty socket.io packet");
        }
        int type = text.charAt(i++) - '0';
        if (type < CONNECT || type > BINARY_ACK) {
            throw bad("unknown socket.io packet type");
        }
        int attachments = 0;
        if (type == BINARY_EVENT || type == BINARY_ACK) {
            int start = i;
            while (i < n && Character.isDigit(text.charAt(i)) && i - start < 4) {
                i++;
            }
            if (i == start || i >= n || text.charAt(i) != '-') {
                throw bad("illegal attachments");
            }
            attachments = Integer.parseInt(text, start, i, 10);
            i++;
            if (attachments < 1 || attachments > maxAttachments) {
                throw bad("too many attachments");
            }
        }
        String namespace = "/";
        if (i < n && text.charAt(i) == '/') {
            int comma = text.indexOf(',', i);
            int end = comma < 0 ? n : comma;
            if (end - i > MAX_NAMESPACE_CHARS) {
                throw bad("namespace too long");
            }
            namespace = text.substring(i, end);
            i = comma < 0 ? n : comma + 1;
        }
        long ackId = -1;
        int digits = i;
        while (i < n && Character.isDigit(text.charAt(i))) {
            i++;
        }
        if (i > digits) {
            if (i - digits > MAX_ACK_DIGITS) {
                throw bad("ack id too long");
            }
            ackId = Long.parseLong(text, digits, i, 10);
        }
        JsonNode data = null;
        if (i < n) {
            try {
                data = MAPPER.readTree(text.substring(i));
            } catch (IOException | RuntimeException e) {
                throw bad("invalid payload");
            }
        }
        SioPacket packet = new SioPacket(type, namespace, ackId, attachments, data);
        packet.validate();
        return packet;
    }

    private void validate() throws ProtocolException {
        switch (type) {
            case CONNECT -> {
                if (data != null && !data.isObject()) {
                    throw bad("invalid connect payload");
                }
            }
            case DISCONNECT -> {
                if (data != null) {
                    throw bad("disconnect carries no payload");
                }
            }
            case EVENT, BINARY_EVENT -> {
                if (data == null || !data.isArray() || data.isEmpty()
                        || !(data.get(0).isTextual() || data.get(0).isNumber())) {
                    throw bad("invalid event payload");
                }
                if (data.get(0).isTextual() && RESERVED_EVENTS.contains(data.get(0).textValue())) {
                    throw bad("reserved event name");
                }
            }
            case ACK, BINARY_ACK -> {
                if (data == null || !data.isArray() || ackId < 0) {
                    throw bad("invalid ack");
                }
            }
            default -> throw bad("a client may not send CONNECT_ERROR");
        }
    }

    /** The event name of an EVENT packet (a number is turned into its text, as the reference does). */
    String eventName() {
        JsonNode first = data.get(0);
        return first.isTextual() ? first.textValue() : first.asText();
    }

    static ProtocolException bad(String why) {
        return new ProtocolException(CloseCodes.BAD_REQUEST, why);
    }
}
