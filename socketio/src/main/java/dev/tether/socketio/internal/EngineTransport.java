package dev.tether.socketio.internal;

import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.net.InetSocketAddress;

/**
 * The transport connection the sessions of one Engine.IO connection write to: the WebSocket or
 * the long-polling transport underneath, writing {@link Frame#next() chained} frames (binary
 * attachments) after the frame that announces them.
 *
 * <p>Threading: as {@link TransportConnection}; delegates to the transport underneath.
 */
final class EngineTransport implements TransportConnection {

    /** Replaced only on the I/O thread, by an upgrade whose new transport uses the same thread. */
    private volatile TransportConnection transport;

    EngineTransport(TransportConnection transport) {
        this.transport = transport;
    }

    /** The Engine.IO upgrade: from now on everything goes to {@code next}. I/O thread. */
    void replace(TransportConnection next) {
        transport = next;
    }

    @Override
    public boolean write(Frame frame) {
        for (Frame f = frame; f != null; f = f.next()) {
            if (!transport.write(f)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void flush() {
        transport.flush();
    }

    @Override
    public boolean isWritable() {
        return transport.isWritable();
    }

    @Override
    public void suspendReads() {
        transport.suspendReads();
    }

    @Override
    public void resumeReads() {
        transport.resumeReads();
    }

    @Override
    public void execute(Runnable task) {
        transport.execute(task);
    }

    @Override
    public boolean inIoThread() {
        return transport.inIoThread();
    }

    @Override
    public void close(int code, String reason) {
        transport.close(code, reason);
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return transport.remoteAddress();
    }
}
