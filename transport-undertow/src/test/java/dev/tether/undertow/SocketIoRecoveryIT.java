package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.Await;
import dev.tether.testing.NodeSocketIoClient;
import dev.tether.testing.SocketIoTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Connection state recovery with stock {@code socket.io-client}: the client's transport is cut
 * ({@code socket.io.engine.close()}), the server publishes while it is away, the client reconnects
 * by itself and gets the missed events once and in order with {@code socket.recovered === true};
 * after the retention window it gets a new session and {@code recovered === false}, and so does
 * the server side.
 */
class SocketIoRecoveryIT {

    private static final Duration WAIT = SocketIoTestServer.WAIT;

    private final BlockingQueue<String> disconnects = new LinkedBlockingQueue<>();
    private SocketIoTestServer sio;
    private NodeSocketIoClient node;
    private Tether tether;
    private SocketIo io;

    private void start(Duration retention) {
        sio = SocketIoTestServer.start(TetherConfig.builder().sessionRetention(retention),
                SocketIoConfig.builder().connectionStateRecovery(true).build(), TetherUndertowConfig.builder(),
                s -> s.io().on("connection", socket -> {
                    socket.join("news");
                    socket.onDisconnect(disconnects::add);
                }));
        tether = sio.tether();
        io = sio.io();
    }

    private NodeSocketIoClient client(long reconnectDelayMs) throws Exception {
        node = sio.client(1, "{\"transports\":[\"websocket\"],\"reconnectionDelay\":" + reconnectDelayMs
                + ",\"reconnectionDelayMax\":" + reconnectDelayMs + ",\"randomizationFactor\":0}");
        return node;
    }

    private Socket nextConnection() throws InterruptedException {
        return sio.nextSocket();
    }

    @AfterEach
    void stop() {
        if (sio != null) {
            sio.close();
        }
    }

    private static List<Integer> received(NodeSocketIoClient node) {
        List<Integer> got = new ArrayList<>();
        for (JsonNode e : node.seen()) {
            if (e.path("e").asText().equals("event") && e.path("name").asText().equals("n")) {
                got.add(e.path("args").get(0).asInt());
            }
        }
        return got;
    }

    @Test
    void cutTransportRecoversAndDeliversMissedEventsOnceInOrder() throws Exception {
        start(Duration.ofMinutes(2));
        client(1000);
        JsonNode first = node.next("connect", WAIT);
        assertThat(first.path("recovered").asBoolean()).isFalse();
        Socket socket = nextConnection();
        Await.until(() -> tether.subscribers("sio:/#news") == 1, WAIT, "joined the room");
        io.to("news").emit("n", 1);
        JsonNode one = node.next("event", WAIT);
        assertThat(one.path("args").toString()).isEqualTo("[1,\"1\"]");

        node.send("{\"cmd\":\"cut\"}");
        assertThat(disconnects.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("transport close");
        node.next("disconnect", WAIT);
        for (int k = 2; k <= 4; k++) {
            assertThat(io.to("news").emit("n", k)).as("the session is still in the room").isEqualTo(1);
        }
        socket.emit("n", 5);

        JsonNode again = node.next("connect", WAIT);
        assertThat(again.path("recovered").asBoolean()).isTrue();
        assertThat(again.path("id").asText()).isEqualTo(first.path("id").asText());
        Socket recovered = nextConnection();
        assertThat(recovered.recovered()).isTrue();
        assertThat(recovered.id()).isEqualTo(socket.id());
        io.to("news").emit("n", 6); // a live one after the replay: order marker
        node.next(e -> e.path("e").asText().equals("event") && e.path("args").get(0).asInt() == 6, "n 6", WAIT);
        assertThat(received(node)).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(tether.stats().resumed()).isEqualTo(1);
    }

    @Test
    void afterTheRetentionWindowTheClientGetsANewSessionAndKnowsIt() throws Exception {
        start(Duration.ofMillis(300));
        client(2500);
        JsonNode first = node.next("connect", WAIT);
        Socket socket = nextConnection();
        Await.until(() -> tether.subscribers("sio:/#news") == 1, WAIT, "joined the room");
        io.to("news").emit("n", 1);
        node.next("event", WAIT);
        node.send("{\"cmd\":\"cut\"}");
        node.next("disconnect", WAIT);
        io.to("news").emit("n", 2); // lost with the session: the client must learn it lost state
        Await.until(() -> socket.session().isClosed(), WAIT, "the session expired");

        JsonNode again = node.next("connect", WAIT);
        assertThat(again.path("recovered").asBoolean()).isFalse();
        assertThat(again.path("id").asText()).isNotEqualTo(first.path("id").asText());
        Socket fresh = nextConnection();
        assertThat(fresh.recovered()).isFalse();
        assertThat(fresh.id()).isNotEqualTo(socket.id());
        assertThat(received(node)).containsExactly(1);
    }
}
