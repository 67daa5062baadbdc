package dev.tether.client.internal;

import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * One JDK WebSocket of a client: reassembles the messages the JDK delivers in parts, hands each
 * whole message to the client's protocol executor, and writes frames one at a time (the JDK
 * allows one outstanding send).
 *
 * <p>Threading: the {@link WebSocket.Listener} methods run on the JDK's threads, one at a time
 * (the JDK guarantees it), and only touch the reassembly state. Everything else ({@link #write},
 * {@link #readNext}, the write queue) runs on the protocol executor. Reading is flow-controlled:
 * after a whole message the next one is requested only when the engine has handled it.
 *
 * <p>A socket closed without a close frame can go unnoticed: the JDK (17 at least) reads the end
 * of the stream even while no message is requested, and if none is, it fails internally
 * ({@code TransportImpl.acknowledgeReception} throws {@code InternalError}) and never calls
 * {@link #onClose} or {@link #onError}, not even after the next {@code request}. That happens
 * when the end of the stream arrives between a message and the engine's request for the next
 * one, or while reading is held back. A close frame is not affected: it waits in the JDK's buffer
 * until it is requested. The Tether server sends one before closing a socket, also when it stops;
 * against a peer that vanishes without one, the engine's heartbeat watchdog is what notices.
 */
final class Connection implements WebSocket.Listener {

    /** A close frame queued behind the data frames. */
    record Close(int code, String reason) {
    }

    /** Largest message the client reassembles; a server sending more is broken or hostile. */
    static final int MAX_INBOUND_BYTES = 16 << 20;

    private final ClientEngine engine;
    private final Executor protocol;
    /** Whether the hello asked to resume a session. Protocol executor only. */
    final boolean resumeAsked;

    // Protocol executor only.
    private WebSocket socket;
    private final ArrayDeque<Object> writes = new ArrayDeque<>();
    private boolean writing;
    private boolean outputClosed;
    /** The engine wanted the next message but held back (too many callbacks pending). */
    boolean readPaused;

    // JDK listener threads only (sequential).
    private StringBuilder textParts;
    private byte[] binaryParts;
    private int binaryLength;

    Connection(ClientEngine engine, Executor protocol, boolean resumeAsked) {
        this.engine = engine;
        this.protocol = protocol;
        this.resumeAsked = resumeAsked;
    }

    // ---------------------------------------------------------------- JDK listener (I/O threads)

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
        protocol.execute(() -> engine.opened(this, webSocket));
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        if (!last) {
            if (textParts == null) {
                textParts = new StringBuilder(data.length() * 2);
            }
            textParts.append(data);
            if (textParts.length() > MAX_INBOUND_BYTES) {
                textParts = null;
                tooLarge(webSocket);
                return null;
            }
            webSocket.request(1);
            return null;
        }
        String message;
        if (textParts == null) {
            message = data.toString();
        } else {
            message = textParts.append(data).toString();
            textParts = null;
        }
        protocol.execute(() -> engine.received(this, message));
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        int n = data.remaining();
        if (binaryLength + (long) n > MAX_INBOUND_BYTES) {
            binaryParts = null;
            binaryLength = 0;
            tooLarge(webSocket);
            return null;
        }
        if (binaryParts == null) {
            binaryParts = new byte[last ? n : Math.max(n * 2, 256)];
        } else if (binaryParts.length < binaryLength + n) {
            binaryParts = Arrays.copyOf(binaryParts, Math.max(binaryLength + n, binaryParts.length * 2));
        }
        data.get(binaryParts, binaryLength, n);
        binaryLength += n;
        if (!last) {
            webSocket.request(1);
            return null;
        }
        byte[] message = binaryParts;
        int length = binaryLength;
        binaryParts = null;
        binaryLength = 0;
        protocol.execute(() -> engine.received(this, message, length));
        return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
        // The JDK answers WebSocket-level pings itself; Tether's heartbeat is its own frame.
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        protocol.execute(() -> engine.lost(this, statusCode, reason));
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        protocol.execute(() -> engine.failed(this, error));
    }

    private void tooLarge(WebSocket webSocket) {
        webSocket.abort();
        protocol.execute(() -> engine.violation(this, "message larger than " + MAX_INBOUND_BYTES + " bytes"));
    }

    // ------------------------------------------------------------------ protocol executor only

    /** The socket, once open; {@code null} before. */
    WebSocket socket() {
        return socket;
    }

    void attach(WebSocket webSocket) {
        this.socket = webSocket;
    }

    /** Frames waiting for the socket, the one being written excluded. */
    int backlog() {
        return writes.size();
    }

    /**
     * Queues a frame: a {@code String} (text), a {@code byte[]} (binary, never modified after) or
     * a {@link Close}. Frames are written in order, one at a time. Nothing after a close is
     * written.
     */
    void write(Object frame) {
        if (outputClosed) {
            return;
        }
        writes.add(frame);
        if (!writing) {
            pump();
        }
    }

    /** Asks the JDK for the next message, unless the engine holds reading back. */
    void readNext(boolean hold) {
        if (hold) {
            readPaused = true;
        } else {
            readPaused = false;
            socket.request(1);
        }
    }

    /** Drops the socket at once, without a close handshake. */
    void abort() {
        outputClosed = true;
        writes.clear();
        if (socket != null) {
            socket.abort();
        }
    }

    private void pump() {
        Object frame;
        while ((frame = writes.poll()) != null) {
            CompletableFuture<WebSocket> sent;
            try {
                sent = send(frame);
            } catch (RuntimeException e) {
                // IllegalStateException: the output is already closed (the socket died).
                sent = CompletableFuture.failedFuture(e);
            }
            // A send the JDK completed at once lets the loop write the next frame without a hop.
            if (!sent.isDone() || sent.isCompletedExceptionally()) {
                writing = true;
                sent.whenComplete((ws, error) -> protocol.execute(() -> written(error)));
                return;
            }
        }
        writing = false;
    }

    private CompletableFuture<WebSocket> send(Object frame) {
        if (frame instanceof String text) {
            return socket.sendText(text, true);
        }
        if (frame instanceof byte[] bytes) {
            return socket.sendBinary(ByteBuffer.wrap(bytes), true);
        }
        Close close = (Close) frame;
        outputClosed = true;
        writes.clear();
        return socket.sendClose(close.code(), close.reason());
    }

    private void written(Throwable error) {
        writing = false;
        if (error != null) {
            writes.clear();
            outputClosed = true;
            engine.failed(this, error);
            return;
        }
        pump();
    }
}
