package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The health endpoint on a real server: 200 and the hub's counts while it runs, 503 from the
 * moment its drain starts (while a connected client still keeps the drain busy), and its place
 * among the standalone server's routes.
 */
class HealthHandlerIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
    private Tether tether;
    private TetherServer server;

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private void start(TetherUndertowConfig.Builder config) {
        tether = Tether.create(TetherConfig.builder().drainTimeout(Duration.ofSeconds(30))
                .drainReconnectWindow(Duration.ofMillis(100), Duration.ofMillis(200)).build(), new SessionHandler() { });
        server = TetherServer.start(tether, config.host("127.0.0.1").port(0).build());
    }

    private HttpResponse<String> request(String method, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(WAIT).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthIsUpWhileTheHubRunsAndDownAsSoonAsItsDrainStarts() throws Exception {
        start(TetherUndertowConfig.builder().healthPath("/health"));
        try (RawWebSocket client = RawWebSocket.connect(new InetSocketAddress("127.0.0.1", server.port()), "/tether")) {
            client.sendText("{\"t\":\"hello\",\"v\":1}");
            String sid = JSON.readTree(client.readText()).path("sid").asText();

            HttpResponse<String> up = request("GET", "/health");
            assertThat(up.statusCode()).isEqualTo(200);
            assertThat(up.headers().firstValue("Content-Type")).hasValue("application/json");
            assertThat(up.headers().firstValue("Cache-Control")).hasValue("no-store");
            JsonNode body = JSON.readTree(up.body());
            assertThat(body.path("status").asText()).isEqualTo("UP");
            assertThat(body.path("state").asText()).isEqualTo("RUNNING");
            assertThat(body.path("connections").isIntegralNumber()).isTrue();
            assertThat(body.path("connections").asLong()).isEqualTo(1);
            assertThat(body.path("sessions").asLong()).isEqualTo(1);
            assertThat(body.size()).as("exactly the documented fields: %s", up.body()).isEqualTo(4);

            // A message the client never acknowledges keeps the drain busy.
            tether.session(sid).orElseThrow().send("news", Payload.text("x"));
            JsonNode unacknowledged = JSON.readTree(client.readText());
            assertThat(unacknowledged.path("t").asText()).isEqualTo("msg");
            CompletableFuture<Void> closing = CompletableFuture.runAsync(tether::close);
            assertThat(JSON.readTree(client.readText()).path("t").asText()).isEqualTo("reconnect");

            HttpResponse<String> draining = request("GET", "/health");
            assertThat(draining.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(draining.body()).path("status").asText()).isEqualTo("DOWN");
            assertThat(JSON.readTree(draining.body()).path("state").asText()).isEqualTo("DRAINING");
            assertThat(closing).as("the drain still waits for the client").isNotDone();

            client.sendText("{\"t\":\"ack\",\"seq\":" + unacknowledged.path("seq").asLong() + "}");
            closing.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(client.readCloseCode()).isEqualTo(CloseCodes.SERVER_RESTART);
        }
        HttpResponse<String> closed = request("GET", "/health");
        assertThat(closed.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(closed.body()).path("state").asText()).isEqualTo("CLOSED");
        assertThat(JSON.readTree(closed.body()).path("status").asText()).isEqualTo("DOWN");
    }

    @Test
    void headGetsTheStatusWithoutABodyAndOtherMethods405() throws Exception {
        start(TetherUndertowConfig.builder().healthPath("/health"));
        HttpResponse<String> head = request("HEAD", "/health");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        HttpResponse<String> post = request("POST", "/health");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    }

    @Test
    void withoutAHealthPathThereIsNoHealthEndpoint() throws Exception {
        start(TetherUndertowConfig.builder());
        assertThat(TetherUndertowConfig.defaults().healthPath()).isNull();
        assertThat(request("GET", "/health").statusCode()).isEqualTo(404);
    }

    @Test
    void routesServeTheirExactPathNextToTetherAndHealth() throws Exception {
        start(TetherUndertowConfig.builder().healthPath("/healthz")
                .route("/hello", exchange -> exchange.getResponseSender().send("hello"))
                .route("/bye", exchange -> exchange.getResponseSender().send("bye")));
        assertThat(request("GET", "/hello").body()).isEqualTo("hello");
        assertThat(request("GET", "/bye").body()).isEqualTo("bye");
        assertThat(request("GET", "/hello?x=1").body()).as("the query is not part of the path").isEqualTo("hello");
        assertThat(request("GET", "/hello/more").statusCode()).as("exact paths only").isEqualTo(404);
        assertThat(request("GET", "/healthz").statusCode()).isEqualTo(200);
        assertThat(request("GET", "/tether").statusCode()).as("the Tether path still answers").isNotEqualTo(404);
    }
}
