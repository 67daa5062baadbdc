package dev.tether.undertow;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A deliberately small WebSocket client over a plain {@link Socket}, for tests that need to send
 * what a well-behaved client never would: any opcode, any flags, fragments, oversized or
 * malformed frames. It upgrades with hand-written HTTP, masks every frame it sends (as RFC 6455
 * requires of clients) and reads frames one at a time.
 *
 * <p>Not thread-safe. Every read has a timeout ({@link #DEFAULT_TIMEOUT} unless set), so a test
 * that waits for a frame that never comes fails instead of hanging.
 */
final class RawWebSocket implements AutoCloseable {

    static final int OP_CONTINUATION = 0x0;
    static final int OP_TEXT = 0x1;
    static final int OP_BINARY = 0x2;
    static final int OP_CLOSE = 0x8;
    static final int OP_PING = 0x9;
    static final int OP_PONG = 0xA;

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final HttpHead response;

    private RawWebSocket(Socket socket, InputStream in, HttpHead response) throws IOException {
        this.socket = socket;
        this.in = in;
        this.out = socket.getOutputStream();
        this.response = response;
    }

    /** One frame as read off the wire. */
    record WireFrame(boolean fin, int rsv, int opcode, byte[] payload) {

        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        /** The status code of a close frame, 1005 if it has none. */
        int closeCode() {
            return payload.length < 2 ? 1005 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
        }

        /** The reason of a close frame. */
        String closeReason() {
            return payload.length <= 2 ? "" : new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
        }

        boolean isClose() {
            return opcode == OP_CLOSE;
        }
    }

    /** The status line and headers of an HTTP response, and the body read so far if asked. */
    record HttpHead(int status, Map<String, String> headers, String body) {

        /** A header value, case-insensitive name, or {@code null}. */
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** Upgrades to a WebSocket at {@code path}; fails unless the server answers 101. */
    static RawWebSocket connect(InetSocketAddress server, String path) throws IOException {
        return connect(server, path, Map.of());
    }

    /**
     * Upgrades to a WebSocket at {@code path} with extra request headers; fails unless the server
     * answers 101 with the right {@code Sec-WebSocket-Accept}.
     */
    static RawWebSocket connect(InetSocketAddress server, String path, Map<String, String> headers) throws IOException {
        return connect(server, path, headers, 0);
    }

    /**
     * Upgrades to a WebSocket at {@code path} with a socket receive buffer of about
     * {@code receiveBufferBytes} (set before connecting, so that the TCP window is that small
     * too): for a client that does not read, so that the server's writes back up after a few
     * KiB rather than after megabytes of kernel buffers. The kernel may round the size up.
     */
    static RawWebSocket connectWithReceiveBuffer(InetSocketAddress server, String path, int receiveBufferBytes)
            throws IOException {
        return connect(server, path, Map.of(), receiveBufferBytes);
    }

    private static RawWebSocket connect(InetSocketAddress server, String path, Map<String, String> headers,
                                        int receiveBufferBytes) throws IOException {
        PendingUpgrade pending = startUpgrade(server, path, headers, receiveBufferBytes);
        try {
            return pending.upgraded();
        } catch (IOException | RuntimeException e) {
            pending.close();
            throw e;
        }
    }

    /**
     * Sends an upgrade request and returns without reading the answer: for a handshake the server
     * holds (an authenticator that answers later), or one the client gives up on.
     */
    static PendingUpgrade startUpgrade(InetSocketAddress server, String path, Map<String, String> headers)
            throws IOException {
        return startUpgrade(server, path, headers, 0);
    }

    /**
     * Sends an upgrade request and {@code early} with it, in one write (so that the server reads
     * them together), and returns without reading the answer.
     */
    static PendingUpgrade startUpgradeWith(InetSocketAddress server, String path, byte[] early) throws IOException {
        return startUpgrade(server, path, Map.of(), 0, early);
    }

    private static PendingUpgrade startUpgrade(InetSocketAddress server, String path, Map<String, String> headers,
                                               int receiveBufferBytes) throws IOException {
        return startUpgrade(server, path, headers, receiveBufferBytes, new byte[0]);
    }

    private static PendingUpgrade startUpgrade(InetSocketAddress server, String path, Map<String, String> headers,
                                               int receiveBufferBytes, byte[] early) throws IOException {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        String key = Base64.getEncoder().encodeToString(nonce);
        Socket socket = open(server, receiveBufferBytes);
        try {
            writeHead(socket.getOutputStream(), upgradeRequest(server, path, key, headers), early);
            return new PendingUpgrade(socket, key);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** An upgrade request sent whose answer has not been read yet. Close it to give up. */
    static final class PendingUpgrade implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final String key;
        /** The answer's head once {@link #response()} read it; {@link #upgraded()} takes it from here. */
        private HttpHead head;

        private PendingUpgrade(Socket socket, String key) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.key = key;
        }

        /** Sends {@code bytes} before the answer (what a well-behaved client never does). */
        void sendEarly(byte[] bytes) throws IOException {
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
        }

        /** Waits for the answer and returns it, with the body if it has a {@code Content-Length}. */
        HttpHead response() throws IOException {
            head = readHead(in);
            String length = head.header("Content-Length");
            if (length == null) {
                return head;
            }
            byte[] bytes = in.readNBytes(Integer.parseInt(length.trim()));
            return new HttpHead(head.status(), head.headers(), new String(bytes, StandardCharsets.UTF_8));
        }

        /**
         * Waits for the answer, which must be 101 with the right {@code Sec-WebSocket-Accept}, and
         * returns the WebSocket.
         */
        RawWebSocket upgraded() throws IOException {
            HttpHead head = this.head != null ? this.head : readHead(in);
            if (head.status() != 101) {
                throw new IOException("expected 101, got " + head.status() + " " + head.headers());
            }
            String accept = head.header("Sec-WebSocket-Accept");
            if (!accept(key).equals(accept)) {
                throw new IOException("bad Sec-WebSocket-Accept: " + accept);
            }
            return new RawWebSocket(socket, in, head);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /**
     * Sends an upgrade request and returns the response head and body without upgrading: for
     * refusals (400, 401, 403, 404). The connection is closed afterwards.
     */
    static HttpHead upgradeResponse(InetSocketAddress server, String path, Map<String, String> headers) throws IOException {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        return exchange(server, upgradeRequest(server, path, Base64.getEncoder().encodeToString(nonce), headers));
    }

    /** Sends {@code request} verbatim (a complete HTTP request head) and reads the response. */
    static HttpHead exchange(InetSocketAddress server, String request) throws IOException {
        try (Socket socket = open(server, 0)) {
            InputStream in = new BufferedInputStream(socket.getInputStream());
            writeHead(socket.getOutputStream(), request);
            HttpHead head = readHead(in);
            String length = head.header("Content-Length");
            String body = "";
            if (length != null) {
                byte[] bytes = in.readNBytes(Integer.parseInt(length.trim()));
                body = new String(bytes, StandardCharsets.UTF_8);
            }
            return new HttpHead(head.status(), head.headers(), body);
        }
    }

    /** The 101 response head. */
    HttpHead handshakeResponse() {
        return response;
    }

    /** The socket's receive buffer as the kernel sized it. */
    int receiveBufferBytes() throws IOException {
        return socket.getReceiveBufferSize();
    }

    /** Sets how long each read waits. */
    RawWebSocket timeout(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        return this;
    }

    // ------------------------------------------------------------------ sending

    /**
     * The bytes of one masked client frame with the given FIN flag, RSV bits, opcode and payload,
     * its length in the shortest encoding (7-bit up to 125, 16-bit up to 65535, else 64-bit).
     */
    static byte[] frame(boolean fin, int rsv, int opcode, byte[] payload) {
        int length = payload.length;
        ByteBuffer frame = ByteBuffer.allocate(length + 14);
        frame.put((byte) ((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xF)));
        if (length <= 125) {
            frame.put((byte) (0x80 | length));
        } else if (length <= 0xFFFF) {
            frame.put((byte) (0x80 | 126)).putShort((short) length);
        } else {
            frame.put((byte) (0x80 | 127)).putLong(length);
        }
        byte[] mask = new byte[4];
        ThreadLocalRandom.current().nextBytes(mask);
        frame.put(mask);
        for (int i = 0; i < length; i++) {
            frame.put((byte) (payload[i] ^ mask[i & 3]));
        }
        return Arrays.copyOf(frame.array(), frame.position());
    }

    /**
     * The bytes of a masked frame header alone (FIN set) that declares {@code length} payload
     * bytes in the 64-bit encoding, whatever the length: for headers whose payload never comes.
     */
    static byte[] header64(int opcode, long length) {
        return ByteBuffer.allocate(14).put((byte) (0x80 | (opcode & 0xF))).put((byte) (0x80 | 127))
                .putLong(length).putInt(0x5A5A5A5A).array();
    }

    /** Sends one masked frame with the given FIN flag, RSV bits, opcode and payload. */
    void sendFrame(boolean fin, int rsv, int opcode, byte[] payload) throws IOException {
        sendRaw(frame(fin, rsv, opcode, payload));
    }

    /** Sends one masked frame; RSV bits clear. */
    void sendFrame(boolean fin, int opcode, byte[] payload) throws IOException {
        sendFrame(fin, 0, opcode, payload);
    }

    /** Sends a complete text message in one frame. */
    void sendText(String text) throws IOException {
        sendFrame(true, OP_TEXT, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a complete binary message in one frame. */
    void sendBinary(byte[] data) throws IOException {
        sendFrame(true, OP_BINARY, data);
    }

    /** Sends {@code payload} as one message split into fragments of at most {@code fragmentBytes}. */
    void sendFragmented(int opcode, byte[] payload, int fragmentBytes) throws IOException {
        int offset = 0;
        boolean first = true;
        do {
            int n = Math.min(fragmentBytes, payload.length - offset);
            byte[] part = new byte[n];
            System.arraycopy(payload, offset, part, 0, n);
            offset += n;
            sendFrame(offset == payload.length, first ? opcode : OP_CONTINUATION, part);
            first = false;
        } while (offset < payload.length);
    }

    /** Sends a close frame with a status code and reason. */
    void sendClose(int code, String reason) throws IOException {
        sendClose(code, reason.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a close frame with a status code and a reason given as raw bytes (not checked). */
    void sendClose(int code, byte[] reason) throws IOException {
        byte[] payload = new byte[2 + reason.length];
        payload[0] = (byte) (code >>> 8);
        payload[1] = (byte) code;
        System.arraycopy(reason, 0, payload, 2, reason.length);
        sendFrame(true, OP_CLOSE, payload);
    }

    /** Writes raw bytes, unframed. */
    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads the next frame.
     *
     * @throws EOFException           if the server closed the socket
     * @throws SocketTimeoutException if nothing arrived within the timeout
     */
    WireFrame readFrame() throws IOException {
        int b0 = readByte();
        int b1 = readByte();
        long length = b1 & 0x7F;
        if (length == 126) {
            length = (readByte() << 8) | readByte();
        } else if (length == 127) {
            length = ByteBuffer.wrap(readFully(8)).getLong();
        }
        if ((b1 & 0x80) != 0) {
            throw new IOException("a server must not mask its frames");
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw new IOException("frame too large: " + length);
        }
        byte[] payload = readFully((int) length);
        return new WireFrame((b0 & 0x80) != 0, (b0 >>> 4) & 0x7, b0 & 0xF, payload);
    }

    /** Reads frames until a complete text message (reassembling fragments); skips pings. */
    String readText() throws IOException {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        for (;;) {
            WireFrame frame = readFrame();
            if (frame.opcode() == OP_PING || frame.opcode() == OP_PONG) {
                continue;
            }
            if (frame.isClose()) {
                throw new IOException("closed: " + frame.closeCode() + " " + frame.closeReason());
            }
            message.write(frame.payload(), 0, frame.payload().length);
            if (frame.fin()) {
                return message.toString(StandardCharsets.UTF_8);
            }
        }
    }

    /** Reads frames until a close frame and returns it, skipping data and control frames. */
    WireFrame readClose() throws IOException {
        for (;;) {
            WireFrame frame = readFrame();
            if (frame.isClose()) {
                return frame;
            }
        }
    }

    /** Reads frames until a close frame and returns its status code. */
    int readCloseCode() throws IOException {
        return readClose().closeCode();
    }

    /**
     * Whether the server closed the socket: reads, discarding, until end of stream or a reset
     * (a server that closes with our data unread resets the connection).
     *
     * @throws SocketTimeoutException if the socket is still open after the timeout
     */
    boolean awaitEndOfStream() throws IOException {
        byte[] sink = new byte[8192];
        try {
            while (in.read(sink) >= 0) {
                // discard
            }
        } catch (SocketException e) {
            // reset: closed as well
        }
        return true;
    }

    /** Makes {@link #close()} reset the connection (RST) instead of closing it (FIN). */
    void resetOnClose() throws IOException {
        socket.setSoLinger(true, 0);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    // ------------------------------------------------------------------ HTTP

    /** A connected socket; {@code receiveBufferBytes} 0 keeps the system's receive buffer. */
    private static Socket open(InetSocketAddress server, int receiveBufferBytes) throws IOException {
        Socket socket = new Socket();
        try {
            if (receiveBufferBytes > 0) {
                socket.setReceiveBufferSize(receiveBufferBytes);
            }
            socket.connect(server, (int) DEFAULT_TIMEOUT.toMillis());
            socket.setSoTimeout((int) DEFAULT_TIMEOUT.toMillis());
            socket.setTcpNoDelay(true);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private static String upgradeRequest(InetSocketAddress server, String path, String key, Map<String, String> headers) {
        StringBuilder request = new StringBuilder(256)
                .append("GET ").append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(server.getHostString()).append(':').append(server.getPort()).append("\r\n")
                .append("Upgrade: websocket\r\n")
                .append("Connection: Upgrade\r\n")
                .append("Sec-WebSocket-Key: ").append(key).append("\r\n")
                .append("Sec-WebSocket-Version: 13\r\n");
        headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
        return request.append("\r\n").toString();
    }

    private static void writeHead(OutputStream out, String head) throws IOException {
        writeHead(out, head, new byte[0]);
    }

    /** Writes {@code head} and then {@code after} in one write. */
    private static void writeHead(OutputStream out, String head, byte[] after) throws IOException {
        byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
        out.write(ByteBuffer.allocate(bytes.length + after.length).put(bytes).put(after).array());
        out.flush();
    }

    private static HttpHead readHead(InputStream in) throws IOException {
        String statusLine = readLine(in);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP response: " + statusLine);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return new HttpHead(Integer.parseInt(parts[1]), headers, "");
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (;;) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("end of stream in the response head after '" + line + "'");
            }
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) b);
        }
    }

    private int readByte() throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new EOFException("the server closed the connection");
        }
        return b;
    }

    private byte[] readFully(int n) throws IOException {
        byte[] bytes = in.readNBytes(n);
        if (bytes.length < n) {
            throw new EOFException("the server closed the connection mid-frame");
        }
        return bytes;
    }

    private static String accept(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            byte[] digest = sha1.digest((key + GUID).getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
