package dev.tether.undertow.internal;

import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.ServerConnection;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.Option;
import org.xnio.StreamConnection;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;
import org.xnio.conduits.ReadReadyHandler;
import org.xnio.conduits.WriteReadyHandler;

/**
 * An accepted socket as Undertow's HTTP side sees it, from which a WebSocket upgrade takes the
 * socket back. The standalone server ({@link HttpListener}) hands Undertow this in place of each
 * socket; embedded in a host's server, Undertow has the socket itself and nothing changes.
 *
 * <p>Why: Undertow's {@code HttpServerConnection} registers its close listener on the connection
 * it serves, and XNIO merges close listeners without a way to remove one. On a socket Undertow
 * serves directly, its per-connection HTTP state (the connection, its request parser with three
 * string builders, its response conduits and close listeners, its entry in the listener's
 * connection set: about 0.8 KB measured by class histogram) therefore stays reachable for as long
 * as the WebSocket lives. Served through this wrapper, those listeners are on the wrapper. Once
 * the 101 is written, {@link #detach} points the socket's read and write events back at the
 * socket's own channels and closes the wrapper alone, which runs Undertow's close listeners (its
 * connection set, its buffers, its statistics) and leaves nothing of the HTTP connection
 * reachable from the socket. The same construction as XNIO's and Undertow's TLS connections: a
 * {@link StreamConnection} over the conduits of another.
 *
 * <p>Until then the wrapper is the socket: reads and writes go to the socket's conduit, options
 * and addresses are the socket's, and closing either closes both.
 *
 * <p>Threading: {@link #detach} runs on the socket's I/O thread; a close may come from any thread
 * and races with a detach by one compare-and-set.
 */
public final class DetachableConnection extends StreamConnection {

    private static final int SERVED = 0;
    private static final int DETACHED = 1;
    private static final int CLOSED = 2;
    private static final AtomicIntegerFieldUpdater<DetachableConnection> STATE =
            AtomicIntegerFieldUpdater.newUpdater(DetachableConnection.class, "state");

    private final StreamConnection socket;
    /** On the socket for its life (XNIO cannot remove it): so it refers to the wrapper only until the detach. */
    private final SocketClosed socketClosed;
    private volatile int state = SERVED;

    /** Serves {@code socket} to Undertow through a wrapper. Call before anything else uses the socket. */
    public DetachableConnection(StreamConnection socket) {
        super(socket.getIoThread());
        this.socket = socket;
        this.socketClosed = new SocketClosed(this);
        setSourceConduit(socket.getSourceChannel().getConduit());
        setSinkConduit(socket.getSinkChannel().getConduit());
        socket.setCloseListener(socketClosed);
    }

    /** An upgraded socket taken back from Undertow, and the bytes Undertow read past the request. */
    public record Detached(StreamConnection socket, ByteBuffer readAhead) {
    }

    /**
     * Takes the socket of an upgraded connection back from Undertow, with the bytes its request
     * parser read past the request's head (a client that did not wait for the 101), or null if
     * there were none. A socket Undertow serves directly ({@code upgraded} is not a wrapper) is
     * returned as it is: Undertow's own conduit on it still delivers such bytes. Call on the
     * socket's I/O thread, after the 101 is written and once nothing of the exchange needs
     * Undertow's connection any more: closing the wrapper runs its close listeners. If the
     * connection closed first, the socket returned is closed.
     *
     * @param upgraded the connection {@code HttpUpgradeListener.handleUpgrade} was given
     * @param http     the exchange's connection
     */
    public static Detached detach(StreamConnection upgraded, ServerConnection http) {
        if (!(upgraded instanceof DetachableConnection served)) {
            return new Detached(upgraded, null);
        }
        ByteBuffer readAhead = takeExtraBytes(http); // before the close, which gives them back to the pool
        return new Detached(served.detach(), readAhead);
    }

    private StreamConnection detach() {
        if (!STATE.compareAndSet(this, SERVED, DETACHED)) {
            return socket; // closed, and the socket with it
        }
        socketClosed.served = null;
        // Each channel's constructor pointed the conduit's events at itself, the wrapper's last.
        ConduitStreamSourceChannel source = socket.getSourceChannel();
        ConduitStreamSinkChannel sink = socket.getSinkChannel();
        source.getConduit().setReadReadyHandler(new ReadReadyHandler.ChannelListenerHandler<>(source));
        sink.getConduit().setWriteReadyHandler(new WriteReadyHandler.ChannelListenerHandler<>(sink));
        IoUtils.safeClose(this); // Undertow's close listeners; closeAction leaves the socket open
        return socket;
    }

    private static ByteBuffer takeExtraBytes(ServerConnection http) {
        if (!(http instanceof AbstractServerConnection connection)) {
            return null;
        }
        PooledByteBuffer extra = connection.getExtraBytes();
        if (extra == null) {
            return null;
        }
        connection.setExtraBytes(null);
        try (extra) {
            ByteBuffer bytes = extra.getBuffer();
            return bytes.hasRemaining() ? ByteBuffer.allocate(bytes.remaining()).put(bytes).flip() : null;
        }
    }

    @Override
    protected void closeAction() throws IOException {
        if (STATE.compareAndSet(this, SERVED, CLOSED)) {
            socket.close();
        }
    }

    /** The socket's own channels report its ends; the wrapper's conduits are the socket's. */
    @Override
    protected void notifyWriteClosed() {
    }

    @Override
    protected void notifyReadClosed() {
    }

    @Override
    public SocketAddress getPeerAddress() {
        return socket.getPeerAddress();
    }

    @Override
    public SocketAddress getLocalAddress() {
        return socket.getLocalAddress();
    }

    @Override
    public boolean supportsOption(Option<?> option) {
        return socket.supportsOption(option);
    }

    @Override
    public <T> T getOption(Option<T> option) throws IOException {
        return socket.getOption(option);
    }

    @Override
    public <T> T setOption(Option<T> option, T value) throws IOException {
        return socket.setOption(option, value);
    }

    /** Closes the wrapper, and so runs Undertow's close listeners, when the socket closes first. */
    private static final class SocketClosed implements ChannelListener<StreamConnection> {
        volatile DetachableConnection served;

        SocketClosed(DetachableConnection served) {
            this.served = served;
        }

        @Override
        public void handleEvent(StreamConnection closed) {
            DetachableConnection wrapper = served;
            if (wrapper != null) {
                IoUtils.safeClose(wrapper);
            }
        }
    }
}
