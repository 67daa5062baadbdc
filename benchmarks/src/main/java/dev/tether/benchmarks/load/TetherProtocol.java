package dev.tether.benchmarks.load;

import java.nio.charset.StandardCharsets;

/**
 * Tether's native protocol ({@code tether-json/1}, PROTOCOL.md) as far as the load generator needs
 * it: {@code hello} / {@code welcome}, {@code ping} answered by {@code pong} with the cumulative
 * ack, an {@code ack} every {@value #ACK_EVERY} server messages, and echo requests
 * {@code {"t":"msg","seq":k,"rid":k,"e":"echo","d":<intendedNs>}} answered by
 * {@code {"t":"reply","rid":k,"d":<intendedNs>}}.
 *
 * <p>Server frames are read with a scanner of the top-level object's fields that never allocates.
 */
final class TetherProtocol implements AppProtocol {

    /** Acknowledge after this many server messages, as the reference client does. */
    static final int ACK_EVERY = 32;

    private static final byte[] HELLO = "{\"t\":\"hello\",\"v\":1}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] T_WELCOME = ascii("welcome");
    private static final byte[] T_PING = ascii("ping");
    private static final byte[] T_REPLY = ascii("reply");
    private static final byte[] T_MSG = ascii("msg");
    private static final byte[] T_GAP = ascii("gap");
    private static final byte[] T_RECONNECT = ascii("reconnect");
    private static final byte[] T_ERROR = ascii("error");
    private static final byte[] K_T = ascii("t");
    private static final byte[] K_SEQ = ascii("seq");
    private static final byte[] K_RID = ascii("rid");
    private static final byte[] K_D = ascii("d");
    private static final byte[] K_ERR = ascii("err");

    private final ClientLoop loop;
    private final AsciiBuilder text = new AsciiBuilder();

    // Fields of the frame being read; reset by scan().
    private int typeStart;
    private int typeLength;
    private long seq;
    private long rid;
    private long d;
    private boolean hasD;
    private boolean hasErr;

    TetherProtocol(ClientLoop loop) {
        this.loop = loop;
    }

    @Override
    public void onUpgraded(ClientConnection c) {
        loop.sendText(c, HELLO, HELLO.length);
    }

    @Override
    public void onText(ClientConnection c, byte[] b, int off, int len, long nowNs) {
        if (!scan(b, off, off + len)) {
            loop.protocolError(c, "malformed JSON from server");
            return;
        }
        if (typeIs(b, T_PING)) {
            text.clear().append("{\"t\":\"pong\"");
            if (c.highestSeq > 0) {
                text.append(",\"ack\":").append(c.highestSeq);
                c.ackedSeq = c.highestSeq;
            }
            text.append("}");
            loop.sendText(c, text.bytes(), text.length());
            loop.pingAnswered();
        } else if (typeIs(b, T_REPLY)) {
            if (hasErr || !hasD) {
                loop.replyError(c);
            } else {
                loop.echoReply(c, d, nowNs);
            }
        } else if (typeIs(b, T_MSG)) {
            if (seq > 0) {
                noteSeq(c, seq);
            }
        } else if (typeIs(b, T_GAP)) {
            // A gap consumes sequence numbers up to "to"; the scanner does not read it, and
            // acknowledging less is always allowed.
            loop.protocolNotice(c, "gap");
        } else if (typeIs(b, T_WELCOME)) {
            if (c.state == ClientConnection.JOINING) {
                loop.joined(c, nowNs);
            }
        } else if (typeIs(b, T_RECONNECT) || typeIs(b, T_ERROR)) {
            loop.protocolNotice(c, new String(b, typeStart, typeLength, StandardCharsets.US_ASCII));
        }
        // ack, ok and unknown frames need nothing.
    }

    @Override
    public void sendEcho(ClientConnection c, long intendedNs) {
        long id = c.nextOutboundId++;
        text.clear().append("{\"t\":\"msg\",\"seq\":").append(id).append(",\"rid\":").append(id)
                .append(",\"e\":\"echo\",\"d\":").append(intendedNs).append("}");
        loop.sendText(c, text.bytes(), text.length());
    }

    private void noteSeq(ClientConnection c, long s) {
        if (s > c.highestSeq) {
            c.highestSeq = s;
        }
        if (c.highestSeq - c.ackedSeq >= ACK_EVERY) {
            c.ackedSeq = c.highestSeq;
            text.clear().append("{\"t\":\"ack\",\"seq\":").append(c.ackedSeq).append("}");
            loop.sendText(c, text.bytes(), text.length());
        }
    }

