package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.NodeSocketIoClient;
import dev.tether.testing.SocketIoTestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Stock {@code socket.io-client} with its default options (HTTP long-polling, then the upgrade to
 * WebSocket), polling only, custom namespaces and binary attachments; and the HTTP answers to bad
 * Engine.IO requests.
 */
class SocketIoPollingIT {

    private static final Duration WAIT = SocketIoTestServer.WAIT;
    private static final String ALLOWED = "http://app.example";

    private SocketIoTestServer sio;
    private Tether tether;
    private SocketIo io;
    private TetherServer server;

    @BeforeEach
    void start() {
        sio = SocketIoTestServer.start(TetherConfig.builder().maxMessageBytes(10_000), SocketIoConfig.defaults(),
                TetherUndertowConfig.builder().allowedOrigins(Set.of(ALLOWED)), s -> {
                    s.io().on("connection", socket -> socket.on("echo", (args, ack) -> ack.send(args.toArray())));
                    s.io().of("/chat").on("connection", socket -> {
                        socket.on("echo", (args, ack) -> ack.send("chat", args.get(0)));
                        s.connected(socket);
                    });
                });
        tether = sio.tether();
        io = sio.io();
        server = sio.server();
    }

    @AfterEach
    void stop() {
        sio.close();
    }

    private String url() {
        return sio.url();
    }

    private NodeSocketIoClient client(String path, String options) throws Exception {
        return sio.client(path, 1, options);
    }

    private Socket nextSocket() throws InterruptedException {
        return sio.nextSocket();
    }

    @Test
    void defaultClientConnectsOverPollingThenUpgradesAndKeepsWorking() throws Exception {
        NodeSocketIoClient node = client("", "{}");
        assertThat(node.next("open", WAIT).path("transport").asText()).isEqualTo("polling");
        node.next("connect", WAIT);
        Socket socket = nextSocket();
        // The upgrade may complete before or after the CONNECT reply is handled.
        assertThat(node.awaitSeen("upgrade", WAIT).path("transport").asText()).isEqualTo("websocket");
        assertThat(tether.stats().connections()).isEqualTo(1);

        node.send("{\"cmd\":\"emit\",\"event\":\"echo\",\"args\":[\"after upgrade\"],\"ack\":true}");
        assertThat(node.next("ack", WAIT).path("args").toString()).isEqualTo("[\"after upgrade\"]");
        for (int k = 1; k <= 50; k++) {
            socket.emit("n", k);
        }
        for (int k = 1; k <= 50; k++) {
            assertThat(node.next("event", WAIT).path("args").get(0).asInt()).isEqualTo(k);
        }
    }

    @Test
    void pollingOnlyClientExchangesEventsAcksAndBinaryAttachments() throws Exception {
        NodeSocketIoClient node = client("", "{\"transports\":[\"polling\"]}");
        assertThat(node.next("connect", WAIT).path("transport").asText()).isEqualTo("polling");
        Socket socket = nextSocket();
        String bytes = Base64.getEncoder().encodeToString(new byte[] {0, 1, 2, (byte) 255});
        node.send("{\"cmd\":\"emit\",\"event\":\"echo\",\"args\":[{\"$bin\":\"" + bytes + "\"},\"x\"],\"ack\":true}");
        JsonNode ack = node.next("ack", WAIT);
        assertThat(ack.path("args").get(0).path("$bin").asText()).isEqualTo(bytes);
        assertThat(ack.path("args").get(1).asText()).isEqualTo("x");
        socket.emit("blob", "label", new byte[] {9, 8, 7});
        JsonNode blob = node.next("event", WAIT);
        assertThat(blob.path("name").asText()).isEqualTo("blob");
        assertThat(blob.path("args").get(1).path("$bin").asText())
                .isEqualTo(Base64.getEncoder().encodeToString(new byte[] {9, 8, 7}));
        List<JsonNode> answer = socket.emitWithAck("question", Duration.ofSeconds(10), "over polling").get(20, TimeUnit.SECONDS);
        assertThat(answer.get(0).asText()).isEqualTo("ack:question");
    }

