package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.RequestException;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.Await;
import dev.tether.testing.NodeSocketIoClient;
import dev.tether.testing.SocketIoTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Stock {@code socket.io-client} 4.8 under Node against a Tether Socket.IO server on loopback,
 * over the WebSocket transport only ({@code transports: ["websocket"]}).
 */
class SocketIoWebSocketIT {

    static final Duration WAIT = SocketIoTestServer.WAIT;
    static final String WS_ONLY = "{\"transports\":[\"websocket\"]}";

    private SocketIoTestServer sio;
    private Tether tether;
    private SocketIo io;

    private void start(TetherConfig.Builder hub, Consumer<SocketIo> setup) {
        start(hub, TetherUndertowConfig.builder(), setup);
    }

    private void start(TetherConfig.Builder hub, TetherUndertowConfig.Builder http, Consumer<SocketIo> setup) {
        sio = SocketIoTestServer.start(hub, SocketIoConfig.defaults(), http, s -> setup.accept(s.io()));
        tether = sio.tether();
        io = sio.io();
    }

    private NodeSocketIoClient client(int count, String options) throws Exception {
        return sio.client(count, options);
    }

    private Socket nextSocket() throws InterruptedException {
        return sio.nextSocket();
    }

    @AfterEach
    void stop() {
        if (sio != null) {
            sio.close();
        }
    }

    @Test
    void websocketOnlyClientConnectsAndItsEventsAreAcknowledged() throws Exception {
        start(TetherConfig.builder(), io -> io.on("connection", socket ->
                socket.on("hello", (args, ack) -> ack.send("hi " + args.get(0).asText(), socket.id()))));
        NodeSocketIoClient node = client(1, WS_ONLY);
        JsonNode connect = node.next("connect", WAIT);
        assertThat(connect.path("transport").asText()).isEqualTo("websocket");
        assertThat(connect.path("recovered").asBoolean()).isFalse();
        Socket socket = nextSocket();
        assertThat(connect.path("id").asText()).isEqualTo(socket.id());

        node.send("{\"cmd\":\"emit\",\"event\":\"hello\",\"args\":[\"bob\"],\"ack\":true}");
        JsonNode ack = node.next("ack", WAIT);
        assertThat(ack.path("error").isNull()).isTrue();
        assertThat(ack.path("args").toString()).isEqualTo("[\"hi bob\",\"" + socket.id() + "\"]");

        socket.emit("news", "flash", 7);
        JsonNode news = node.next(e -> e.path("name").asText().equals("news"), "news", WAIT);
        assertThat(news.path("args").toString()).isEqualTo("[\"flash\",7]");
    }

    /**
     * A WebSocket-only client sends its CONNECT ("40") as soon as it has the open packet. Each of
     * these connections must get its CONNECT reply without waiting for the server's next write:
     * with the default 25 s ping interval a reply held until the first ping would arrive after
     * socket.io-client's 20 s connect timeout, and {@link RawWebSocket}'s 10 s read timeout fails
     * the test first. Half of the connections close at once, so that closes (XNIO cancels their
     * keys with a nested selectNow) interleave with the others' reads on the same I/O threads.
     */
    @Test
    void everyDirectWebSocketConnectIsAnsweredWithoutWaitingForTheServersNextWrite() throws Exception {
        start(TetherConfig.builder(), io -> io.on("connection", socket -> socket.emit("welcome", socket.id())));
        List<RawWebSocket> open = new ArrayList<>();
        try {
            for (int k = 0; k < 200; k++) {
                RawWebSocket ws = RawWebSocket.connect(sio.server().address(), "/socket.io/?EIO=4&transport=websocket");
                assertThat(ws.readText()).startsWith("0{");
                ws.sendText("40");
                assertThat(ws.readText()).as("connection %d", k).startsWith("40{\"sid\":");
                assertThat(ws.readText()).as("connection %d", k).startsWith("42[\"welcome\",");
                if (k % 2 == 0) {
                    ws.close();
                } else {
                    open.add(ws);
                }
            }
        } finally {
            for (RawWebSocket ws : open) {
                ws.close();
            }
        }
    }

