package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The handler in front of the real hub, over real sockets: what is refused before the upgrade,
 * and what the engine and the transport do together with well-formed and malformed clients.
 */
class TetherHandlerIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int MAX_MESSAGE_BYTES = 1024;
    private static final String HELLO = "{\"t\":\"hello\",\"v\":1}";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> errors = new LinkedBlockingQueue<>();
    private Tether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder()
                .maxMessageBytes(MAX_MESSAGE_BYTES)
                .errorHandler((context, error) -> errors.add(context))
                .authenticator(Authenticator.sync(request -> {
                    String token = request.bearerToken().orElse("");
                    if (token.equals("boom")) {
                        throw new IllegalStateException("authenticator failure");
                    }
                    if (token.equals("banned")) {
                        return AuthResult.forbidden("Account suspended.");
                    }
                    if (!token.startsWith("user-")) {
                        return AuthResult.unauthorized("Missing or invalid token.");
                    }
                    String name = token.substring("user-".length());
                    return AuthResult.accept(() -> name);
                }))
                .build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        opened.add(session);
                    }
                });
        server = TetherServer.start(tether, TetherUndertowConfig.builder()
                .host("127.0.0.1").port(0)
                .allowedOrigins(Set.of("https://app.example.com"))
                .build());
    }

    @AfterEach
    void stop() {
        tether.close();
        server.close();
    }

    private URI uri(String query) {
        return URI.create("ws://127.0.0.1:" + server.port() + "/tether" + query);
    }

    private static Map<String, String> bearer(String token) {
        return Map.of("Authorization", "Bearer " + token);
    }

    /** Sends hello and returns the welcome frame. */
    private static JsonNode hello(RawWebSocket raw) throws Exception {
        raw.sendText(HELLO);
        JsonNode welcome = JSON.readTree(raw.readText());
        assertThat(welcome.path("t").asText()).isEqualTo("welcome");
        return welcome;
    }

    private static int handshakeStatus(CompletableFuture<WebSocket> attempt) throws Exception {
        Throwable failure = catchThrowable(() -> attempt.get(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        assertThat(failure).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(WebSocketHandshakeException.class);
        return ((WebSocketHandshakeException) failure.getCause()).getResponse().statusCode();
    }

    /** Collects the text messages of a JDK WebSocket. */
    private static final class Inbox implements WebSocket.Listener {
        final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                messages.add(partial.toString());
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        String next() throws InterruptedException {
            return messages.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void refusedAuthenticationIsAnswered401BeforeAnyUpgrade() throws Exception {
        int status = handshakeStatus(HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Authorization", "Bearer nonsense")
                .buildAsync(uri(""), new Inbox()));
        assertThat(status).isEqualTo(401);

        RawWebSocket.HttpHead refusal = RawWebSocket.upgradeResponse(server.address(), "/tether", Map.of());
        assertThat(refusal.status()).isEqualTo(401);
        assertThat(refusal.header("WWW-Authenticate")).isEqualTo("Bearer");
        assertThat(refusal.header("Upgrade")).isNull();
        assertThat(refusal.body()).isEqualTo("Missing or invalid token.");
        assertThat(tether.stats().connections()).isZero();
        assertThat(opened).isEmpty();
    }

    @Test
    void forbiddenPrincipalIsAnswered403WithoutChallenge() throws Exception {
        RawWebSocket.HttpHead refusal = RawWebSocket.upgradeResponse(server.address(), "/tether", bearer("banned"));
        assertThat(refusal.status()).isEqualTo(403);
        assertThat(refusal.header("WWW-Authenticate")).isNull();
        assertThat(refusal.body()).isEqualTo("Account suspended.");
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void authenticatorThatThrowsIsReportedAndAnswered401() throws Exception {
        RawWebSocket.HttpHead refusal = RawWebSocket.upgradeResponse(server.address(), "/tether", bearer("boom"));
        assertThat(refusal.status()).isEqualTo(401);
        assertThat(errors.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("authenticate");
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void foreignOriginIsAnswered403BeforeAuthentication() throws Exception {
        int status = handshakeStatus(HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Origin", "https://evil.example.net")
                .header("Authorization", "Bearer user-alice")
                .buildAsync(uri(""), new Inbox()));
        assertThat(status).isEqualTo(403);
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void allowedOriginUpgradesAndTheClientGetsWelcome() throws Exception {
        Inbox inbox = new Inbox();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Origin", "https://APP.example.com")
                .header("Authorization", "Bearer user-alice")
                .buildAsync(uri(""), inbox)
                .get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        ws.sendText(HELLO, true);
        JsonNode welcome = JSON.readTree(inbox.next());
        assertThat(welcome.path("t").asText()).isEqualTo("welcome");
        assertThat(welcome.path("maxMessageBytes").asInt()).isEqualTo(MAX_MESSAGE_BYTES);
        Session session = opened.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(session).isNotNull();
        assertThat(session.principal().getName()).isEqualTo("alice");
        assertThat(session.id()).isEqualTo(welcome.path("sid").asText());
        ws.abort();
    }

    @Test
    void requestWithoutOriginIsAllowedAndTheQueryTokenAuthenticates() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether?access_token=user-bob")) {
            hello(raw);
            Session session = opened.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(session).isNotNull();
            assertThat(session.principal().getName()).isEqualTo("bob");
        }
    }

    @Test
    void plainGetIsAnswered400() throws Exception {
        RawWebSocket.HttpHead response = RawWebSocket.exchange(server.address(),
                "GET /tether HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.body()).contains("WebSocket");
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void unsupportedWebSocketVersionIsAnswered426NamingVersion13() throws Exception {
        RawWebSocket.HttpHead response = RawWebSocket.exchange(server.address(), "GET /tether HTTP/1.1\r\n"
                + "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
        assertThat(response.status()).isEqualTo(426);
        assertThat(response.header("Sec-WebSocket-Version")).isEqualTo("13");
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void upgradeWithoutAKeyIsAnswered400() throws Exception {
        RawWebSocket.HttpHead response = RawWebSocket.exchange(server.address(), "GET /tether HTTP/1.1\r\n"
                + "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n");
        assertThat(response.status()).isEqualTo(400);
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void garbageClosesOnlyThatConnectionWith4500() throws Exception {
        try (RawWebSocket healthy = RawWebSocket.connect(server.address(), "/tether", bearer("user-alice"));
             RawWebSocket broken = RawWebSocket.connect(server.address(), "/tether", bearer("user-mallory"))) {
            String sid = hello(healthy).path("sid").asText();
            hello(broken);

            broken.sendText("not json");
            assertThat(broken.readCloseCode()).isEqualTo(4500);

            Session session = tether.session(sid).orElseThrow();
            assertThat(session.send("news", Payload.text("still here"))).isEqualTo(SendResult.ENQUEUED);
            JsonNode msg = JSON.readTree(healthy.readText());
            assertThat(msg.path("t").asText()).isEqualTo("msg");
            assertThat(msg.path("e").asText()).isEqualTo("news");
            assertThat(msg.path("d").asText()).isEqualTo("still here");
            assertThat(msg.path("seq").asLong()).isEqualTo(1);
            assertThat(session.isConnected()).isTrue();
        }
    }

    @Test
    void oversizedMessageClosesWith1009() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether", bearer("user-alice"))) {
            hello(raw);
            String big = "{\"t\":\"msg\",\"e\":\"x\",\"d\":\"" + "a".repeat(MAX_MESSAGE_BYTES) + "\"}";
            raw.sendText(big);
            assertThat(raw.readCloseCode()).isEqualTo(1009);
        }
    }

    @Test
    void oversizedMessageInManySmallFragmentsClosesWith1009() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether", bearer("user-alice"))) {
            hello(raw);
            byte[] big = ("{\"t\":\"msg\",\"e\":\"x\",\"d\":\"" + "a".repeat(4 * MAX_MESSAGE_BYTES) + "\"}")
                    .getBytes(StandardCharsets.UTF_8);
            raw.sendFragmented(RawWebSocket.OP_TEXT, big, 16);
            assertThat(raw.readCloseCode()).isEqualTo(1009);
        }
    }

    @Test
    void helloInFragmentsWithinTheLimitIsAccepted() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether", bearer("user-alice"))) {
            raw.sendFragmented(RawWebSocket.OP_TEXT, HELLO.getBytes(StandardCharsets.UTF_8), 3);
            JsonNode welcome = JSON.readTree(raw.readText());
            assertThat(welcome.path("t").asText()).isEqualTo("welcome");
        }
    }

    @Test
    void messagesSentThroughTheHubArriveInOrder() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether", bearer("user-alice"))) {
            String sid = hello(raw).path("sid").asText();
            Session session = tether.session(sid).orElseThrow();
            for (int i = 1; i <= 50; i++) {
                session.send("n", Payload.text(Integer.toString(i)));
            }
            for (int i = 1; i <= 50; i++) {
                JsonNode msg = JSON.readTree(raw.readText());
                assertThat(msg.path("seq").asLong()).isEqualTo(i);
                assertThat(msg.path("d").asText()).isEqualTo(Integer.toString(i));
            }
        }
    }
}
