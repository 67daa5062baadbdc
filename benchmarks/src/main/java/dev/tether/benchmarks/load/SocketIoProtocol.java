package dev.tether.benchmarks.load;

import java.nio.charset.StandardCharsets;

/**
 * Socket.IO v4 over Engine.IO v4 on a WebSocket, default namespace: the open packet {@code 0{...}}
 * is answered with {@code 40} and the connection counts as joined at the server's {@code 40{...}};
 * an Engine.IO ping {@code 2} is answered with pong {@code 3}; an echo request is the event
 * {@code 42<id>["echo",<intendedNs>]} and its answer the ack {@code 43<id>[<intendedNs>]}.
 * Broadcast (the peer's broadcast mode joins every socket to room {@code room}): the publisher
 * sends {@code 42["publish",<intendedNs>]}, subscribers receive {@code 42["message",<intendedNs>]}.
 * The intended time numbers the publish ({@link ClientLoop#publishSeq}): a subscriber counts a
 * number not above the highest it has seen as a duplicate and a jump as that many messages lost.
 *
 * <p>Storm: a cut subscriber reconnects as socket.io-client does (its backoff:
 * {@link ClientLoop#socketIoBackoffMs}), with a new WebSocket, a fresh Engine.IO handshake and
 * namespace {@code 40}; the seed server has no connection state recovery, so the server's
 * {@code 40} is a new session, already in the room, and nothing published meanwhile comes back.
 */
final class SocketIoProtocol implements AppProtocol {

    private static final byte[] CONNECT = "40".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PONG = "3".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DISCONNECT = "41".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MESSAGE_EVENT = "2[\"message\",".getBytes(StandardCharsets.US_ASCII);

    private final ClientLoop loop;
    private final AsciiBuilder text = new AsciiBuilder();

    SocketIoProtocol(ClientLoop loop) {
        this.loop = loop;
    }

    @Override
    public void onUpgraded(ClientConnection c) {
        // Engine.IO speaks first: the open packet.
    }

    /**
     * A Socket.IO DISCONNECT of the namespace, as {@code socket.disconnect()} sends: the server ends
     * the session. A WebSocket close alone is a "transport close", after which a server with
     * connection state recovery keeps the session for its recovery window (2 minutes).
     */
    @Override
    public void onClosing(ClientConnection c) {
        loop.sendText(c, DISCONNECT, DISCONNECT.length);
    }

    @Override
    public void onText(ClientConnection c, byte[] b, int off, int len, long nowNs) {
        if (len == 0) {
            loop.protocolError(c, "empty Engine.IO packet");
            return;
        }
        byte engine = b[off];
        switch (engine) {
            case '0' -> loop.sendText(c, CONNECT, CONNECT.length);
            case '1' -> loop.protocolNotice(c, "engine.io close");
            case '2' -> {
                loop.sendText(c, PONG, PONG.length);
                loop.pingAnswered();
            }
            case '4' -> onSocketIo(c, b, off + 1, off + len, nowNs);
            default -> {
                // 3 (pong), 5 (upgrade), 6 (noop): nothing to do.
            }
        }
    }

    private void onSocketIo(ClientConnection c, byte[] b, int from, int to, long nowNs) {
        if (from >= to) {
            loop.protocolError(c, "empty Socket.IO packet");
            return;
        }
        switch (b[from]) {
            case '0' -> {
                if (c.state == ClientConnection.JOINING) {
                    if (c.reconnecting) {
                        loop.reconnected(c, nowNs);
                        return;
                    }
                    loop.joined(c, nowNs);
                    if (c.subscriber) {
                        loop.subscribed(c);
                    }
                }
            }
            case '1' -> loop.protocolNotice(c, "socket.io disconnect");
            case '3' -> onAck(c, b, from + 1, to, nowNs);
            case '4' -> loop.protocolError(c, "socket.io connect error");
            case '2' -> {
                if (c.subscriber) {
                    onMessageEvent(c, b, from, to, nowNs);
                }
                // Otherwise (e.g. "response", or the publisher's own copy): counted by nobody.
            }
            default -> {
                // nothing else is expected
            }
        }
    }

    /** {@code <id>[<intendedNs>]}. */
    private void onAck(ClientConnection c, byte[] b, int from, int to, long nowNs) {
        int i = from;
        while (i < to && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
        if (i == from || i >= to || b[i] != '[') {
            loop.replyError(c);
            return;
        }
        int start = i + 1;
        int end = start;
        while (end < to && b[end] != ']' && b[end] != ',') {
            end++;
        }
        long intended = TetherProtocol.parseLong(b, start, end);
        if (intended == Long.MIN_VALUE) {
            loop.replyError(c);
        } else {
            loop.echoReply(c, intended, nowNs);
        }
    }

    /** {@code 2["message",<intendedNs>]} from {@code from}. */
    private void onMessageEvent(ClientConnection c, byte[] b, int from, int to, long nowNs) {
        if (to - from <= MESSAGE_EVENT.length) {
            return;
        }
        for (int k = 0; k < MESSAGE_EVENT.length; k++) {
            if (b[from + k] != MESSAGE_EVENT[k]) {
                return;
            }
        }
        int start = from + MESSAGE_EVENT.length;
        int end = start;
        while (end < to && b[end] != ']' && b[end] != ',') {
            end++;
        }
        long intended = TetherProtocol.parseLong(b, start, end);
        if (intended == Long.MIN_VALUE) {
            loop.protocolNotice(c, "message event without an integer payload");
            return;
        }
        long seq = loop.publishSeq(intended);
        if (seq > 0) {
            if (!loop.acceptSeq(c, seq)) {
                return;
            }
            c.highestSeq = seq;
        }
        // An unknown number is reported by delivery() as a notice.
        loop.delivery(c, intended, nowNs);
    }

    @Override
    public void sendPublish(ClientConnection c, long intendedNs) {
        text.clear().append("42[\"publish\",").append(intendedNs).append("]");
        loop.sendText(c, text.bytes(), text.length());
    }

    @Override
    public void sendEcho(ClientConnection c, long intendedNs) {
        long id = c.nextOutboundId++;
        text.clear().append("42").append(id).append("[\"echo\",").append(intendedNs).append("]");
        loop.sendText(c, text.bytes(), text.length());
    }
}
