package dev.tether.undertow.internal;

import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A WebSocket an Engine.IO session upgraded to from long-polling, as seen from the session's own
 * thread (the polling transport's): the engine and its sessions stay on that thread for the
 * session's whole life, and this adapter carries frames to the WebSocket's I/O thread and its
 * events back. Frames are copied (the engine lends their buffers only for the write) and handed
 * over once per flush.
 *
 * <p>Threading: {@link #write}, {@link #flush}, {@link #isWritable} on the session's thread;
 * {@link #execute}, {@link #close}, {@link #remoteAddress} from any thread. The WebSocket side calls
 * {@link #onFrame}, {@link #onWritable} and {@link #onClosed} on its own thread.
 */
final class HopConnection implements TransportConnection {

    private final TransportConnection sessionThread;
    private final UndertowConnection webSocket;
    private final int highWaterBytes;
    private final AtomicLong inFlightBytes = new AtomicLong();
    private ConnectionListener engine;
    private List<Frame> batch = new ArrayList<>();
    private long batchBytes;
    /** Set by the session thread when it found us unwritable; the WebSocket side clears it. */
    private volatile boolean waitingForWritable;
    private volatile boolean webSocketWritable = true;

    HopConnection(TransportConnection sessionThread, UndertowConnection webSocket, int highWaterBytes) {
        this.sessionThread = sessionThread;
        this.webSocket = webSocket;
        this.highWaterBytes = highWaterBytes;
    }

    void engine(ConnectionListener listener) {
        this.engine = listener;
    }

    @Override
    public boolean write(Frame frame) {
        byte[] bytes = frame.copyBytes();
        batch.add(frame.binary() ? Frame.binary(ByteBuffer.wrap(bytes)) : Frame.text(ByteBuffer.wrap(bytes)));
        batchBytes += bytes.length;
        return true;
    }

    @Override
    public void flush() {
        if (batch.isEmpty()) {
            return;
        }
        List<Frame> frames = batch;
        long bytes = batchBytes;
        batch = new ArrayList<>();
        batchBytes = 0;
        inFlightBytes.addAndGet(bytes);
        webSocket.execute(() -> {
            for (Frame f : frames) {
                webSocket.write(f);
            }
            webSocket.flush();
            webSocketWritable = webSocket.isWritable();
            if (inFlightBytes.addAndGet(-bytes) <= highWaterBytes / 2 && webSocketWritable) {
                wakeIfWaiting();
            }
        });
    }

    @Override
    public boolean isWritable() {
        if (inFlightBytes.get() > highWaterBytes || !webSocketWritable) {
            waitingForWritable = true;
            return false;
        }
        return true;
    }

    private void wakeIfWaiting() {
        if (waitingForWritable) {
            waitingForWritable = false;
            sessionThread.execute(engine::onWritable);
        }
    }

    // WebSocket thread -> session thread

    void onFrame(byte[] data, boolean binary) {
        sessionThread.execute(() -> engine.onFrame(ByteBuffer.wrap(data), binary));
    }

    void onWritable() {
        webSocketWritable = true;
        wakeIfWaiting();
    }

    void onClosed(int code, String reason) {
        sessionThread.execute(() -> engine.onClosed(code, reason));
    }

    @Override
    public void suspendReads() {
        webSocket.execute(webSocket::suspendReads);
    }

    @Override
    public void resumeReads() {
        webSocket.execute(webSocket::resumeReads);
    }

    @Override
    public void execute(Runnable task) {
        sessionThread.execute(task);
    }

    @Override
    public boolean inIoThread() {
        return sessionThread.inIoThread();
    }

    @Override
    public void close(int code, String reason) {
        // Behind the frames earlier flushes handed to the WebSocket's thread, which may be this one.
        webSocket.closeAfterQueuedTasks(code, reason);
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return webSocket.remoteAddress();
    }
}
