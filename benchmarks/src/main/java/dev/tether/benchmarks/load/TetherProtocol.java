package dev.tether.benchmarks.load;

import java.nio.charset.StandardCharsets;

/**
 * Tether's native protocol ({@code tether-json/1}, PROTOCOL.md) as far as the load generator needs
 * it: {@code hello} / {@code welcome}, {@code ping} answered by {@code pong} with the cumulative
 * ack, an {@code ack} every {@value #ACK_EVERY} server messages, and echo requests
 * {@code {"t":"msg","seq":k,"rid":k,"e":"echo","d":<intendedNs>}} answered by
 * {@code {"t":"reply","rid":k,"d":<intendedNs>}}. Broadcast and storm: subscribers send
 * {@code {"t":"sub","id":1,"topic":"room"}} after the welcome; the publisher publishes
 * {@code {"t":"msg","seq":k,"e":"publish","topic":"room","d":<intendedNs>}}; subscribers check
 * every {@code seq} (duplicates, holes, gap frames) and, cut by a storm, resume with
 * {@code {"t":"hello","v":3,"sid":..,"token":..,"last":<highest seq>,"attempt":n,"pos":<its pos>}}
 * (the {@code pos} a clustered server gave that message, if any: PROTOCOL.md §13). The server's
 * {@code Authorizer} must let clients subscribe to and publish on {@code room} (the default refuses
 * both; the chat example, which {@code benchmarks/run} starts, grants that topic).
 *
 * <p>Server frames are read with a scanner of the top-level object's fields that never allocates.
 */
final class TetherProtocol implements AppProtocol {

    /** Acknowledge after this many server messages, as the reference client does. */
    static final int ACK_EVERY = 32;

    private static final byte[] HELLO = "{\"t\":\"hello\",\"v\":3}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] T_WELCOME = ascii("welcome");
    private static final byte[] T_PING = ascii("ping");
    private static final byte[] T_REPLY = ascii("reply");
    private static final byte[] T_MSG = ascii("msg");
    private static final byte[] T_GAP = ascii("gap");
    private static final byte[] T_RECONNECT = ascii("reconnect");
    private static final byte[] T_ERROR = ascii("error");
    private static final byte[] T_OK = ascii("ok");
    private static final byte[] K_SID = ascii("sid");
    private static final byte[] K_TOKEN = ascii("token");
    private static final byte[] K_RESUMED = ascii("resumed");
    private static final byte[] K_FROM = ascii("from");
    private static final byte[] K_TO = ascii("to");
    private static final byte[] SUB = "{\"t\":\"sub\",\"id\":1,\"topic\":\"room\"}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] K_T = ascii("t");
    private static final byte[] K_SEQ = ascii("seq");
    private static final byte[] K_POS = ascii("pos");
    private static final byte[] K_RID = ascii("rid");
    private static final byte[] K_D = ascii("d");
    private static final byte[] K_ERR = ascii("err");

    private final ClientLoop loop;
    private final AsciiBuilder text = new AsciiBuilder();

    // Fields of the frame being read; reset by scan().
    private int typeStart;
    private int typeLength;
    private long seq;
    private long pos;
    private long rid;
    private long d;
    private boolean hasD;
    private boolean hasErr;
    private int sidStart;
    private int sidLength;
    private int tokenStart;
    private int tokenLength;
    private boolean resumed;
    private long from;
    private long to;

    TetherProtocol(ClientLoop loop) {
        this.loop = loop;
    }

