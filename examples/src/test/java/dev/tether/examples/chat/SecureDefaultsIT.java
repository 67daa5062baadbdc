package dev.tether.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.examples.socketio.SocketIoSeedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The examples as a new user runs them, with nothing configured, are safe (issue 13, acceptance
 * point 1): a cross-site upgrade is refused, same-origin and non-browser clients connect, a client
 * can neither subscribe nor publish on a topic, and the Socket.IO example sends no CORS headers to
 * a foreign origin. Raw WebSockets from the JDK's client, so that every frame is as written here.
 */
class SecureDefaultsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
    private ChatServer server;

    @BeforeEach
    void start() {
        server = ChatServer.start(Map.of("HOST", "127.0.0.1", "PORT", "0"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void upgradeFromAForeignOriginIsRefusedWith403() {
        Throwable refused = catchUpgrade(connect("https://evil.example"));
        assertThat(refused).isInstanceOf(WebSocketHandshakeException.class);
        assertThat(((WebSocketHandshakeException) refused).getResponse().statusCode()).isEqualTo(403);
    }

    @Test
    void sameOriginAndNoOriginUpgradesAreAccepted() throws Exception {
        for (String origin : new String[] {"http://127.0.0.1:" + server.port(), null}) {
            Client client = new Client(origin);
            client.send("{\"t\":\"hello\",\"v\":1}");
            assertThat(client.next("welcome").path("resumed").asBoolean()).as("origin " + origin).isFalse();
            client.close();
        }
    }

    @Test
    void aClientCanNeitherSubscribeNorPublishAndNothingReachesOthers() throws Exception {
        Client mallory = new Client(null);
        Client bob = new Client(null);
        for (Client c : new Client[] {mallory, bob}) {
            c.send("{\"t\":\"hello\",\"v\":1}");
            c.next("welcome");
        }
        mallory.send("{\"t\":\"sub\",\"id\":1,\"topic\":\"admin\"}");
        JsonNode subRefused = mallory.next("error");
        assertThat(subRefused.path("id").asInt()).isEqualTo(1);
        assertThat(subRefused.path("code").asText()).isEqualTo("forbidden");

        mallory.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"chat\",\"d\":\"forged\",\"topic\":\"chat\"}");
        JsonNode publishRefused = mallory.next("error");
        assertThat(publishRefused.path("seq").asInt()).isEqualTo(1);
        assertThat(publishRefused.path("code").asText()).isEqualTo("forbidden");

        // The application's own broadcast, caused by the next message of the same session, is
        // the first chat message bob sees: the forged one, processed before it, went nowhere.
        mallory.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"message\",\"d\":\"hello\"}");
        JsonNode first = bob.next("msg");
        assertThat(first.path("e").asText()).isEqualTo("chat");
        assertThat(first.path("d").asText()).isEqualTo("hello");
        mallory.close();
        bob.close();
    }

    @Test
    void socketIoExampleSendsNoCorsHeadersToAForeignOrigin() throws Exception {
        try (SocketIoSeedServer io = SocketIoSeedServer.start("127.0.0.1", 0)) {
            URI handshake = URI.create("http://127.0.0.1:" + io.port() + "/socket.io/?EIO=4&transport=polling");
            HttpResponse<String> foreign = http.send(HttpRequest.newBuilder(handshake).timeout(WAIT)
                    .header("Origin", "https://evil.example").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(foreign.statusCode()).isEqualTo(403);
            assertThat(foreign.headers().map().keySet()).noneMatch(h -> h.toLowerCase().startsWith("access-control-"));

            HttpResponse<String> plain = http.send(HttpRequest.newBuilder(handshake).timeout(WAIT).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(plain.body()).startsWith("0{\"sid\":");
            assertThat(plain.headers().map().keySet()).noneMatch(h -> h.toLowerCase().startsWith("access-control-"));
        }
    }

    private CompletionStage<WebSocket> connect(String origin) {
        return connect(origin, new Inbox());
    }

    private CompletionStage<WebSocket> connect(String origin, WebSocket.Listener listener) {
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(WAIT);
        if (origin != null) {
            b.header("Origin", origin);
        }
        return b.buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/tether"), listener);
    }

    private static Throwable catchUpgrade(CompletionStage<WebSocket> upgrade) {
        try {
            upgrade.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS).abort();
            return null;
        } catch (java.util.concurrent.ExecutionException | CompletionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
    }

    /** A raw native-protocol client: text frames in, JSON objects out. */
    private final class Client {
        private final Inbox inbox = new Inbox();
        private final WebSocket socket;

        Client(String origin) throws Exception {
            this.socket = connect(origin, inbox).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }

        void send(String frame) {
            socket.sendText(frame, true).join();
        }

        /** The next frame of type {@code t}, skipping pings and others. */
        JsonNode next(String t) throws Exception {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                String text = inbox.frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                assertThat(text).as("a '" + t + "' frame within " + WAIT).isNotNull();
                JsonNode frame = JSON.readTree(text);
                if (frame.path("t").asText().equals(t)) {
                    return frame;
                }
            }
        }

        void close() {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
        }
    }

    /** Collects whole text messages. */
    private static final class Inbox implements WebSocket.Listener {
        final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                frames.add(partial.toString());
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }
    }
}
