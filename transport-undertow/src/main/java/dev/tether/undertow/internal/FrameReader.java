package dev.tether.undertow.internal;

import dev.tether.core.CloseCodes;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The RFC 6455 frames a client sends to a server, parsed from whatever pieces the socket
 * delivers: a header may be split anywhere, a message may come in any number of fragments with
 * control frames between them.
 *
 * <p>Every rule is checked as soon as the bytes that break it arrive, in particular at the
 * header, before any of the payload: reserved bits and opcodes, an unmasked frame, a control
 * frame that is fragmented or longer than 125 bytes, a continuation with no message open or a
 * new message inside one (all 1002), a 64-bit length with its most significant bit set (1002,
 * section 5.2), and a frame whose declared length takes its message over
 * {@code maxMessageBytes} (1009). Text is checked as UTF-8 as its bytes arrive (1007), so an
 * invalid byte in the first fragment ends the connection before the message does. A close
 * frame's code must be one a peer may send (1000-1003, 1007-1014, 3000-4999) and its reason
 * UTF-8.
 *
 * <p>Memory: nothing is allocated while the connection is idle or between messages. A message
 * whose single frame is wholly in the buffer being parsed is unmasked in place and handed over
 * as a slice of it; any other message is assembled in a heap buffer that grows with the bytes
 * that actually arrived (never to a length a header merely declared), bounded by
 * {@code maxMessageBytes}. A header or control payload split between reads is kept in a small
 * array allocated the first time that happens.
 *
 * <p>Not thread-safe: one per connection, used on its I/O thread.
 */
final class FrameReader {

    /** What the parsed frames mean. Buffers handed over are lent for the call only. */
    interface Handler {

        /** A whole data message; {@code data} is only valid during the call. */
        void onMessage(ByteBuffer data, boolean binary);

        /** A ping with its payload (at most 125 bytes), valid during the call. */
        void onPing(ByteBuffer payload);

        /** The peer's close frame: its code (1005 if it had none) and reason. */
        void onClose(int code, String reason);

        /** The peer broke the protocol: the connection must close with {@code code}. */
        void onViolation(int code, String reason);
    }

    static final int OP_CONTINUATION = 0x0;
    static final int OP_TEXT = 0x1;
    static final int OP_BINARY = 0x2;
    static final int OP_CLOSE = 0x8;
    static final int OP_PING = 0x9;
    static final int OP_PONG = 0xA;

    /** The longest client frame header: 2 bytes, a 64-bit length and the masking key. */
    private static final int MAX_HEADER_BYTES = 14;
    private static final int MAX_CONTROL_PAYLOAD = 125;
    private static final byte[] NO_BYTES = new byte[0];
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final int maxMessageBytes;

    /** No more frames are parsed: a violation was reported or the peer's close frame arrived. */
    private boolean done;

    /** The bytes of a header split between reads, or null until that first happens. */
    private byte[] header;
    private int headerBytes;

    /** A header was parsed and its payload is being read. */
    private boolean inFrame;
    private int opcode;
    private boolean fin;
    private int frameRemaining;
    private int mask;
    /** Index, modulo 4, of the next payload byte in the frame: which mask byte applies to it. */
    private int maskIndex;

    /** How many times the reader came back to {@link #idle()}: frames and messages completed. */
    private long boundaries;

    /** A data message was begun and its final frame is not complete. */
    private boolean inMessage;
    private boolean messageBinary;
    /** The bytes declared by the message's frame headers so far (bounded by the limit). */
    private int messageDeclared;
    /** The message assembled so far, or null while none needs assembling. */
    private ByteBuffer message;
    /**
     * The UTF-8 state of a text message that arrives in pieces; null otherwise (a message wholly
     * in one read is checked at once, {@link Utf8Validator#isValid}), so an idle connection holds
     * none.
     */
    private Utf8Validator utf8;

    /** A control frame's payload split between reads, or null until that first happens. */
    private byte[] control;
    private int controlBytes;

    FrameReader(int maxMessageBytes) {
        if (maxMessageBytes < 1) {
            throw new IllegalArgumentException("maxMessageBytes must be positive: " + maxMessageBytes);
        }
        this.maxMessageBytes = maxMessageBytes;
    }

    /** Whether parsing ended: a violation was reported or the peer's close frame arrived. */
    boolean done() {
        return done;
    }

