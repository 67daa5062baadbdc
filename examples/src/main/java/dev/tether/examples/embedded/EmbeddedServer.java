package dev.tether.examples.embedded;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.undertow.TetherHandler;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The README's embedding example, compiled so that it stays true: Tether mounted at
 * {@code /tether} in a host's own Undertow server. Run with {@code examples/run embedded}.
 */
public final class EmbeddedServer {

    private EmbeddedServer() {
    }

    public static void main(String[] args) {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        AtomicReference<Tether> hub = new AtomicReference<>();
        Tether tether = Tether.create(TetherConfig.defaults(), new SessionHandler() {
            @Override public void onOpen(Session session) {
                session.subscribe("chat");
            }
            @Override public void onMessage(Session session, Message message) {
                session.send("response", Payload.text("Message received!"));      // reliable, to this client
                hub.get().publish("chat", "message", message.payload());          // to every subscriber
            }
            @Override public void onRequest(Session session, Message message, Responder responder) {
                responder.reply(message.payload());                                // answers request("echo", ...)
            }
        });
        hub.set(tether);

        Undertow server = Undertow.builder()
                .addHttpListener(port, "0.0.0.0")
                .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, 10_000)  // see TetherHandler's javadoc
                .setHandler(Handlers.path().addPrefixPath("/tether", new TetherHandler(tether)))
                .build();
        server.start();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            tether.close();
            server.stop();
        }, "tether-shutdown"));
    }
}