    @Test
    void binaryAttachmentsRoundTripOverWebSocket() throws Exception {
        NodeSocketIoClient node = client("", "{\"transports\":[\"websocket\"]}");
        node.next("connect", WAIT);
        Socket socket = nextSocket();
        byte[] big = new byte[5000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        String b64 = Base64.getEncoder().encodeToString(big);
        node.send("{\"cmd\":\"emit\",\"event\":\"echo\",\"args\":[{\"$bin\":\"" + b64 + "\"},{\"$bin\":\"AQI=\"}],\"ack\":true}");
        JsonNode ack = node.next("ack", WAIT);
        assertThat(ack.path("args").get(0).path("$bin").asText()).isEqualTo(b64);
        assertThat(ack.path("args").get(1).path("$bin").asText()).isEqualTo("AQI=");
        socket.emit("blob", new byte[] {1, 2, 3});
        assertThat(node.next("event", WAIT).path("args").get(0).path("$bin").asText())
                .isEqualTo(Base64.getEncoder().encodeToString(new byte[] {1, 2, 3}));
    }

    @Test
    void customNamespaceConnectsAndUnknownOneIsRefused() throws Exception {
        NodeSocketIoClient chat = client("/chat", "{}");
        chat.next("connect", WAIT);
        Socket socket = nextSocket();
        assertThat(socket.namespace().name()).isEqualTo("/chat");
        chat.send("{\"cmd\":\"emit\",\"event\":\"echo\",\"args\":[\"hi\"],\"ack\":true}");
        assertThat(chat.next("ack", WAIT).path("args").toString()).isEqualTo("[\"chat\",\"hi\"]");
        io.of("/chat").emit("news", "for chat");
        assertThat(chat.next("event", WAIT).path("args").toString()).isEqualTo("[\"for chat\"]");

        NodeSocketIoClient nope = client("/nope", "{\"reconnection\":false}");
        assertThat(nope.next("connect_error", WAIT).path("message").asText()).isEqualTo("Invalid namespace");
    }

    @Test
    void stoppingTheServerClosesPollingAndUpgradedSessionsSoClientsKnow() throws Exception {
        NodeSocketIoClient polling = client("", "{\"transports\":[\"polling\"],\"reconnection\":false}");
        NodeSocketIoClient upgraded = client("", "{\"reconnection\":false}");
        polling.next("connect", WAIT);
        upgraded.next("connect", WAIT);
        upgraded.awaitSeen("upgrade", WAIT);
        server.close();
        assertThat(polling.next("disconnect", WAIT).path("reason").asText()).isEqualTo("transport close");
        JsonNode closed = upgraded.next("disconnect", WAIT);
        assertThat(closed.path("reason").asText()).isEqualTo("transport close");
        assertThat(closed.path("code").asInt()).as("a close frame, not a dropped socket").isEqualTo(1001);
    }

    @Test
    void stoppingTheServerHandsEveryPollingClientTheClosePacketBeforeItStops() throws Exception {
        int n = 20;
        NodeSocketIoClient clients = sio.client(n, "{\"transports\":[\"polling\"],\"reconnection\":false}");
        clients.next("all-connected", WAIT);
        server.close(); // alone: nothing else to wait for, so nothing else gives the closes time
        for (int i = 0; i < n; i++) {
            assertThat(clients.next("disconnect", WAIT).path("reason").asText())
                    .as("a close packet, not a dropped poll").isEqualTo("transport close");
        }
    }

    @Test
    void theClosePacketTravelsAloneAfterWhatWasQueued() throws Exception {
        // socket.io-client handles a payload's close packet before the events in front of it, so
        // those would reach the application only after its reconnect (and its recovery offset).
        HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
        String open = get(http, "/socket.io/?EIO=4&transport=polling", null).body();
        String session = "/socket.io/?EIO=4&transport=polling&sid=" + open.replaceAll("^0\\{\"sid\":\"([^\"]+)\".*$", "$1");
        HttpResponse<String> connect = http.send(HttpRequest.newBuilder(URI.create(url() + session))
                .POST(HttpRequest.BodyPublishers.ofString("40")).timeout(WAIT).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(connect.statusCode()).isEqualTo(200);
        assertThat(get(http, session, null).body()).startsWith("40{\"sid\":");
        Socket socket = nextSocket();
        socket.emit("a", 1);
        socket.emit("b", 2); // no GET waits: both stay buffered

        CompletableFuture<Void> stopping = CompletableFuture.runAsync(server::close);
        assertThat(get(http, session, null).body().split(String.valueOf('\u001e')))
                .containsExactly("42[\"a\",1]", "42[\"b\",2]");
        assertThat(stopping).as("waiting for the close packet to be handed over").isNotDone();
        assertThat(get(http, session, null).body()).isEqualTo("1");
        stopping.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void badEngineIoRequestsGetClearHttpErrors() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
        HttpResponse<String> r = get(http, "/socket.io/?EIO=4&transport=polling&sid=nope", null);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("{\"code\":1,\"message\":\"Session ID unknown\"}");
        r = get(http, "/socket.io/?EIO=3&transport=polling", null);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("\"code\":5");
        r = get(http, "/socket.io/?EIO=4&transport=carrier-pigeon", null);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("\"code\":0");
        r = get(http, "/socket.io/?EIO=4&transport=polling", "http://evil.example");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        assertThat(tether.stats().connections()).isZero();

        r = get(http, "/socket.io/?EIO=4&transport=polling", ALLOWED);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).contains(ALLOWED);
        assertThat(r.body()).startsWith("0{\"sid\":");
        String sid = r.body().replaceAll("^0\\{\"sid\":\"([^\"]+)\".*$", "$1");
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(url()
                        + "/socket.io/?EIO=4&transport=polling&sid=" + sid))
                .POST(HttpRequest.BodyPublishers.ofString("4" + "2[\"x\",\"" + "y".repeat(20_000) + "\"]"))
                .timeout(WAIT).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(post.statusCode()).isEqualTo(413);
        dev.tether.testing.Await.until(() -> tether.stats().connections() == 0, WAIT, "the session closed");
        HttpResponse<String> told = get(http, "/socket.io/?EIO=4&transport=polling&sid=" + sid, null);
        assertThat(told.statusCode()).isEqualTo(200);
        assertThat(told.body()).as("the next poll carries the close packet").isEqualTo("1");
        assertThat(get(http, "/socket.io/?EIO=4&transport=polling&sid=" + sid, null).statusCode()).isEqualTo(400);
    }

    private HttpResponse<String> get(HttpClient http, String path, String origin) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path)).timeout(WAIT).GET();
        if (origin != null) {
            b.header("Origin", origin);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }
}