    /**
     * Whether the reader is between messages: no header, frame or message is partly read. A read
     * deadline applies whenever this is false.
     */
    boolean idle() {
        return !inFrame && !inMessage && headerBytes == 0;
    }

    /**
     * Whether a frame is partly read (its header or its payload): the next bytes can only be
     * that frame's, so a control frame the peer sends now cannot be told from its payload.
     */
    boolean inFrame() {
        return inFrame || headerBytes > 0;
    }

    /** How many times the reader came back to {@link #idle()} after a frame; grows with every message. */
    long boundaries() {
        return boundaries;
    }

    /**
     * Parses bytes from {@code in} (a heap buffer, whose content may be unmasked in place) until
     * it is empty or one event has been handed to {@code handler}, whichever comes first, so
     * that the caller can stop between events. Consumes nothing once {@link #done()}.
     */
    void read(ByteBuffer in, Handler handler) {
        while (!done && in.hasRemaining()) {
            if (!inFrame) {
                if (!readHeader(in, handler)) {
                    return;
                }
                if (frameRemaining == 0 && completeFrame(handler)) {
                    return;
                }
                continue;
            }
            if (opcode >= OP_CLOSE) {
                if (readControl(in, handler)) {
                    return;
                }
            } else if (readData(in, handler)) {
                return;
            }
        }
    }

    // ------------------------------------------------------------------ headers

    /** Reads one header; true once it is whole and valid, false if more bytes are needed or it broke a rule. */
    private boolean readHeader(ByteBuffer in, Handler handler) {
        if (headerBytes == 0 && in.remaining() >= 2) {
            int at = in.position();
            byte[] bytes = in.array();
            int offset = in.arrayOffset() + at;
            int length = headerLength(bytes[offset + 1]);
            if (in.remaining() >= length) {
                in.position(at + length);
                return checkStart(bytes[offset], bytes[offset + 1], handler) && parseHeader(bytes, offset, handler);
            }
        }
        if (header == null) {
            header = new byte[MAX_HEADER_BYTES];
        }
        while (in.hasRemaining()) {
            header[headerBytes++] = in.get();
            if (headerBytes < 2) {
                continue;
            }
            if (headerBytes == 2 && !checkStart(header[0], header[1], handler)) {
                return false;
            }
            int length = headerLength(header[1]);
            if (headerBytes == length - 4 && !checkLength(header, 0, handler)) {
                return false; // the length is refused before the masking key arrives
            }
            if (headerBytes == length) {
                headerBytes = 0;
                return parseHeader(header, 0, handler);
            }
        }
        return false;
    }

    private static int headerLength(byte second) {
        int code = second & 0x7F;
        int maskBytes = (second & 0x80) != 0 ? 4 : 0;
        return 2 + maskBytes + (code == 126 ? 2 : code == 127 ? 8 : 0);
    }

