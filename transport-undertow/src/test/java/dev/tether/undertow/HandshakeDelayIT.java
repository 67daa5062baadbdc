package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.socketio.SocketIo;
import dev.tether.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Handshakes over the handshake rate wait for their turn ({@link TetherConfig#handshakeMaxDelay()})
 * instead of being refused, on real servers: the native upgrade and the Socket.IO polling open.
 * One handshake a second with a burst of one, so that the turns are a second apart and every
 * request of a test arrives well within the first turn.
 */
class HandshakeDelayIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Below the one second between turns, so that the test does not depend on how fast requests arrive. */
    private static final long TURN_LOWER_BOUND_NANOS = TimeUnit.MILLISECONDS.toNanos(900);

    private final AtomicInteger authenticated = new AtomicInteger();
    private Tether tether;
    private TetherServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (tether != null) {
            tether.close();
        }
    }

    private TetherConfig.Builder oneASecond(Duration maxDelay) {
        return TetherConfig.builder().maxHandshakesPerSecond(1).handshakeBurst(1).handshakeMaxDelay(maxDelay)
                .drainTimeout(Duration.ZERO)
                .authenticator(request -> {
                    authenticated.incrementAndGet();
                    return CompletableFuture.completedFuture(AuthResult.accept(Authenticator.ANONYMOUS_PRINCIPAL));
                });
    }

    private void startNative(TetherConfig.Builder hub) {
        tether = Tether.create(hub.build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    private static void assertWelcomed(RawWebSocket upgraded) throws Exception {
        upgraded.sendText("{\"t\":\"hello\",\"v\":1}");
        assertThat(upgraded.readText()).contains("\"t\":\"welcome\"");
    }

    @Test
    void aHandshakeWhoseTurnComesWithinTheDelayWaitsForItAndTheRestAreRefusedAtOnce() throws Exception {
        startNative(oneASecond(Duration.ofMillis(1500)));
        List<RawWebSocket.PendingUpgrade> pending = new ArrayList<>();
        try {
            long sent = System.nanoTime();
            for (int i = 0; i < 4; i++) {
                pending.add(RawWebSocket.startUpgrade(server.address(), "/tether", Map.of()));
            }
            // Turns at 0, 1, 2 and 3 s, in whatever order the server reads the four requests: two
            // within 1.5 s (one at once, one after a second), the other two refused at once.
            List<RawWebSocket> upgraded = new ArrayList<>();
            int refused = 0;
            for (RawWebSocket.PendingUpgrade p : pending) {
                RawWebSocket.HttpHead answer = p.response();
                if (answer.status() == 101) {
                    upgraded.add(p.upgraded());
                } else {
                    assertThat(answer.status()).isEqualTo(503);
                    assertThat(answer.header("Retry-After")).isEqualTo("1");
                    refused++;
                }
            }
            assertThat(System.nanoTime() - sent).as("one of the two waited for its turn")
                    .isGreaterThanOrEqualTo(TURN_LOWER_BOUND_NANOS);
            assertThat(upgraded).hasSize(2);
            assertThat(refused).isEqualTo(2);
            for (RawWebSocket socket : upgraded) {
                assertWelcomed(socket);
                socket.close();
            }
            assertThat(tether.stats().refused()).isEqualTo(2);
            assertThat(authenticated).hasValue(2);
        } finally {
            for (RawWebSocket.PendingUpgrade p : pending) {
                p.close();
            }
        }
    }

    @Test
    void aClientThatLeavesWhileItWaitsGivesItsSlotBackAndIsNeverAuthenticated() throws Exception {
        startNative(oneASecond(Duration.ofSeconds(10)));
        try (RawWebSocket first = RawWebSocket.connect(server.address(), "/tether")) {
            assertWelcomed(first);
            RawWebSocket.PendingUpgrade leaving = RawWebSocket.startUpgrade(server.address(), "/tether", Map.of());
            Await.until(() -> tether.stats().connections() == 2, WAIT, "the waiting handshake holds a slot");
            leaving.close(); // its turn would have come after 1 s
            Await.until(() -> tether.stats().connections() == 1, WAIT, "the slot is given back");
            // The next turn is the one after the departed client's: it has passed by the time this one is answered.
            try (RawWebSocket next = RawWebSocket.connect(server.address(), "/tether")) {
                assertWelcomed(next);
                assertThat(authenticated).as("the first and the last, not the one that left").hasValue(2);
                assertThat(tether.stats().connections()).isEqualTo(2);
            }
        }
    }

    @Test
    void aSocketIoPollingOpenOverTheRateWaitsForItsTurn() throws Exception {
        tether = Tether.create(oneASecond(Duration.ofMillis(1500)).build(), new SessionHandler() { });
        server = TetherServer.start(SocketIo.create(tether), TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
        HttpRequest open = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/socket.io/?EIO=4&transport=polling")).timeout(WAIT).GET().build();
        long sent = System.nanoTime();
        List<CompletableFuture<Long>> answered = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            CompletableFuture<HttpResponse<String>> response = http.sendAsync(open, HttpResponse.BodyHandlers.ofString());
            responses.add(response);
            answered.add(response.thenApply(r -> System.nanoTime() - sent));
        }
        CompletableFuture.allOf(answered.toArray(new CompletableFuture<?>[0])).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        List<Integer> statuses = responses.stream().map(r -> r.join().statusCode()).sorted().toList();
        assertThat(statuses).containsExactly(200, 200, 503);
        long slowestOpen = 0;
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> response = responses.get(i).join();
            if (response.statusCode() == 200) {
                assertThat(response.body()).startsWith("0{\"sid\":");
                slowestOpen = Math.max(slowestOpen, answered.get(i).join());
                close(http, response.body()); // else the server's stop waits for the session's next poll
            }
        }
        assertThat(slowestOpen).as("the second open waited for its turn").isGreaterThanOrEqualTo(TURN_LOWER_BOUND_NANOS);
    }

    /** Sends the Engine.IO close packet for the session that {@code open} (the open packet) names. */
    private void close(HttpClient http, String open) throws Exception {
        String sid = new ObjectMapper().readTree(open.substring(1)).path("sid").asText();
        HttpResponse<String> closed = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/socket.io/?EIO=4&transport=polling&sid=" + sid)).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.ofString("1")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(closed.statusCode()).isEqualTo(200);
    }
}
