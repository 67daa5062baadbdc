package dev.tether.examples.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.examples.ShutdownLogManager;
import dev.tether.examples.Startup;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.util.Arrays;
import java.util.List;

/**
 * The seed's Node.js Socket.IO server on Tether: on {@code connection}, every {@code message}
 * event is answered with the event {@code response} and the text {@code Message received!}, and
 * {@code echo} is acked with its argument; with {@code --broadcast} (or {@code MODE=broadcast}) every
 * socket joins room {@code room} and {@code publish} goes to the room, as in
 * {@code benchmarks/socketio-peer/server.js}.
 * Connection state recovery is on (a client that reconnects within two minutes gets what it
 * missed); {@code maxPayload} is 1 MB as Socket.IO's default; nothing is logged per message.
 * Environment: {@code PORT} (default 3000), {@code HOST} (default 0.0.0.0),
 * {@code TETHER_HANDLERS_ON_IO_THREAD=1} (the event handlers, which never block, run on the I/O
 * thread, as netty-socketio's listeners do; default: on the hub's handler pool). Engine.IO path
 * {@code /socket.io/}. Stops cleanly on SIGTERM or Ctrl-C.
 *
 * <p>Run it with {@code examples/run socketio-seed}.
 */
public final class SocketIoSeedServer implements AutoCloseable {

    /** Socket.IO's default {@code maxHttpBufferSize}. */
    static final int MAX_PAYLOAD_BYTES = 1_000_000;

    private final Tether tether;
    private final TetherServer server;

    private SocketIoSeedServer(Tether tether, TetherServer server) {
        this.tether = tether;
        this.server = server;
    }

    /** Starts the server in the default mode; port 0 picks a free one. */
    public static SocketIoSeedServer start(String host, int port) {
        return start(host, port, false);
    }

    /**
     * Starts the server; port 0 picks a free one. In broadcast mode (the Node peer's {@code --broadcast})
     * every socket joins room {@code room}, and {@code publish} emits {@code message} with its payload to
     * the room, then acks.
     */
    public static SocketIoSeedServer start(String host, int port, boolean broadcast) {
        return start(host, port, broadcast, false);
    }

    /**
     * As {@link #start(String, int, boolean)}; with {@code handlersOnIoThread} the event handlers run
     * on the connection's I/O thread instead of the hub's handler pool (they never block).
     */
    public static SocketIoSeedServer start(String host, int port, boolean broadcast, boolean handlersOnIoThread) {
        TetherConfig.Builder config = TetherConfig.builder().maxMessageBytes(MAX_PAYLOAD_BYTES);
        if (handlersOnIoThread) {
            config.handlerExecutor(Runnable::run);
        }
        Tether tether = Tether.create(config.build(), new SessionHandler() { });
        SocketIo io = SocketIo.create(tether, SocketIoConfig.builder().connectionStateRecovery(true).build());
        io.on("connection", socket -> {
            socket.on("message", (args, ack) -> socket.emit("response", "Message received!"));
            // As benchmarks/socketio-peer/server.js: echo acks its argument (the load generator's latency probe).
            socket.on("echo", (args, ack) -> {
                if (ack.requested()) {
                    ack.send(first(args));
                }
            });
            if (broadcast) {
                socket.join("room");
                socket.on("publish", (args, ack) -> {
                    io.to("room").emit("message", first(args));
                    if (ack.requested()) {
                        ack.send();
                    }
                });
            }
        });
        try {
            return new SocketIoSeedServer(tether, TetherServer.start(io,
                    TetherUndertowConfig.builder().host(host).port(port).build()));
        } catch (RuntimeException e) {
            tether.close();
            throw e;
        }
    }

    /** The event's first argument as the arguments to pass on, or none. */
    private static Object[] first(List<JsonNode> args) {
        return args.isEmpty() ? new Object[0] : new Object[] {args.get(0)};
    }

    /** The port the server listens on. */
    public int port() {
        return server.port();
    }

    /** Drains the hub (clients are told to reconnect), then stops the server. */
    @Override
    public void close() {
        tether.close();
        server.close();
    }

    public static void main(String[] args) {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "3000"));
        String host = System.getenv().getOrDefault("HOST", TetherUndertowConfig.DEFAULT_HOST);
        boolean broadcast = "broadcast".equalsIgnoreCase(System.getenv().getOrDefault("MODE", "default"))
                || Arrays.asList(args).contains("--broadcast");
        boolean inline = "1".equals(System.getenv("TETHER_HANDLERS_ON_IO_THREAD"));
        SocketIoSeedServer server = Startup.orExit(() -> start(host, port, broadcast, inline));
        ShutdownLogManager.addShutdownHook("tether-shutdown", server::close);
        System.out.println("Tether Socket.IO server listening on http://" + host + ":" + server.port() + "/socket.io/");
    }
}