    private boolean typeIs(byte[] b, byte[] type) {
        return typeLength == type.length && regionEquals(b, typeStart, type);
    }

    /** Reads the top-level fields t, seq, rid, d (integers only) and err; false if not an object. */
    boolean scan(byte[] b, int from, int to) {
        typeStart = 0;
        typeLength = -1;
        seq = 0;
        rid = 0;
        d = 0;
        hasD = false;
        hasErr = false;
        int i = skipSpace(b, from, to);
        if (i >= to || b[i] != '{') {
            return false;
        }
        i++;
        while (true) {
            i = skipSpace(b, i, to);
            if (i >= to) {
                return false;
            }
            if (b[i] == '}') {
                return true;
            }
            if (b[i] != '"') {
                return false;
            }
            int keyStart = i + 1;
            i = endOfString(b, i, to);
            if (i < 0) {
                return false;
            }
            int keyLength = i - 1 - keyStart;
            i = skipSpace(b, i, to);
            if (i >= to || b[i] != ':') {
                return false;
            }
            i = skipSpace(b, i + 1, to);
            if (i >= to) {
                return false;
            }
            byte first = b[i];
            int valueStart = i;
            if (first == '"') {
                i = endOfString(b, i, to);
                if (i < 0) {
                    return false;
                }
                if (key(b, keyStart, keyLength, K_T)) {
                    typeStart = valueStart + 1;
                    typeLength = i - 1 - typeStart;
                }
            } else if (first == '{' || first == '[') {
                i = endOfComposite(b, i, to);
                if (i < 0) {
                    return false;
                }
                if (key(b, keyStart, keyLength, K_ERR)) {
                    hasErr = true;
                }
            } else {
                while (i < to && b[i] != ',' && b[i] != '}' && b[i] > ' ') {
                    i++;
                }
                if (key(b, keyStart, keyLength, K_SEQ)) {
                    seq = parseLong(b, valueStart, i);
                } else if (key(b, keyStart, keyLength, K_RID)) {
                    rid = parseLong(b, valueStart, i);
                } else if (key(b, keyStart, keyLength, K_D)) {
                    d = parseLong(b, valueStart, i);
                    hasD = d != Long.MIN_VALUE;
                } else if (key(b, keyStart, keyLength, K_ERR)) {
                    hasErr = true;
                }
            }
            i = skipSpace(b, i, to);
            if (i < to && b[i] == ',') {
                i++;
            }
        }
    }

    long rid() {
        return rid;
    }

    private static boolean key(byte[] b, int start, int length, byte[] name) {
        return length == name.length && regionEquals(b, start, name);
    }

    private static boolean regionEquals(byte[] b, int start, byte[] other) {
        for (int k = 0; k < other.length; k++) {
            if (b[start + k] != other[k]) {
                return false;
            }
        }
        return true;
    }

    private static int skipSpace(byte[] b, int i, int to) {
        while (i < to && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
            i++;
        }
        return i;
    }

    /** b[i] is the opening quote; returns the index after the closing quote, or -1. */
    private static int endOfString(byte[] b, int i, int to) {
        for (i++; i < to; i++) {
            if (b[i] == '\\') {
                i++;
            } else if (b[i] == '"') {
                return i + 1;
            }
        }
        return -1;
    }

    /** b[i] opens an object or array; returns the index after its end, or -1. */
    private static int endOfComposite(byte[] b, int i, int to) {
        int depth = 0;
        while (i < to) {
            byte c = b[i];
            if (c == '"') {
                i = endOfString(b, i, to);
                if (i < 0) {
                    return -1;
                }
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
            i++;
        }
        return -1;
    }

    /** An optionally negative integer; {@link Long#MIN_VALUE} when it is not one. */
    static long parseLong(byte[] b, int from, int to) {
        boolean negative = from < to && b[from] == '-';
        int i = negative ? from + 1 : from;
        if (i >= to) {
            return Long.MIN_VALUE;
        }
        long v = 0;
        for (; i < to; i++) {
            int digit = b[i] - '0';
            if (digit < 0 || digit > 9) {
                return Long.MIN_VALUE;
            }
            v = v * 10 + digit;
        }
        return negative ? -v : v;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
