package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Tether;
import dev.tether.testing.SocketIoReferenceServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Every behaviour the official protocol test suites check ({@code socketio/socket.io-protocol}
 * and {@code socketio/engine.io-protocol}, {@code test-suite/}), against the suite's reference
 * server on Tether's public Socket.IO API ({@link SocketIoReferenceServer}: pingInterval 300 ms,
 * pingTimeout 200 ms, maxPayload 1,000,000, connectTimeout 1 s, {@code auth} echoed,
 * {@code message} → {@code message-back}, {@code message-with-ack} acknowledged, namespace
 * {@code /custom}), with raw HTTP requests and raw WebSocket frames as the suites use. The display
 * names are the suites' test names.
 *
 * <p>The Engine.IO suite's {@code message} tests echo raw Engine.IO packets ({@code 4hello}), which
 * a Socket.IO server answers at the Socket.IO level: here the same framing (one packet, several
 * joined by {@code \x1e}, text and {@code b}+base64 binary in one payload) is checked with
 * Socket.IO events and their binary attachments.
 *
 * <p>The heartbeat tests wait for real time to pass: the deadline is what they test.
 */
@DisplayName("official Socket.IO / Engine.IO protocol suites")
class SocketIoProtocolSuiteIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String RS = "\u001e";

    private Tether tether;
    private TetherServer server;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(WAIT).build();
    private final List<RawWebSocket> sockets = new ArrayList<>();

    @BeforeEach
    void start() {
        tether = SocketIoReferenceServer.hub();
        server = TetherServer.start(SocketIoReferenceServer.application(tether),
                // A short close timeout: a stopping server waits that long for a polling client to come
                // for its close packet, and these clients never come back.
                TetherUndertowConfig.builder().host("127.0.0.1").port(0).closeTimeout(Duration.ofMillis(200)).build());
    }

    @AfterEach
    void stop() throws IOException {
        for (RawWebSocket socket : sockets) {
            socket.close();
        }
        tether.close();
        server.close();
    }

    // ================================================================ Engine.IO: handshake

    @Test
    @DisplayName("handshake, HTTP long-polling: successfully opens a session")
    void pollingHandshake() throws Exception {
        HttpResponse<String> response = get("/socket.io/?EIO=4&transport=polling");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).startsWith("0");
        assertOpenPacket(JSON.readTree(response.body().substring(1)), "[\"websocket\"]");
    }

    @Test
    @DisplayName("handshake, HTTP long-polling: fails with an invalid 'EIO' query parameter")
    void pollingHandshakeWithoutValidEio() throws Exception {
        assertThat(get("/socket.io/?transport=polling").statusCode()).isEqualTo(400);
        assertThat(get("/socket.io/?EIO=abc&transport=polling").statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("handshake, HTTP long-polling: fails with an invalid 'transport' query parameter")
    void pollingHandshakeWithoutValidTransport() throws Exception {
        assertThat(get("/socket.io/?EIO=4").statusCode()).isEqualTo(400);
        assertThat(get("/socket.io/?EIO=4&transport=abc").statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("handshake, HTTP long-polling: fails with an invalid request method")
    void pollingHandshakeWithAnotherMethod() throws Exception {
        assertThat(send("POST", "/socket.io/?EIO=4&transport=polling", "").statusCode()).isEqualTo(400);
        assertThat(send("PUT", "/socket.io/?EIO=4&transport=polling", "").statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("handshake, WebSocket: successfully opens a session")
    void webSocketHandshake() throws Exception {
        RawWebSocket ws = webSocket("");
        String open = ws.readText();
        assertThat(open).startsWith("0");
        assertOpenPacket(JSON.readTree(open.substring(1)), "[]");
    }

    @Test
    @DisplayName("handshake, WebSocket: fails with an invalid 'EIO' or 'transport' query parameter")
    void webSocketHandshakeWithBadParameters() throws Exception {
        for (String query : new String[] {"transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"}) {
            assertThat(RawWebSocket.upgradeResponse(address(), "/socket.io/?" + query, Map.of()).status())
                    .as(query).isEqualTo(400);
        }
    }

    // ================================================================ Engine.IO: message framing

    @Test
    @DisplayName("message, HTTP long-polling: sends and receives a payload containing one plain text packet")
    void pollingOnePacket() throws Exception {
        String sid = connectedPollingSession();
        assertThat(post(sid, "42[\"message\",\"hello\"]").body()).isEqualTo("ok");
        assertThat(poll(sid, 1)).containsExactly("42[\"message-back\",\"hello\"]");
    }

    @Test
    @DisplayName("message, HTTP long-polling: sends and receives a payload containing several plain text packets")
    void pollingSeveralPackets() throws Exception {
        String sid = connectedPollingSession();
        assertThat(post(sid, "42[\"message\",\"test1\"]" + RS + "42[\"message\",\"test2\"]" + RS + "42[\"message\",\"test3\"]")
                .body()).isEqualTo("ok");
        assertThat(poll(sid, 3)).containsExactly("42[\"message-back\",\"test1\"]", "42[\"message-back\",\"test2\"]",
                "42[\"message-back\",\"test3\"]");
    }

    @Test
    @DisplayName("message, HTTP long-polling: sends and receives a payload containing plain text and binary packets")
    void pollingTextAndBinary() throws Exception {
        String sid = connectedPollingSession();
        assertThat(post(sid, "451-[\"message\",{\"_placeholder\":true,\"num\":0}]" + RS + "bAQIDBA==").body()).isEqualTo("ok");
        assertThat(poll(sid, 2)).containsExactly("451-[\"message-back\",{\"_placeholder\":true,\"num\":0}]", "bAQIDBA==");
    }

    @Test
    @DisplayName("message, HTTP long-polling: closes the session upon invalid packet format")
    void pollingInvalidPacket() throws Exception {
        String sid = pollingSession();
        HttpResponse<String> push = post(sid, "abc");
        // The body was read and answered before its packets are decoded, as in the reference server's
        // "ok" then close; what counts is that the session is gone.
        assertThat(push.statusCode()).isIn(200, 400);
        assertThat(get(pollingPath(sid)).statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("message, HTTP long-polling: closes the session upon duplicate poll requests")
    void pollingDuplicateGets() throws Exception {
        String sid = pollingSession();
        CompletableFuture<HttpResponse<String>> first = getAsync(pollingPath(sid));
        awaitParked();
        HttpResponse<String> second = get(pollingPath(sid) + "&t=burst");
        assertThat(second.statusCode()).isEqualTo(400);
        HttpResponse<String> firstAnswer = first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(firstAnswer.statusCode()).isEqualTo(200);
        assertThat(firstAnswer.body()).isEqualTo("1");
        assertThat(get(pollingPath(sid)).statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("message, WebSocket: sends and receives a plain text packet")
    void webSocketTextPacket() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("42[\"message\",\"hello\"]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",\"hello\"]");
    }

    @Test
    @DisplayName("message, WebSocket: closes the session upon invalid packet format")
    void webSocketInvalidPacket() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("abc");
        assertThat(ws.readClose().isClose()).isTrue();
    }

    // ================================================================ Engine.IO: heartbeat

    @Test
    @DisplayName("heartbeat, HTTP long-polling: sends ping/pong packets")
    void pollingPingPong() throws Exception {
        String sid = pollingSession();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> poll = get(pollingPath(sid));
            assertThat(poll.statusCode()).isEqualTo(200);
            assertThat(poll.body()).isEqualTo("2");
            assertThat(post(sid, "3").statusCode()).isEqualTo(200);
        }
    }

    @Test
    @DisplayName("heartbeat, HTTP long-polling: closes the session upon ping timeout")
    void pollingPingTimeout() throws Exception {
        String sid = pollingSession();
        long opened = System.nanoTime();
        // pingInterval + pingTimeout after the open packet arrived, as the suite waits; the session
        // must be gone whatever the timer's tick.
        sleepUntil(opened + ms(SocketIoReferenceServer.PING_INTERVAL.plus(SocketIoReferenceServer.PING_TIMEOUT)));
        assertThat(get(pollingPath(sid)).statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("heartbeat, HTTP long-polling: a session is not closed before its ping timeout")
    void pollingNotTimedOutEarly() throws Exception {
        long opened = System.nanoTime();
        String sid = pollingSession();
        HttpResponse<String> ping = get(pollingPath(sid));
        assertThat(ping.body()).isEqualTo("2");
        assertThat(System.nanoTime() - opened).as("the ping is not early")
                .isGreaterThanOrEqualTo(ms(SocketIoReferenceServer.PING_INTERVAL) - ms(Duration.ofMillis(5)));
        // The next poll waits for the next packet: the close, about pingTimeout after the ping.
        HttpResponse<String> next = get(pollingPath(sid));
        long closedAfter = System.nanoTime() - opened;
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).isEqualTo("1");
        assertThat(closedAfter).isGreaterThanOrEqualTo(ms(SocketIoReferenceServer.PING_INTERVAL
                .plus(SocketIoReferenceServer.PING_TIMEOUT)) - ms(Duration.ofMillis(5)));
        assertThat(get(pollingPath(sid)).statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("heartbeat, WebSocket: sends ping/pong packets")
    void webSocketPingPong() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        for (int i = 0; i < 3; i++) {
            assertThat(ws.readText()).isEqualTo("2");
            ws.sendText("3");
        }
    }

    @Test
    @DisplayName("heartbeat, WebSocket: closes the session upon ping timeout")
    void webSocketPingTimeout() throws Exception {
        RawWebSocket ws = webSocket("");
        long opened = System.nanoTime();
        ws.readText();
        assertThat(ws.readText()).isEqualTo("2");
        RawWebSocket.WireFrame close = ws.readClose();
        long closedAfter = System.nanoTime() - opened;
        assertThat(close.closeReason()).isEqualTo("ping timeout");
        assertThat(closedAfter).isGreaterThanOrEqualTo(ms(SocketIoReferenceServer.PING_INTERVAL
                .plus(SocketIoReferenceServer.PING_TIMEOUT)) - ms(Duration.ofMillis(5)));
    }

    // ================================================================ Engine.IO: close

    @Test
    @DisplayName("close, HTTP long-polling: forcefully closes the session")
    void pollingForcedClose() throws Exception {
        String sid = pollingSession();
        CompletableFuture<HttpResponse<String>> pending = getAsync(pollingPath(sid));
        awaitParked();
        assertThat(post(sid, "1").statusCode()).isEqualTo(200);
        HttpResponse<String> released = pending.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(released.statusCode()).isEqualTo(200);
        assertThat(released.body()).isEqualTo("6");
        assertThat(get(pollingPath(sid)).statusCode()).isEqualTo(400);
    }

    @Test
    @DisplayName("close, WebSocket: forcefully closes the session")
    void webSocketForcedClose() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("1");
        assertThat(ws.readClose().isClose()).isTrue();
    }

    // ================================================================ Engine.IO: upgrade

    @Test
    @DisplayName("upgrade: successfully upgrades from HTTP long-polling to WebSocket")
    void upgrade() throws Exception {
        String sid = connectedPollingSession();
        RawWebSocket ws = webSocket(sid);
        ws.sendText("2probe");
        assertThat(ws.readText()).isEqualTo("3probe");
        HttpResponse<String> released = get(pollingPath(sid));
        assertThat(released.statusCode()).isEqualTo(200);
        assertThat(released.body()).isEqualTo("6");
        ws.sendText("5");
        ws.sendText("42[\"message\",\"hello\"]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",\"hello\"]");
    }

    @Test
    @DisplayName("upgrade: ignores HTTP requests with same sid after upgrade")
    void pollingAfterUpgrade() throws Exception {
        String sid = connectedPollingSession();
        RawWebSocket ws = webSocket(sid);
        ws.sendText("2probe");
        ws.sendText("5");
        assertThat(get(pollingPath(sid)).statusCode()).isEqualTo(400);
        assertThat(post(sid, "42[\"message\",\"late\"]").statusCode()).isEqualTo(400);
        assertThat(ws.readText()).isEqualTo("3probe");
        ws.sendText("42[\"message\",\"hello\"]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",\"hello\"]");
    }

    @Test
    @DisplayName("upgrade: ignores WebSocket connection with same sid after upgrade")
    void secondWebSocketAfterUpgrade() throws Exception {
        String sid = connectedPollingSession();
        RawWebSocket ws = webSocket(sid);
        ws.sendText("2probe");
        ws.sendText("5");
        assertThat(ws.readText()).isEqualTo("3probe");
        RawWebSocket second = webSocket(sid); // accepted (101), then closed
        assertThat(second.readClose().isClose()).isTrue();
        ws.sendText("42[\"message\",\"hello\"]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",\"hello\"]");
    }

    @Test
    @DisplayName("upgrade: a second WebSocket while the first one probes is accepted and closed")
    void secondWebSocketDuringProbe() throws Exception {
        String sid = connectedPollingSession();
        RawWebSocket ws = webSocket(sid);
        ws.sendText("2probe");
        assertThat(ws.readText()).isEqualTo("3probe");
        RawWebSocket second = webSocket(sid);
        assertThat(second.readClose().isClose()).isTrue();
        ws.sendText("5");
        ws.sendText("42[\"message\",\"hello\"]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",\"hello\"]");
    }

    // ================================================================ Socket.IO: connect

    @Test
    @DisplayName("connect: allows connection to the main namespace")
    void connectMain() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("40");
        assertConnected(next(ws), "");
        assertThat(next(ws)).isEqualTo("42[\"auth\",{}]");
    }

    @Test
    @DisplayName("connect: allows connection to the main namespace with a payload")
    void connectMainWithPayload() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("40{\"token\":\"123\"}");
        assertConnected(next(ws), "");
        assertThat(next(ws)).isEqualTo("42[\"auth\",{\"token\":\"123\"}]");
    }

    @Test
    @DisplayName("connect: allows connection to a custom namespace")
    void connectCustom() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("40/custom,");
        assertConnected(next(ws), "/custom,");
        assertThat(next(ws)).isEqualTo("42/custom,[\"auth\",{}]");
    }

    @Test
    @DisplayName("connect: allows connection to a custom namespace with a payload")
    void connectCustomWithPayload() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("40/custom,{\"token\":\"abc\"}");
        assertConnected(next(ws), "/custom,");
        assertThat(next(ws)).isEqualTo("42/custom,[\"auth\",{\"token\":\"abc\"}]");
    }

    @Test
    @DisplayName("connect: disallows connection to an unknown namespace")
    void connectUnknownNamespace() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("40/random");
        assertThat(next(ws)).isEqualTo("44/random,{\"message\":\"Invalid namespace\"}");
    }

    @Test
    @DisplayName("connect: disallows connection with an invalid handshake")
    void connectInvalid() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        ws.sendText("4abc");
        assertThat(ws.readClose().isClose()).isTrue();
    }

    @Test
    @DisplayName("connect: closes the connection if no handshake is received")
    void noConnect() throws Exception {
        RawWebSocket ws = webSocket("");
        ws.readText();
        RawWebSocket.WireFrame close = readCloseAnsweringPings(ws);
        assertThat(close.isClose()).isTrue();
    }

    // ================================================================ Socket.IO: disconnect

    @Test
    @DisplayName("disconnect: disconnects from the main namespace")
    void disconnectMain() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("41");
        // The Engine.IO connection stays: the next packet is the heartbeat's.
        assertThat(ws.readText()).isEqualTo("2");
    }

    @Test
    @DisplayName("disconnect: connects then disconnects from a custom namespace")
    void connectThenDisconnectCustom() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("40/custom");
        assertConnected(next(ws), "/custom,");
        assertThat(next(ws)).isEqualTo("42/custom,[\"auth\",{}]");
        ws.sendText("41/custom");
        ws.sendText("42[\"message\",\"message to main namespace\"]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",\"message to main namespace\"]");
    }

    // ================================================================ Socket.IO: message

    @Test
    @DisplayName("message: sends a plain-text packet")
    void plainTextEvent() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("42[\"message\",1,\"2\",{\"3\":[true]}]");
        assertThat(next(ws)).isEqualTo("42[\"message-back\",1,\"2\",{\"3\":[true]}]");
    }

    @Test
    @DisplayName("message: sends a packet with binary attachments")
    void binaryEvent() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("452-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        ws.sendBinary(new byte[] {1, 2, 3});
        ws.sendBinary(new byte[] {4, 5, 6});
        assertThat(next(ws)).isEqualTo("452-[\"message-back\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        assertThat(nextBinary(ws)).containsExactly(1, 2, 3);
        assertThat(nextBinary(ws)).containsExactly(4, 5, 6);
    }

    @Test
    @DisplayName("message: sends a plain-text packet with an ack")
    void eventWithAck() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("42456[\"message-with-ack\",1,\"2\",{\"3\":[false]}]");
        assertThat(next(ws)).isEqualTo("43456[1,\"2\",{\"3\":[false]}]");
    }

    @Test
    @DisplayName("message: sends a packet with binary attachments and an ack")
    void binaryEventWithAck() throws Exception {
        RawWebSocket ws = connectedWebSocket();
        ws.sendText("452-789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        ws.sendBinary(new byte[] {1, 2, 3});
        ws.sendBinary(new byte[] {4, 5, 6});
        assertThat(next(ws)).isEqualTo("462-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
        assertThat(nextBinary(ws)).containsExactly(1, 2, 3);
        assertThat(nextBinary(ws)).containsExactly(4, 5, 6);
    }

    @Test
    @DisplayName("message: closes the connection upon invalid format (unknown packet type, invalid payload, invalid ack id)")
    void invalidPackets() throws Exception {
        for (String packet : new String[] {"4abc", "42{}", "42abc[\"message-with-ack\",1,\"2\",{\"3\":[false]}]"}) {
            RawWebSocket ws = connectedWebSocket();
            ws.sendText(packet);
            assertThat(ws.readClose().isClose()).as(packet).isTrue();
        }
    }

    // ================================================================ helpers

    private static void assertOpenPacket(JsonNode open, String upgrades) {
        assertThat(open.properties()).extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload");
        assertThat(open.path("sid").isTextual()).isTrue();
        assertThat(open.path("upgrades").toString()).isEqualTo(upgrades);
        assertThat(open.path("pingInterval").asLong()).isEqualTo(300);
        assertThat(open.path("pingTimeout").asLong()).isEqualTo(200);
        assertThat(open.path("maxPayload").asLong()).isEqualTo(1_000_000);
    }

    /** A CONNECT reply of {@code namespace} ("" or "/custom,") whose only key is the socket id. */
    private static void assertConnected(String packet, String namespace) throws IOException {
        assertThat(packet).startsWith("40" + namespace);
        JsonNode handshake = JSON.readTree(packet.substring(2 + namespace.length()));
        assertThat(handshake.properties()).extracting(Map.Entry::getKey).containsExactly("sid");
        assertThat(handshake.path("sid").isTextual()).isTrue();
    }

    private InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.port());
    }

    private static String pollingPath(String sid) {
        return "/socket.io/?EIO=4&transport=polling&sid=" + sid;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return getAsync(path).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private CompletableFuture<HttpResponse<String>> getAsync(String path) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(WAIT).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).timeout(WAIT)
                .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String sid, String body) throws Exception {
        return send("POST", pollingPath(sid), body);
    }

    /** A new long-polling session; its open packet read. */
    private String pollingSession() throws Exception {
        HttpResponse<String> open = get("/socket.io/?EIO=4&transport=polling");
        assertThat(open.statusCode()).isEqualTo(200);
        return JSON.readTree(open.body().substring(1)).path("sid").asText();
    }

    /** A long-polling session connected to the main namespace, its CONNECT reply and auth event read. */
    private String connectedPollingSession() throws Exception {
        String sid = pollingSession();
        assertThat(post(sid, "40").body()).isEqualTo("ok");
        List<String> packets = poll(sid, 2);
        assertConnected(packets.get(0), "");
        assertThat(packets.get(1)).isEqualTo("42[\"auth\",{}]");
        return sid;
    }

    /** Polls until {@code count} packets other than pings arrived (each ping answered). */
    private List<String> poll(String sid, int count) throws Exception {
        List<String> packets = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (packets.size() < count && System.nanoTime() < deadline) {
            HttpResponse<String> response = get(pollingPath(sid));
            assertThat(response.statusCode()).as("poll: %s", response.body()).isEqualTo(200);
            for (String packet : response.body().split(RS)) {
                if (packet.equals("2")) {
                    post(sid, "3");
                } else {
                    packets.add(packet);
                }
            }
        }
        return packets;
    }

    /**
     * Lets the pending GET reach the server before the next request, as the suite's concurrent
     * requests do. Nothing outside the server can see a GET parked, so this is a bounded wait
     * rather than an await: 50 ms on loopback, far more than a request needs.
     */
    private static void awaitParked() throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(50);
    }

    private RawWebSocket webSocket(String sid) throws IOException {
        String path = "/socket.io/?EIO=4&transport=websocket" + (sid.isEmpty() ? "" : "&sid=" + sid);
        RawWebSocket ws = RawWebSocket.connect(address(), path).timeout(WAIT);
        sockets.add(ws);
        return ws;
    }

    /** A WebSocket connected to the main namespace, its CONNECT reply and auth event read. */
    private RawWebSocket connectedWebSocket() throws IOException {
        RawWebSocket ws = webSocket("");
        assertThat(ws.readText()).startsWith("0{");
        ws.sendText("40");
        assertConnected(next(ws), "");
        assertThat(next(ws)).isEqualTo("42[\"auth\",{}]");
        return ws;
    }

    /** The next text packet other than a ping (each ping answered with a pong). */
    private static String next(RawWebSocket ws) throws IOException {
        for (;;) {
            String text = ws.readText();
            if (!text.equals("2")) {
                return text;
            }
            ws.sendText("3");
        }
    }

    /** The next binary message. */
    private static byte[] nextBinary(RawWebSocket ws) throws IOException {
        for (;;) {
            RawWebSocket.WireFrame frame = ws.readFrame();
            if (frame.opcode() == RawWebSocket.OP_BINARY) {
                return frame.payload();
            }
            if (frame.opcode() == RawWebSocket.OP_TEXT && frame.text().equals("2")) {
                ws.sendText("3");
            }
        }
    }

    private static RawWebSocket.WireFrame readCloseAnsweringPings(RawWebSocket ws) throws IOException {
        for (;;) {
            RawWebSocket.WireFrame frame = ws.readFrame();
            if (frame.isClose()) {
                return frame;
            }
            if (frame.opcode() == RawWebSocket.OP_TEXT && frame.text().equals("2")) {
                ws.sendText("3");
            }
        }
    }

    private static long ms(Duration d) {
        return d.toNanos();
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }
}
