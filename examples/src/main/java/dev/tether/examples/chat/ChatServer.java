package dev.tether.examples.chat;

import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;

/**
 * A runnable chat/echo server on the embedded, in-memory default. Port from the {@code PORT}
 * environment variable (default 8080); WebSocket path {@code /tether}. Stops cleanly on SIGTERM
 * or Ctrl-C: connections are closed with 4012 so clients resume elsewhere.
 *
 * <p>Run it with {@code examples/run chat}.
 */
public final class ChatServer {

    private ChatServer() {
    }

    public static void main(String[] args) {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        ChatHandler handler = new ChatHandler();
        Tether tether = Tether.create(TetherConfig.defaults(), handler);
        handler.bind(tether);
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().port(port).build());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            tether.close();
            server.close();
        }, "tether-shutdown"));
        System.out.println("Tether chat server listening on ws://127.0.0.1:" + server.port() + "/tether");
    }
}