    /** The rules the first two bytes alone decide. */
    private boolean checkStart(byte first, byte second, Handler handler) {
        if ((first & 0x70) != 0) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "reserved bits set");
        }
        int op = first & 0x0F;
        boolean control = op >= OP_CLOSE;
        if (op > OP_BINARY && op != OP_CLOSE && op != OP_PING && op != OP_PONG) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "reserved opcode");
        }
        if ((second & 0x80) == 0) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "unmasked frame");
        }
        if (control && ((first & 0x80) == 0 || (second & 0x7F) > MAX_CONTROL_PAYLOAD)) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "invalid control frame");
        }
        if (op == OP_CONTINUATION && !inMessage) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "continuation without a message");
        }
        if ((op == OP_TEXT || op == OP_BINARY) && inMessage) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "new message inside a fragmented one");
        }
        return true;
    }

    /** The rules on the declared length, at {@code offset} (the header's first byte). */
    private boolean checkLength(byte[] bytes, int offset, Handler handler) {
        long length = declaredLength(bytes, offset);
        if (length < 0) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "invalid frame length");
        }
        int op = bytes[offset] & 0x0F;
        long before = op == OP_CONTINUATION ? messageDeclared : 0;
        if (op < OP_CLOSE && length > maxMessageBytes - before) {
            return violation(handler, CloseCodes.MESSAGE_TOO_BIG, "message too big");
        }
        return true;
    }

    /** The payload length a header declares; negative for a 64-bit length with its top bit set. */
    private static long declaredLength(byte[] bytes, int offset) {
        int code = bytes[offset + 1] & 0x7F;
        if (code == 126) {
            return ((bytes[offset + 2] & 0xFF) << 8) | (bytes[offset + 3] & 0xFF);
        }
        if (code == 127) {
            return (long) LONGS.get(bytes, offset + 2);
        }
        return code;
    }

    /** Takes a whole, started-valid header into the frame state. */
    private boolean parseHeader(byte[] bytes, int offset, Handler handler) {
        if (!checkLength(bytes, offset, handler)) {
            return false;
        }
        int code = bytes[offset + 1] & 0x7F;
        int maskAt = offset + 2 + (code == 126 ? 2 : code == 127 ? 8 : 0);
        fin = (bytes[offset] & 0x80) != 0;
        opcode = bytes[offset] & 0x0F;
        frameRemaining = (int) declaredLength(bytes, offset);
        mask = ((bytes[maskAt] & 0xFF) << 24) | ((bytes[maskAt + 1] & 0xFF) << 16)
                | ((bytes[maskAt + 2] & 0xFF) << 8) | (bytes[maskAt + 3] & 0xFF);
        maskIndex = 0;
        inFrame = true;
        if (opcode < OP_CLOSE) {
            if (opcode != OP_CONTINUATION) {
                inMessage = true;
                messageBinary = opcode == OP_BINARY;
                messageDeclared = 0;
                utf8 = null;
            }
            messageDeclared += frameRemaining;
        } else {
            controlBytes = 0;
        }
        return true;
    }

    // ------------------------------------------------------------------ data

    /** The UTF-8 state of the text message being assembled, created with its first piece. */
    private Utf8Validator textPiece() {
        if (utf8 == null) {
            utf8 = new Utf8Validator();
        }
        return utf8;
    }

    /** Reads data payload; true if an event was delivered. */
    private boolean readData(ByteBuffer in, Handler handler) {
        int n = Math.min(frameRemaining, in.remaining());
        int at = in.position();
        byte[] bytes = in.array();
        int offset = in.arrayOffset() + at;
        if (fin && message == null && n == frameRemaining && messageDeclared == frameRemaining) {
            // The message's only frame, wholly here: unmask in place and hand over a slice.
            maskIndex = unmask(bytes, offset, n, mask, maskIndex);
            in.position(at + n);
            frameRemaining = 0;
            if (!messageBinary && !Utf8Validator.isValid(bytes, offset, n)) {
                return violation(handler, CloseCodes.INVALID_PAYLOAD, "invalid UTF-8");
            }
            inFrame = false;
            inMessage = false;
            boundaries++;
            handler.onMessage(in.duplicate().position(at).limit(at + n), messageBinary);
            return true;
        }
        ByteBuffer assembled = room(n);
        int into = assembled.arrayOffset() + assembled.position();
        System.arraycopy(bytes, offset, assembled.array(), into, n);
        in.position(at + n);
        maskIndex = unmask(assembled.array(), into, n, mask, maskIndex);
        assembled.position(assembled.position() + n);
        frameRemaining -= n;
        if (!messageBinary && !textPiece().accept(assembled.array(), into, n)) {
            return violation(handler, CloseCodes.INVALID_PAYLOAD, "invalid UTF-8");
        }
        return frameRemaining == 0 && completeFrame(handler);
    }

    /**
     * The current frame's payload is all read (or it had none). Ends the frame, and the message
     * with it if this was its final frame; true if an event was delivered.
     */
    private boolean completeFrame(Handler handler) {
        if (opcode >= OP_CLOSE) {
            return completeControl(ByteBuffer.wrap(control == null ? NO_BYTES : control, 0, controlBytes), handler);
        }
        inFrame = false;
        if (!fin) {
            return false;
        }
        inMessage = false;
        boundaries++;
        if (!messageBinary && !textPiece().complete()) {
            return violation(handler, CloseCodes.INVALID_PAYLOAD, "invalid UTF-8");
        }
        utf8 = null;
        ByteBuffer data = message == null ? ByteBuffer.wrap(NO_BYTES) : message.flip();
        message = null;
        handler.onMessage(data, messageBinary);
        return true;
    }

    /**
     * The assembly buffer with room for {@code n} more bytes. It grows to what has arrived,
     * doubling, and never beyond what the message's headers declared (itself within the limit).
     */
    private ByteBuffer room(int n) {
        ByteBuffer current = message;
        if (current != null && current.remaining() >= n) {
            return current;
        }
        int used = current == null ? 0 : current.position();
        int capacity = current == null ? 0 : current.capacity();
        int wanted = Math.max(used + n, (int) Math.min((long) capacity * 2, messageDeclared));
        ByteBuffer bigger = ByteBuffer.allocate(Math.min(wanted, messageDeclared));
        if (current != null) {
            bigger.put(current.flip());
        }
        message = bigger;
        return bigger;
    }

    // ------------------------------------------------------------------ control frames

    /** Reads control payload; true if an event was delivered. */
    private boolean readControl(ByteBuffer in, Handler handler) {
        int n = Math.min(frameRemaining, in.remaining());
        int at = in.position();
        if (controlBytes == 0 && n == frameRemaining) {
            // Wholly here: unmask in place.
            unmask(in.array(), in.arrayOffset() + at, n, mask, 0);
            in.position(at + n);
            frameRemaining = 0;
            return completeControl(in.duplicate().position(at).limit(at + n), handler);
        }
        if (control == null) {
            control = new byte[MAX_CONTROL_PAYLOAD];
        }
        in.get(control, controlBytes, n);
        maskIndex = unmask(control, controlBytes, n, mask, maskIndex);
        controlBytes += n;
        frameRemaining -= n;
        if (frameRemaining > 0) {
            return false;
        }
        return completeControl(ByteBuffer.wrap(control, 0, controlBytes), handler);
    }

    /** A whole control frame with its unmasked payload; true if an event was delivered. */
    private boolean completeControl(ByteBuffer payload, Handler handler) {
        inFrame = false;
        controlBytes = 0;
        if (!inMessage) {
            boundaries++;
        }
        switch (opcode) {
            case OP_PING -> handler.onPing(payload);
            case OP_PONG -> {
                return false; // unsolicited or answering nothing we sent: ignored (section 5.5.3)
            }
            default -> {
                return closeFrame(payload, handler);
            }
        }
        return true;
    }

    private boolean closeFrame(ByteBuffer payload, Handler handler) {
        int length = payload.remaining();
        if (length == 0) {
            done = true;
            handler.onClose(UndertowConnection.NO_STATUS, "");
            return true;
        }
        if (length == 1) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "invalid close frame");
        }
        int code = payload.getShort() & 0xFFFF;
        if (!isReceivable(code)) {
            return violation(handler, CloseCodes.PROTOCOL_ERROR, "invalid close code");
        }
        byte[] bytes = payload.array();
        int offset = payload.arrayOffset() + payload.position();
        if (!Utf8Validator.isValid(bytes, offset, payload.remaining())) {
            return violation(handler, CloseCodes.INVALID_PAYLOAD, "invalid UTF-8");
        }
        done = true;
        handler.onClose(code, new String(bytes, offset, payload.remaining(), StandardCharsets.UTF_8));
        return true;
    }

    /**
     * The codes a peer's close frame may carry (RFC 6455 section 7.4, with 1012-1014 from the
     * IANA registry: service restart, try again later, bad gateway).
     */
    static boolean isReceivable(int code) {
        return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    }

    private boolean violation(Handler handler, int code, String reason) {
        done = true;
        message = null;
        handler.onViolation(code, reason);
        return false;
    }

    // ------------------------------------------------------------------ masking

    /**
     * XORs {@code length} bytes at {@code offset} with the masking key, the first with key byte
     * {@code index}; returns the key index for the byte after them. Eight bytes at a time.
     */
    static int unmask(byte[] bytes, int offset, int length, int mask, int index) {
        int rotated = Integer.rotateLeft(mask, 8 * index);
        long wide = (rotated & 0xFFFF_FFFFL) << 32 | (rotated & 0xFFFF_FFFFL);
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            LONGS.set(bytes, offset + i, (long) LONGS.get(bytes, offset + i) ^ wide);
        }
        for (; i < length; i++) {
            bytes[offset + i] ^= (byte) (rotated >>> (24 - 8 * (i & 3)));
        }
        return (index + length) & 3;
    }
}
