package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.MetricsListener;
import dev.tether.testing.LogCapture;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The standalone server: binding, routing and stopping. */
class TetherServerIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final BlockingQueue<Integer> closedCodes = new LinkedBlockingQueue<>();
    private Tether tether;

    @BeforeEach
    void createHub() {
        tether = Tether.create(TetherConfig.builder()
                .metrics(new MetricsListener() {
                    @Override
                    public void connectionClosed(int closeCode) {
                        closedCodes.add(closeCode);
                    }
                })
                .build(), new SessionHandler() { });
    }

    @AfterEach
    void closeHub() {
        tether.close();
    }

    private static TetherServer startOnLoopback(Tether tether) {
        return TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    private static InetSocketAddress loopback(int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }

    @Test
    void reportsTheEphemeralPortItBoundAndAcceptsConnectionsThere() throws Exception {
        try (TetherServer server = startOnLoopback(tether)) {
            assertThat(server.port()).isPositive();
            assertThat(server.address().getPort()).isEqualTo(server.port());
            assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
            try (RawWebSocket raw = RawWebSocket.connect(loopback(server.port()), "/tether")) {
                raw.sendText("{\"t\":\"hello\",\"v\":1}");
                assertThat(raw.readText()).contains("\"welcome\"");
            }
        }
    }

    @Test
    void convenienceStartListensOnTheGivenPort() throws Exception {
        int port;
        try (TetherServer probe = startOnLoopback(tether)) {
            port = probe.port(); // a port that was free a moment ago
        }
        try (TetherServer server = TetherServer.start(tether, port)) {
            assertThat(server.port()).isEqualTo(port);
            try (RawWebSocket raw = RawWebSocket.connect(loopback(port), "/tether")) {
                assertThat(raw.handshakeResponse().status()).isEqualTo(101);
            }
        }
    }

    @Test
    void otherPathsAreAnswered404() throws Exception {
        try (TetherServer server = startOnLoopback(tether)) {
            assertThat(RawWebSocket.upgradeResponse(loopback(server.port()), "/other", Map.of()).status()).isEqualTo(404);
            assertThat(RawWebSocket.upgradeResponse(loopback(server.port()), "/tether/x", Map.of()).status()).isEqualTo(404);
        }
    }

    @Test
    void routesAreAnsweredOnTheSameListenerByExactPath() throws Exception {
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .route("/metrics", exchange -> exchange.getResponseSender().send("metrics here")).build());
        try (server) {
            HttpClient http = HttpClient.newHttpClient();
            java.net.http.HttpResponse<String> metrics = http.send(java.net.http.HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).isEqualTo("metrics here");
            assertThat(RawWebSocket.upgradeResponse(loopback(server.port()), "/metrics/x", Map.of()).status()).isEqualTo(404);
            try (RawWebSocket raw = RawWebSocket.connect(loopback(server.port()), "/tether")) {
                assertThat(raw.handshakeResponse().status()).isEqualTo(101);
            }
        }
    }

    @Test
    void closeSendsOpenConnectionsGoingAwayWaitsForTheirAnswerAndStopsListening() throws Exception {
        // A close timeout far beyond WAIT: close() returning within WAIT proves it waited for the
        // client's answer, not for the timeout.
        Duration closeTimeout = Duration.ofSeconds(60);
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .closeTimeout(closeTimeout).build());
        int port = server.port();
        try (RawWebSocket raw = RawWebSocket.connect(loopback(port), "/tether")) {
            raw.sendText("{\"t\":\"hello\",\"v\":1}");
            assertThat(raw.readText()).contains("\"welcome\"");

            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
            RawWebSocket.WireFrame close = raw.readClose();
            assertThat(close.closeCode()).isEqualTo(1001);
            assertThat(close.closeReason()).isEqualTo("server shutting down");
            assertThat(closedCodes.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).as("the hub's view").isEqualTo(1001);
            raw.sendClose(1001, "");
            closing.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(raw.awaitEndOfStream()).isTrue();
        }
        server.close(); // idempotent
        assertThatThrownBy(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(loopback(port), (int) WAIT.toMillis());
            }
        }).isInstanceOf(ConnectException.class);
    }

    @Test
    void closeWaitsForAClientThatDoesNotAnswerOnlyUntilTheCloseTimeout() throws Exception {
        Duration closeTimeout = Duration.ofMillis(300);
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .closeTimeout(closeTimeout).build());
        try (RawWebSocket raw = RawWebSocket.connect(loopback(server.port()), "/tether")) {
            raw.sendText("{\"t\":\"hello\",\"v\":1}");
            raw.readText();

            long startNs = System.nanoTime();
            server.close(); // the client reads nothing and never answers
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);

            assertThat(tookMs).isGreaterThanOrEqualTo(closeTimeout.toMillis()).isLessThan(WAIT.toMillis());
            assertThat(raw.readCloseCode()).isEqualTo(1001);
            assertThat(raw.awaitEndOfStream()).isTrue();
            assertThat(closedCodes.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(1001);
        }
    }

    /**
     * XNIO hands each accepted socket to an I/O thread as a queued task, and queues one task more
     * than it needs when several arrive together. Stopping while clients arrive, XNIO's own accept
     * step logged at ERROR with a stack trace either a task that found the listener closed or one
     * refused by an ending I/O thread. Nothing of XNIO's may be logged at WARNING or above.
     */
    @Test
    void closeWhileClientsArriveLogsNoAcceptFailure() throws Exception {
        try (LogCapture xnio = LogCapture.start("org.xnio", Level.WARNING)) {
            for (int round = 0; round < 30; round++) {
                TetherServer server = startOnLoopback(tether);
                List<Socket> clients = new ArrayList<>();
                try {
                    for (int i = 0; i < 40; i++) {
                        Socket socket = new Socket();
                        clients.add(socket);
                        socket.connect(loopback(server.port()), (int) WAIT.toMillis());
                    }
                    server.close();
                } finally {
                    for (Socket socket : clients) {
                        socket.close();
                    }
                }
            }
            assertThat(xnio.records()).as(xnio.describe()).isEmpty();
        }
    }

    /**
     * The JDK client (up to JDK 17 at least) loses an end of stream that arrives while the
     * application has not requested the next message: it never calls onClose or onError. A server
     * that only dropped its sockets left such a client blind until its heartbeat gave up; the
     * close frame waits in its buffer until it reads again.
     */
    @Test
    void aJdkClientNotReadingWhenTheServerStopsLearnsOfItWhenItReadsAgain() throws Exception {
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .closeTimeout(Duration.ofMillis(300)).build());
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        WebSocket.Listener listener = new WebSocket.Listener() {
            @Override
            public void onOpen(WebSocket webSocket) {
                webSocket.request(1);
            }

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                events.add("text:" + data);
                return null; // and no request(1): the client holds reading back
            }

            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                events.add("close:" + statusCode);
                return null;
            }

            @Override
            public void onError(WebSocket webSocket, Throwable error) {
                events.add("error:" + error);
            }
        };
        WebSocket client = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + server.port() + "/tether"), listener)
                .get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        client.sendText("{\"t\":\"hello\",\"v\":1}", true).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).startsWith("text:").contains("\"welcome\"");

        server.close(); // the client has not asked for another message

        client.request(1);
        assertThat(events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("close:1001");
    }

    @Test
    void closingTheHubFirstTellsClientsToReconnect() throws IOException, InterruptedException {
        try (TetherServer server = startOnLoopback(tether);
             RawWebSocket raw = RawWebSocket.connect(loopback(server.port()), "/tether")) {
            raw.sendText("{\"t\":\"hello\",\"v\":1}");
            raw.readText();
            tether.close();
            assertThat(raw.readCloseCode()).isEqualTo(4012);
            assertThat(closedCodes.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(4012);
        }
    }

    @Test
    void clientThatNeverFinishesItsRequestIsDisconnectedAfterTheParseTimeout() throws Exception {
        TetherUndertowConfig config = TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .requestParseTimeout(Duration.ofMillis(500)).build();
        try (TetherServer server = TetherServer.start(tether, config)) {
            try (Socket silent = new Socket()) {
                silent.connect(loopback(server.port()), (int) WAIT.toMillis());
                silent.setSoTimeout((int) WAIT.toMillis());
                assertThat(silent.getInputStream().read()).as("end of stream").isEqualTo(-1);
            }
            try (Socket slow = new Socket()) {
                slow.connect(loopback(server.port()), (int) WAIT.toMillis());
                slow.setSoTimeout((int) WAIT.toMillis());
                slow.getOutputStream().write("GET /tether HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(slow.getInputStream().readAllBytes()).as("no response to a request never finished").isEmpty();
            }
            assertThat(tether.stats().connections()).isZero();
        }
    }

    @Test
    void requestHeadLargerThanTheLimitIsNotUpgraded() throws Exception {
        TetherUndertowConfig config = TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .maxHeaderBytes(2048).build();
        try (TetherServer server = TetherServer.start(tether, config)) {
            Throwable outcome = catchThrowable(() -> {
                RawWebSocket.HttpHead response = RawWebSocket.upgradeResponse(loopback(server.port()), "/tether",
                        Map.of("X-Padding", "p".repeat(4096)));
                assertThat(response.status()).isBetween(400, 499);
            });
            if (outcome != null) {
                assertThat(outcome).isInstanceOf(IOException.class); // or the server just hung up
            }
            assertThat(tether.stats().connections()).isZero();
        }
    }

    @Test
    void startingOnAPortInUseFailsNamingTheAddressAndLeavesNothingRunning() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            TetherUndertowConfig config = TetherUndertowConfig.builder().host("127.0.0.1").port(port).build();
            java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();

            Throwable failure = catchThrowable(() -> TetherServer.start(tether, config));

            assertThat(failure).isInstanceOf(java.io.UncheckedIOException.class)
                    .hasMessage("cannot listen on 127.0.0.1:" + port + ": address already in use")
                    .hasCauseInstanceOf(java.net.BindException.class);
            // Whatever threads the failed start created (XNIO I/O threads) end.
            java.util.Set<Thread> started = new java.util.HashSet<>(Thread.getAllStackTraces().keySet());
            started.removeAll(before);
            started.removeIf(t -> !t.getName().startsWith("XNIO"));
            for (Thread t : started) {
                t.join(WAIT.toMillis());
                assertThat(t.isAlive()).as("thread %s", t.getName()).isFalse();
            }
        }
    }
}
