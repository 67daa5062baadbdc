package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.NodeSocketIoClient;
import dev.tether.testing.SocketIoTestServer;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Stock {@code socket.io-client} against a Socket.IO server whose authenticator or namespace
 * middleware answers later: the polling and the WebSocket handshakes wait for the hub's
 * authenticator, a namespace CONNECT waits for its middleware, and both have a deadline. The test
 * completes every stage itself ({@link HeldAuthenticator}).
 */
class SocketIoAsyncAuthenticationIT {

    private static final Duration WAIT = SocketIoTestServer.WAIT;
    private static final Duration NO_TIMEOUT = Duration.ofSeconds(60);

    private final HeldAuthenticator held = new HeldAuthenticator();
    private SocketIoTestServer sio;
    private Tether tether;

    /** A server; with {@code heldHandshakes} the hub's authenticator is the held one, else /admin's middleware. */
    private void start(boolean heldHandshakes, UnaryOperator<TetherConfig.Builder> hub) {
        TetherConfig.Builder config = hub.apply(TetherConfig.builder().authenticationTimeout(NO_TIMEOUT));
        if (heldHandshakes) {
            config.authenticator(held);
        }
        sio = SocketIoTestServer.start(config, SocketIoConfig.defaults(), TetherUndertowConfig.builder(), s -> {
            if (!heldHandshakes) {
                s.io().of("/admin").use(held).on("connection", s::connected);
            }
        });
        tether = sio.tether();
    }

    @AfterEach
    void stop() {
        if (sio != null) {
            sio.close();
        }
    }

    @Test
    void pollingAndWebSocketHandshakesWaitForTheAuthenticator() throws Exception {
        start(true, b -> b);
        int connections = 0;
        for (String transport : new String[] {"polling", "websocket"}) {
            NodeSocketIoClient node = sio.client(1, "{\"transports\":[\"" + transport + "\"],"
                    + "\"query\":{\"access_token\":\"" + transport + "-token\"}}");
            HeldAuthenticator.Call call = held.next();
            assertThat(call.token()).isEqualTo(transport + "-token");
            assertThat(tether.stats().connections()).as("the waiting handshake holds its slot")
                    .isEqualTo(++connections);
            call.answerElsewhere(AuthResult.accept(() -> transport + "-user"));

            JsonNode connect = node.next("connect", WAIT);
            assertThat(connect.path("transport").asText()).isEqualTo(transport);
            Socket socket = sio.nextSocket();
            assertThat(socket.principal().getName()).isEqualTo(transport + "-user");
            socket.emit("news", "after a slow check");
            JsonNode news = node.next(e -> e.path("name").asText().equals("news"), "news", WAIT);
            assertThat(news.path("args").toString()).isEqualTo("[\"after a slow check\"]");
        }
    }

    @Test
    void pollingHandshakeWithoutAnAnswerInTimeIsRefusedAndGivesItsSlotBack() throws Exception {
        start(true, b -> b.authenticationTimeout(Duration.ofMillis(300)));
        NodeSocketIoClient node = sio.client(1, "{\"transports\":[\"polling\"],\"reconnection\":false}");
        HeldAuthenticator.Call call = held.next();
        node.next("connect_error", WAIT);
        assertThat(tether.stats().connections()).isZero();
        call.answerElsewhere(AuthResult.accept(() -> "too-late"));
        assertThat(tether.stats().connections()).isZero();
        assertThat(sio.io().sockets().sockets()).isEmpty();
    }

    @Test
    void namespaceMiddlewareThatAnswersLaterConnectsOrRefusesWithItsMessage() throws Exception {
        start(false, b -> b);
        NodeSocketIoClient good = sio.client("/admin", 1, "{\"auth\":{\"token\":\"good\"}}");
        HeldAuthenticator.Call call = held.next();
        assertThat(call.token()).isEqualTo("good");
        call.answerElsewhere(AuthResult.accept(() -> "admin"));
        good.next("connect", WAIT);
        Socket admin = sio.nextSocket();
        assertThat(admin.namespace().name()).isEqualTo("/admin");
        assertThat(admin.principal().getName()).isEqualTo("admin");

        NodeSocketIoClient bad = sio.client("/admin", 1, "{\"auth\":{\"token\":\"bad\"},\"reconnection\":false}");
        held.next().answerElsewhere(AuthResult.unauthorized("Not authorized"));
        assertThat(bad.next("connect_error", WAIT).path("message").asText()).isEqualTo("Not authorized");

        // The refused client's connection stays; the accepted one still works.
        admin.emit("still", "here");
        assertThat(good.next(e -> e.path("name").asText().equals("still"), "still", WAIT)
                .path("args").toString()).isEqualTo("[\"here\"]");
    }

    @Test
    void namespaceMiddlewareWithoutAnAnswerInTimeIsAConnectError() throws Exception {
        start(false, b -> b.authenticationTimeout(Duration.ofMillis(300)));
        NodeSocketIoClient node = sio.client("/admin", 1, "{\"auth\":{\"token\":\"slow\"},\"reconnection\":false}");
        HeldAuthenticator.Call call = held.next();
        assertThat(node.next("connect_error", WAIT).path("message").asText()).isEqualTo("Authentication timed out");
        call.answerElsewhere(AuthResult.accept(() -> "too-late"));
        assertThat(sio.io().of("/admin").sockets()).isEmpty();
    }
}
