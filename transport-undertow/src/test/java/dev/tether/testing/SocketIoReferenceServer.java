package dev.tether.testing;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.Namespace;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * The server the official Socket.IO protocol test suite ({@code socketio/socket.io-protocol},
 * {@code test-suite/}) is written against, on Tether's public Socket.IO API: pingInterval 300 ms,
 * pingTimeout 200 ms, maxPayload 1,000,000, connectTimeout 1 s; every socket gets its {@code auth}
 * back as an {@code "auth"} event; {@code "message"} is answered with {@code "message-back"} and the
 * same arguments, {@code "message-with-ack"} acknowledged with its arguments; namespaces {@code /}
 * and {@code /custom}. {@code SocketIoProtocolSuiteIT} checks each behaviour of that suite against
 * it; {@link #main} serves it on a fixed port so that the suite itself can be run by hand.
 */
public final class SocketIoReferenceServer {

    /** The suite's pingInterval. */
    public static final Duration PING_INTERVAL = Duration.ofMillis(300);
    /** The suite's pingTimeout. */
    public static final Duration PING_TIMEOUT = Duration.ofMillis(200);

    private SocketIoReferenceServer() {
    }

    /** A hub configured as the suite expects; drain on close off. */
    public static Tether hub() {
        return Tether.create(TetherConfig.builder()
                .heartbeatInterval(PING_INTERVAL)
                .heartbeatTimeout(PING_TIMEOUT)
                .maxMessageBytes(1_000_000)
                .drainTimeout(Duration.ZERO)
                .build(), new SessionHandler() { });
    }

    /** The suite's application on {@code tether}. */
    public static SocketIo application(Tether tether) {
        SocketIo io = SocketIo.create(tether, SocketIoConfig.builder().connectTimeout(Duration.ofSeconds(1)).build());
        for (Namespace namespace : new Namespace[] {io.of("/"), io.of("/custom")}) {
            namespace.on("connection", socket -> {
                socket.emit("auth", socket.auth());
                socket.on("message", (args, ack) -> socket.emit("message-back", args.toArray()));
                socket.on("message-with-ack", (args, ack) -> ack.send(args.toArray()));
            });
        }
        return io;
    }

    /**
     * Serves the suite's server on 127.0.0.1:{@code args[0]} (default 3000) until killed.
     *
     * @param args the port, optional
     * @throws InterruptedException never in practice: the server runs until the process is killed
     */
    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 3000;
        Tether tether = hub();
        TetherServer server = TetherServer.start(application(tether),
                TetherUndertowConfig.builder().host("127.0.0.1").port(port).allowAnyOrigin(true).build());
        System.out.println("Socket.IO reference server on http://127.0.0.1:" + server.port() + "/socket.io/");
        new CountDownLatch(1).await();
    }
}
