package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.MetricsListener;
import dev.tether.socketio.SocketIo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which {@code Origin} may open a connection, on real servers: the native upgrade and every
 * Socket.IO request, with the default same-origin policy, an allow-list and allow-any, and the
 * CORS headers of Socket.IO polling. Requests are written by hand where the {@code Host} header
 * matters (the JDK client does not let a caller set it).
 */
class OriginPolicyIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private final AtomicInteger refusedHandshakes = new AtomicInteger();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
    private Tether tether;
    private TetherServer server;

    @AfterEach
    void stop() throws Exception {
        while (!started.isEmpty()) {
            started.pop().close();
        }
    }

    private TetherConfig.Builder hub() {
        return TetherConfig.builder().drainTimeout(Duration.ZERO).metrics(new MetricsListener() {
            @Override
            public void refused(String what) {
                if (what.equals("handshake")) {
                    refusedHandshakes.incrementAndGet();
                }
            }
        });
    }

    /** A native server at {@code /tether}. */
    private void startNative(TetherConfig.Builder hub, TetherUndertowConfig.Builder config) {
        tether = Tether.create(hub.build(), new SessionHandler() { });
        started.push(tether);
        server = TetherServer.start(tether, config.host("127.0.0.1").port(0).build());
        started.push(server);
    }

    /** A Socket.IO server at {@code /socket.io/}. */
    private void startSocketIo(TetherUndertowConfig.Builder config) {
        tether = Tether.create(hub().build(), new SessionHandler() { });
        started.push(tether);
        server = TetherServer.start(SocketIo.create(tether), config.host("127.0.0.1").port(0).build());
        started.push(server);
    }

    private String self() {
        return "127.0.0.1:" + server.port();
    }

    /** The answer to a native upgrade request with this {@code Host} and {@code Origin} (null: none). */
    private RawWebSocket.HttpHead upgrade(String path, String host, String origin) throws Exception {
        return RawWebSocket.exchange(server.address(), "GET " + path + " HTTP/1.1\r\n"
                + "Host: " + host + "\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + (origin == null ? "" : "Origin: " + origin + "\r\n")
                + "\r\n");
    }

    private int upgradeStatus(String host, String origin) throws Exception {
        return upgrade("/tether", host, origin).status();
    }

    private int upgradeStatus(String origin) throws Exception {
        return upgradeStatus(self(), origin);
    }

    private HttpResponse<String> polling(String method, String origin) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + self() + "/socket.io/?EIO=4&transport=polling"))
                .timeout(WAIT).method(method, HttpRequest.BodyPublishers.noBody());
        if (origin != null) {
            b.header("Origin", origin);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static void assertNoCors(HttpResponse<String> response) {
        assertThat(response.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        assertThat(response.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
    }

    // ------------------------------------------------------------ default: same origin only

    @Test
    void byDefaultAForeignOriginIsRefused403BeforeTheUpgradeAndCounted() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder());
        RawWebSocket.HttpHead refusal = upgrade("/tether", self(), "https://evil.example");
        assertThat(refusal.status()).isEqualTo(403);
        assertThat(refusal.body()).isEqualTo("Origin not allowed.");
        assertThat(refusal.header("Upgrade")).isNull();
        assertThat(refusedHandshakes).hasValue(1);
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void byDefaultTheSameOriginAndRequestsWithoutOriginUpgrade() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder());
        assertThat(upgradeStatus("http://" + self())).isEqualTo(101);
        assertThat(upgradeStatus(null)).isEqualTo(101);
        assertThat(refusedHandshakes).hasValue(0);
    }

    @Test
    void theOpaqueNullOriginAndMalformedOnesAreRefused() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder());
        assertThat(upgradeStatus("null")).isEqualTo(403);
        assertThat(upgradeStatus("http://" + self() + "/")).isEqualTo(403);
        assertThat(upgradeStatus("http://user@" + self())).isEqualTo(403);
        assertThat(upgradeStatus("127.0.0.1")).isEqualTo(403);
        assertThat(refusedHandshakes).hasValue(4);
    }

    @Test
    void sameOriginComparesHostCaseInsensitivelyAndPortWithDefaultsButNotTheScheme() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder());
        assertThat(upgradeStatus("App.Example.com:8443", "https://app.example.COM:8443")).isEqualTo(101);
        // A TLS-terminating proxy: the request is http, the page https, the Host without port.
        assertThat(upgradeStatus("app.example.com", "https://app.example.com")).isEqualTo(101);
        assertThat(upgradeStatus("app.example.com", "http://app.example.com")).isEqualTo(101);
        assertThat(upgradeStatus("app.example.com:443", "https://app.example.com")).isEqualTo(101);
        assertThat(upgradeStatus("[::1]:8080", "http://[::1]:8080")).isEqualTo(101);

        assertThat(upgradeStatus("app.example.com", "http://app.example.com:8080")).isEqualTo(403);
        assertThat(upgradeStatus("app.example.com:8080", "http://app.example.com")).isEqualTo(403);
        assertThat(upgradeStatus("app.example.com", "https://other.example.com")).isEqualTo(403);
        assertThat(upgradeStatus("[::1]:8080", "http://[::2]:8080")).isEqualTo(403);
        assertThat(upgradeStatus("app.example.com", "ftp://app.example.com")).isEqualTo(403);
    }

    @Test
    void forwardedHostHeadersAreNotTrusted() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder());
        RawWebSocket.HttpHead refusal = RawWebSocket.exchange(server.address(), "GET /tether HTTP/1.1\r\n"
                + "Host: " + self() + "\r\nX-Forwarded-Host: evil.example\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Origin: https://evil.example\r\n\r\n");
        assertThat(refusal.status()).isEqualTo(403);
    }

    @Test
    void refusedOriginsDoNotUseUpTheHandshakeRate() throws Exception {
        startNative(hub().maxHandshakesPerSecond(1), TetherUndertowConfig.builder());
        for (int i = 0; i < 5; i++) {
            assertThat(upgradeStatus("https://evil.example")).as("refusal %d", i).isEqualTo(403);
        }
        assertThat(upgradeStatus(null)).isEqualTo(101);
        assertThat(tether.stats().refused()).as("no admission was refused").isZero();
    }

    @Test
    void aRefusalIsLoggedAtDebugWithItsReason() throws Exception {
        Logger logger = Logger.getLogger("dev.tether.undertow");
        BlockingQueue<LogRecord> records = new LinkedBlockingQueue<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Level level = logger.getLevel();
        boolean parents = logger.getUseParentHandlers();
        logger.setLevel(Level.FINE);
        logger.setUseParentHandlers(false);
        logger.addHandler(capture);
        try {
            startNative(hub(), TetherUndertowConfig.builder());
            assertThat(upgradeStatus("https://evil.example")).isEqualTo(403);
            LogRecord record = records.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(record).isNotNull();
            assertThat(record.getLevel()).isEqualTo(Level.FINE);
            assertThat(new SimpleFormatter().formatMessage(record))
                    .contains("Origin https://evil.example refused for Host " + self())
                    .contains("same-origin policy")
                    .contains("allowedOrigins");
        } finally {
            logger.removeHandler(capture);
            logger.setUseParentHandlers(parents);
            logger.setLevel(level);
        }
    }

    // ------------------------------------------------------------ allow-list and allow-any

    @Test
    void allowListAcceptsExactOriginsAndWildcardSubdomainsWithTheirSchemeAndPort() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder().allowedOrigins(Set.of(
                "https://app.example.com", "https://*.example.net", "http://localhost:8080")));
        assertThat(upgradeStatus("https://app.example.com")).isEqualTo(101);
        assertThat(upgradeStatus("https://APP.example.com:443")).isEqualTo(101);
        assertThat(upgradeStatus("https://a.example.net")).isEqualTo(101);
        assertThat(upgradeStatus("https://a.b.example.net")).isEqualTo(101);
        assertThat(upgradeStatus("http://localhost:8080")).isEqualTo(101);
        assertThat(upgradeStatus("http://" + self())).as("the same origin stays allowed").isEqualTo(101);

        assertThat(upgradeStatus("http://app.example.com")).as("scheme").isEqualTo(403);
        assertThat(upgradeStatus("https://app.example.com:8443")).as("port").isEqualTo(403);
        assertThat(upgradeStatus("https://example.net")).as("the bare domain").isEqualTo(403);
        assertThat(upgradeStatus("https://evil-example.net")).isEqualTo(403);
        assertThat(upgradeStatus("https://a.example.net.evil.com")).isEqualTo(403);
        assertThat(upgradeStatus("http://a.example.net")).as("wildcard scheme").isEqualTo(403);
        assertThat(upgradeStatus("http://localhost")).as("default port").isEqualTo(403);
        assertThat(upgradeStatus("null")).isEqualTo(403);
        assertThat(refusedHandshakes).hasValue(8);
    }

    @Test
    void allowAnyOriginAcceptsEveryOrigin() throws Exception {
        startNative(hub(), TetherUndertowConfig.builder().allowAnyOrigin(true));
        assertThat(upgradeStatus("https://evil.example")).isEqualTo(101);
        assertThat(upgradeStatus("null")).isEqualTo(101);
        assertThat(upgradeStatus(null)).isEqualTo(101);
        assertThat(refusedHandshakes).hasValue(0);
    }

    // ------------------------------------------------------------ Socket.IO and CORS

    @Test
    void socketIoPollingFromAForeignOriginIsRefusedWithoutCorsHeaders() throws Exception {
        startSocketIo(TetherUndertowConfig.builder().allowedOrigins(Set.of("https://app.example.com")));
        HttpResponse<String> refused = polling("GET", "https://evil.example");
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).isEqualTo("Origin not allowed.");
        assertNoCors(refused);
        HttpResponse<String> preflight = polling("OPTIONS", "https://evil.example");
        assertThat(preflight.statusCode()).isEqualTo(403);
        assertNoCors(preflight);
        assertThat(upgrade("/socket.io/?EIO=4&transport=websocket", self(), "https://evil.example").status())
                .isEqualTo(403);
        assertThat(refusedHandshakes).hasValue(3);
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void socketIoPollingFromAnAllowedCrossOriginGetsCorsWithCredentials() throws Exception {
        startSocketIo(TetherUndertowConfig.builder().allowedOrigins(Set.of("https://*.example.com")));
        HttpResponse<String> open = polling("GET", "https://app.example.com");
        assertThat(open.statusCode()).isEqualTo(200);
        assertThat(open.body()).startsWith("0{\"sid\":");
        assertThat(open.headers().firstValue("Access-Control-Allow-Origin")).contains("https://app.example.com");
        assertThat(open.headers().firstValue("Access-Control-Allow-Credentials")).contains("true");
        assertThat(open.headers().allValues("Vary")).contains("Origin");

        HttpResponse<String> preflight = polling("OPTIONS", "https://app.example.com");
        assertThat(preflight.statusCode()).isEqualTo(204);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).contains("https://app.example.com");
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Credentials")).contains("true");
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods")).contains("GET, POST");
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Headers")).contains("content-type");
    }

    @Test
    void socketIoPollingFromTheSameOriginOrWithoutOriginGetsNoCorsHeaders() throws Exception {
        startSocketIo(TetherUndertowConfig.builder());
        HttpResponse<String> same = polling("GET", "http://" + self());
        assertThat(same.statusCode()).isEqualTo(200);
        assertThat(same.body()).startsWith("0{\"sid\":");
        assertNoCors(same);
        HttpResponse<String> none = polling("GET", null);
        assertThat(none.statusCode()).isEqualTo(200);
        assertNoCors(none);
        assertThat(polling("GET", "https://evil.example").statusCode()).isEqualTo(403);
    }

    @Test
    void socketIoWithAllowAnyReflectsWellFormedOriginsOnly() throws Exception {
        startSocketIo(TetherUndertowConfig.builder().allowAnyOrigin(true));
        HttpResponse<String> foreign = polling("GET", "https://evil.example");
        assertThat(foreign.statusCode()).isEqualTo(200);
        assertThat(foreign.headers().firstValue("Access-Control-Allow-Origin")).contains("https://evil.example");
        assertThat(foreign.headers().firstValue("Access-Control-Allow-Credentials")).contains("true");
        HttpResponse<String> opaque = polling("GET", "null");
        assertThat(opaque.statusCode()).isEqualTo(200);
        assertNoCors(opaque);
    }
}
