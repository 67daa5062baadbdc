package dev.tether.benchmarks.peers;

import com.corundumstudio.socketio.Configuration;
import com.corundumstudio.socketio.SocketIOServer;
import com.corundumstudio.socketio.Transport;

/**
 * The seed's Socket.IO app on netty-socketio, the third server of {@code benchmarks/run} (issue 16),
 * with the same events as {@code benchmarks/socketio-peer/server.js}:
 * <ul>
 *   <li>{@code message} is answered with the event {@code response} and {@code Message received!};</li>
 *   <li>{@code echo} acks its argument;</li>
 *   <li>broadcast mode ({@code --broadcast} or {@code MODE=broadcast}): every socket joins room
 *       {@code room}, and {@code publish} emits {@code message} with its payload to the room, then acks.</li>
 * </ul>
 * netty-socketio's defaults except what makes it behave like the Node peer: ping interval 25 s and
 * timeout 20 s (socket.io's defaults), WebSocket and polling transports. Nothing is logged per message.
 * Environment: {@code PORT} (default 3000), {@code HOST} (default 127.0.0.1). Prints one line when ready,
 * {@code netty-socketio peer listening on HOST:PORT mode=default|broadcast}, and exits 0 on SIGTERM.
 */
public final class NettySocketIoSeedServer implements AutoCloseable {

    private final SocketIOServer server;
    private final int port;

    private NettySocketIoSeedServer(SocketIOServer server, int port) {
        this.server = server;
        this.port = port;
    }

    /** Starts the server on {@code host:port} (a port above 0). */
    public static NettySocketIoSeedServer start(String host, int port, boolean broadcast) {
        Configuration config = new Configuration();
        config.setHostname(host);
        config.setPort(port);
        config.setPingInterval(25_000);
        config.setPingTimeout(20_000);
        config.setTransports(Transport.WEBSOCKET, Transport.POLLING);
        SocketIOServer server = new SocketIOServer(config);
        server.addEventListener("message", Object.class,
                (client, data, ack) -> client.sendEvent("response", "Message received!"));
        server.addEventListener("echo", Object.class, (client, data, ack) -> {
            if (ack.isAckRequested()) {
                ack.sendAckData(data);
            }
        });
        if (broadcast) {
            server.addConnectListener(client -> client.joinRoom("room"));
            server.addEventListener("publish", Object.class, (client, data, ack) -> {
                server.getRoomOperations("room").sendEvent("message", data);
                if (ack.isAckRequested()) {
                    ack.sendAckData();
                }
            });
        }
        server.start();
        return new NettySocketIoSeedServer(server, port);
    }

    /** The port the server listens on. */
    public int port() {
        return port;
    }

    /** Stops the server and its event loops. */
    @Override
    public void close() {
        server.stop();
    }

    /** Runs the server until SIGTERM; see the class comment for its environment and arguments. */
    public static void main(String[] args) {
        boolean broadcast = "broadcast".equalsIgnoreCase(System.getenv().getOrDefault("MODE", "default"));
        for (String arg : args) {
            if (arg.equals("--broadcast")) {
                broadcast = true;
            } else {
                System.err.println("usage: NettySocketIoSeedServer [--broadcast]   (env: PORT, HOST, MODE=broadcast)");
                System.exit(2);
            }
        }
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "3000"));
        String host = System.getenv().getOrDefault("HOST", "127.0.0.1");
        NettySocketIoSeedServer server = start(host, port, broadcast);
        // Exit 0 on SIGTERM/SIGINT: the hook stops the server, then halts with 0 (the JVM's own
        // status after a signal would be 143/130).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            Runtime.getRuntime().halt(0);
        }, "netty-socketio-shutdown"));
        System.out.println("netty-socketio peer listening on " + host + ":" + port
                + " mode=" + (broadcast ? "broadcast" : "default"));
    }
}