    @Test
    void serverEmitWithAckIsAnsweredOrTimesOut() throws Exception {
        start(TetherConfig.builder(), io -> { });
        NodeSocketIoClient node = client(1, WS_ONLY);
        node.next("connect", WAIT);
        Socket socket = nextSocket();
        List<JsonNode> answer = socket.emitWithAck("question", Duration.ofSeconds(10), "why").get(20, TimeUnit.SECONDS);
        assertThat(answer).extracting(JsonNode::asText).containsExactly("ack:question", "why");

        CompletableFuture<List<JsonNode>> unanswered = socket.emitWithAck("silent-question", Duration.ofMillis(500), "x");
        node.next(e -> e.path("name").asText().equals("silent-question"), "silent-question", WAIT);
        ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> unanswered.get(20, TimeUnit.SECONDS));
        assertThat(failure.getCause()).isInstanceOf(RequestException.class);
        assertThat(((RequestException) failure.getCause()).code()).isEqualTo(RequestException.TIMEOUT);
    }

    @Test
    void roomBroadcastReachesFiveHundredClientsExactlyOnceEach() throws Exception {
        int n = 500;
        start(TetherConfig.builder(), io -> io.on("connection", socket -> socket.join("everyone")));
        NodeSocketIoClient node = client(n, WS_ONLY);
        node.next("all-connected", Duration.ofSeconds(60));
        Await.until(() -> tether.subscribers("sio:/#everyone") == n, WAIT, "every socket joined the room");
        assertThat(io.to("everyone").emit("news", "hello all")).isEqualTo(n);
        // Per-socket order is kept, so a duplicate of "news" would arrive before "end".
        assertThat(io.to("everyone").emit("end")).isEqualTo(n);
        int[] news = new int[n];
        int ends = 0;
        while (ends < n) {
            JsonNode e = node.next("event", Duration.ofSeconds(30));
            switch (e.path("name").asText()) {
                case "news" -> {
                    assertThat(e.path("args").toString()).isEqualTo("[\"hello all\"]");
                    news[e.path("i").asInt()]++;
                }
                case "end" -> ends++;
                default -> { }
            }
        }
        for (int i = 0; i < n; i++) {
            assertThat(news[i]).as("socket %d", i).isEqualTo(1);
        }
    }

    @Test
    void refusingMiddlewareIsSeenAsConnectErrorWithItsMessage() throws Exception {
        start(TetherConfig.builder(), io -> io.use(Authenticator.sync(request -> request.bearerToken().filter("good"::equals).isPresent()
                ? AuthResult.accept(() -> "user") : AuthResult.unauthorized("Not authorized"))));
        NodeSocketIoClient bad = client(1, "{\"transports\":[\"websocket\"],\"auth\":{\"token\":\"bad\"},\"reconnection\":false}");
        assertThat(bad.next("connect_error", WAIT).path("message").asText()).isEqualTo("Not authorized");
        NodeSocketIoClient good = client(1, "{\"transports\":[\"websocket\"],\"auth\":{\"token\":\"good\"}}");
        good.next("connect", WAIT);
        assertThat(nextSocket().principal().getName()).isEqualTo("user");
    }

    @Test
    void messageOverMaxPayloadClosesThatTransportCleanlyAndOthersCarryOn() throws Exception {
        start(TetherConfig.builder().maxMessageBytes(1000), io -> io.on("connection", socket ->
                socket.on("echo", (args, ack) -> ack.send(args.toArray()))));
        NodeSocketIoClient node = client(2, "{\"transports\":[\"websocket\"],\"reconnection\":false}");
        node.next("all-connected", WAIT);
        node.send("{\"cmd\":\"emit\",\"i\":0,\"event\":\"echo\",\"args\":[\"" + "x".repeat(5000) + "\"]}");
        JsonNode closed = node.next("disconnect", WAIT);
        assertThat(closed.path("i").asInt()).isZero();
        assertThat(closed.path("reason").asText()).isEqualTo("transport close");
        assertThat(closed.path("code").asInt()).as("close code").isEqualTo(1009);
        node.send("{\"cmd\":\"emit\",\"i\":1,\"event\":\"echo\",\"args\":[\"small\"],\"ack\":true}");
        JsonNode ack = node.next("ack", WAIT);
        assertThat(ack.path("i").asInt()).isEqualTo(1);
        assertThat(ack.path("args").toString()).isEqualTo("[\"small\"]");
    }

    @Test
    void slowClientIsClosedBySlowConsumerPolicyWhileOthersReceiveEverything() throws Exception {
        int messages = 2000;
        int batch = 32; // half the queue: the healthy clients never overflow
        start(TetherConfig.builder().outboundQueueCapacity(64).volatileQueueLimit(32),
                TetherUndertowConfig.builder().writeWaterMark(new WriteWaterMark(16 * 1024, 32 * 1024)),
                io -> io.on("connection", socket -> socket.join("feed")));
        NodeSocketIoClient node = client(3, "{\"transports\":[\"websocket\"],\"reconnection\":false,\"brief\":true}");
        node.next("all-connected", WAIT);
        Await.until(() -> tether.subscribers("sio:/#feed") == 3, WAIT, "every socket joined the feed");
        node.send("{\"cmd\":\"pause\",\"i\":0}");
        node.send("{\"cmd\":\"counts\"}");
        node.next("counts", WAIT); // the pause command ran
        String payload = "y".repeat(16 * 1024);
        int[] next = {0, 1, 1};
        for (int k = 1; k <= messages; k++) {
            io.to("feed").emit("item", k, payload);
            if (k % batch == 0 || k == messages) {
                while (next[1] <= k || next[2] <= k) {
                    JsonNode e = node.next(x -> x.path("e").asText().equals("event") && x.path("i").asInt() > 0,
                            "item", WAIT);
                    int i = e.path("i").asInt();
                    assertThat(e.path("args").get(0).asInt()).as("socket %d in order", i).isEqualTo(next[i]);
                    next[i]++;
                }
            }
        }
        Await.until(() -> tether.stats().slowConsumerCloses() >= 1, WAIT, "the paused client closed as a slow consumer");
        assertThat(tether.stats().slowConsumerCloses()).isEqualTo(1);
        assertThat(next[1]).isEqualTo(messages + 1);
        assertThat(next[2]).isEqualTo(messages + 1);
    }
}
