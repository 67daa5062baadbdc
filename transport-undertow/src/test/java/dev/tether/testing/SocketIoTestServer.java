package dev.tether.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A Socket.IO server for integration tests: a hub, {@link SocketIo} on it and a real
 * {@link TetherServer} on an ephemeral 127.0.0.1 port, plus the Node.js clients a test starts and
 * the server-side sockets as they connect to the main namespace. {@link #close()} stops the
 * clients, the hub and the server.
 */
public final class SocketIoTestServer implements AutoCloseable {

    /** How long a test waits for a connection, an event or an ack. */
    public static final Duration WAIT = Duration.ofSeconds(20);

    private final Tether tether;
    private final SocketIo io;
    private final TetherServer server;
    private final BlockingQueue<Socket> connected = new LinkedBlockingQueue<>();
    private final List<NodeSocketIoClient> clients = new ArrayList<>();

    private SocketIoTestServer(TetherConfig.Builder hub, SocketIoConfig config, TetherUndertowConfig.Builder http,
                               Consumer<SocketIoTestServer> setup) {
        tether = Tether.create(hub.drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        io = SocketIo.create(tether, config);
        setup.accept(this);
        // After the test's own listeners, so a socket is queued once they have run.
        io.on("connection", connected::add);
        server = TetherServer.start(io, http.host("127.0.0.1").port(0).build());
    }

    /**
     * Starts a server; {@code setup} registers the test's listeners before the server listens.
     * Drain on close is off, so stopping takes no time.
     */
    public static SocketIoTestServer start(TetherConfig.Builder hub, SocketIoConfig config,
                                           TetherUndertowConfig.Builder http, Consumer<SocketIoTestServer> setup) {
        return new SocketIoTestServer(hub, config, http, setup);
    }

    public Tether tether() {
        return tether;
    }

    public SocketIo io() {
        return io;
    }

    public TetherServer server() {
        return server;
    }

    /** The server's base URL, as a socket.io-client takes it. */
    public String url() {
        return "http://127.0.0.1:" + server.port();
    }

    /** Starts {@code count} Node.js socket.io-clients with {@code options} (JSON); closed with the server. */
    public NodeSocketIoClient client(int count, String options) throws Exception {
        return client("", count, options);
    }

    /** The same for the namespace at {@code path} ("/chat"; "" for the main one). */
    public NodeSocketIoClient client(String path, int count, String options) throws Exception {
        NodeSocketIoClient c = NodeSocketIoClient.start(url() + path, count, options);
        clients.add(c);
        return c;
    }

    /** Queues a socket of another namespace as {@link #nextSocket()} returns those of the main one. */
    public void connected(Socket socket) {
        connected.add(socket);
    }

    /** The next server-side socket to connect, waiting up to {@link #WAIT}. */
    public Socket nextSocket() throws InterruptedException {
        Socket s = connected.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(s).as("server-side connection").isNotNull();
        return s;
    }

    @Override
    public void close() {
        clients.forEach(NodeSocketIoClient::close);
        tether.close();
        server.close();
    }
}