    @Override
    public void onUpgraded(ClientConnection c) {
        if (c.reconnecting && c.sid != null) {
            text.clear().append("{\"t\":\"hello\",\"v\":3,\"sid\":\"").append(c.sid).append("\",\"token\":\"")
                    .append(c.token).append("\",\"last\":").append(c.highestSeq).append(",\"attempt\":")
                    .append(c.resumeAttempt);
            if (c.highestPos > 0) {
                text.append(",\"pos\":").append(c.highestPos);
            }
            text.append("}");
            loop.sendText(c, text.bytes(), text.length());
        } else {
            loop.sendText(c, HELLO, HELLO.length);
        }
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
            if (c.subscriber) {
                onBroadcast(c, nowNs);
            } else if (seq > 0) {
                noteSeq(c, seq, pos);
            }
        } else if (typeIs(b, T_GAP)) {
            if (c.subscriber && from > 0 && to >= from) {
                if (from > c.highestSeq + 1) {
                    loop.seqHole(c, from - c.highestSeq - 1);
                }
                if (to > c.highestSeq) {
                    loop.gapFrame(c, to - Math.max(from, c.highestSeq + 1) + 1);
                    noteSeq(c, to, 0);
                }
            } else {
                loop.protocolNotice(c, "gap");
            }
        } else if (typeIs(b, T_WELCOME)) {
            onWelcome(c, b, nowNs);
        } else if (typeIs(b, T_OK)) {
            if (c.subscriber) {
                loop.subscribed(c);
            }
        } else if (typeIs(b, T_RECONNECT) || typeIs(b, T_ERROR)) {
            loop.protocolNotice(c, new String(b, typeStart, typeLength, StandardCharsets.US_ASCII));
        }
        // ack, ok and unknown frames need nothing.
    }

    private void onWelcome(ClientConnection c, byte[] b, long nowNs) {
        if (c.state != ClientConnection.JOINING) {
            return;
        }
        boolean wasResume = c.reconnecting && c.sid != null;
        if (c.subscriber && sidLength > 0 && tokenLength > 0) {
            c.sid = new String(b, sidStart, sidLength, StandardCharsets.US_ASCII);
            c.token = new String(b, tokenStart, tokenLength, StandardCharsets.US_ASCII);
        }
        if (wasResume) {
            loop.rejoined(c, resumed, nowNs);
            if (!resumed) {
                // A fresh session: numbers restart and the subscription is gone.
                c.highestSeq = 0;
                c.highestPos = 0;
                c.ackedSeq = 0;
                loop.sendText(c, SUB, SUB.length);
            }
            return;
        }
        loop.joined(c, nowNs);
        if (c.subscriber) {
            loop.sendText(c, SUB, SUB.length);
        }
    }

    /** A message on the topic: checks its seq, then hands its intended publish time to the loop. */
    private void onBroadcast(ClientConnection c, long nowNs) {
        if (seq > 0 && !loop.acceptSeq(c, seq)) {
            return;
        }
        if (hasD) {
            loop.delivery(c, d, nowNs);
        } else {
            loop.protocolNotice(c, "broadcast without an integer d");
        }
        if (seq > 0) {
            noteSeq(c, seq, pos);
        }
    }

    @Override
    public void sendPublish(ClientConnection c, long intendedNs) {
        long id = c.nextOutboundId++;
        text.clear().append("{\"t\":\"msg\",\"seq\":").append(id)
                .append(",\"e\":\"publish\",\"topic\":\"room\",\"d\":").append(intendedNs).append("}");
        loop.sendText(c, text.bytes(), text.length());
    }

    @Override
    public void sendEcho(ClientConnection c, long intendedNs) {
        long id = c.nextOutboundId++;
        text.clear().append("{\"t\":\"msg\",\"seq\":").append(id).append(",\"rid\":").append(id)
                .append(",\"e\":\"echo\",\"d\":").append(intendedNs).append("}");
        loop.sendText(c, text.bytes(), text.length());
    }

    /** @param position the cluster position of message {@code s}, 0 if none */
    private void noteSeq(ClientConnection c, long s, long position) {
        if (s > c.highestSeq) {
            c.highestSeq = s;
            c.highestPos = position;
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
        pos = 0;
        rid = 0;
        d = 0;
        hasD = false;
        hasErr = false;
        sidStart = 0;
        sidLength = 0;
        tokenStart = 0;
        tokenLength = 0;
        resumed = false;
        this.from = 0;
        this.to = 0;
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
                } else if (key(b, keyStart, keyLength, K_SID)) {
                    sidStart = valueStart + 1;
                    sidLength = i - 1 - sidStart;
                } else if (key(b, keyStart, keyLength, K_TOKEN)) {
                    tokenStart = valueStart + 1;
                    tokenLength = i - 1 - tokenStart;
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
                } else if (key(b, keyStart, keyLength, K_POS)) {
                    pos = parseLong(b, valueStart, i);
                } else if (key(b, keyStart, keyLength, K_RID)) {
                    rid = parseLong(b, valueStart, i);
                } else if (key(b, keyStart, keyLength, K_D)) {
                    d = parseLong(b, valueStart, i);
                    hasD = d != Long.MIN_VALUE;
                } else if (key(b, keyStart, keyLength, K_ERR)) {
                    hasErr = true;
                } else if (key(b, keyStart, keyLength, K_RESUMED)) {
                    resumed = i - valueStart == 4 && b[valueStart] == 't';
                } else if (key(b, keyStart, keyLength, K_FROM)) {
                    this.from = parseLong(b, valueStart, i);
                } else if (key(b, keyStart, keyLength, K_TO)) {
                    this.to = parseLong(b, valueStart, i);
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
