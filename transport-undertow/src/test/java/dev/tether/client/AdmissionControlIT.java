package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Admission control before the upgrade: over {@code maxConnections} a handshake gets a clean
 * HTTP 503 with Retry-After, nothing is created for it, and the admitted connections keep working.
 */
class AdmissionControlIT {

    private static final int MAX = 500;
    private static final int ATTEMPTS = 600;

    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder().maxConnections(MAX)
                .authorizer(Authorizer.topics("all"::equals, topic -> false)) // clients subscribe; the server publishes
                .admissionRetryAfter(Duration.ofSeconds(3)).build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        tether.close();
        server.close();
    }

    @Test
    void sixHundredHandshakesAgainstFiveHundredSlotsGiveExactlyOneHundred503s() throws Exception {
        URI uri = URI.create("ws://127.0.0.1:" + server.port() + "/tether");
        HttpClient http = HttpClient.newHttpClient();
        CountDownLatch received = new CountDownLatch(MAX);
        List<CompletableFuture<TetherClient>> attempts = new ArrayList<>();
        for (int i = 0; i < ATTEMPTS; i++) {
            TetherClient client = TetherClient.builder(uri).httpClient(http).listener(new TetherClient.Listener() {
                @Override
                public void onMessage(TetherClient c, Message message) {
                    received.countDown();
                }
            }).build();
            clients.add(client);
            attempts.add(client.connect());
        }
        int admitted = 0;
        int refused = 0;
        for (CompletableFuture<TetherClient> attempt : attempts) {
            try {
                attempt.get(60, TimeUnit.SECONDS).subscribe("all").get(30, TimeUnit.SECONDS);
                admitted++;
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause() instanceof CompletionException ? e.getCause().getCause() : e.getCause();
                assertThat(cause).isInstanceOf(HandshakeException.class);
                HandshakeException refusal = (HandshakeException) cause;
                assertThat(refusal.statusCode()).isEqualTo(503);
                assertThat(refusal.retryAfter()).contains(Duration.ofSeconds(3));
                refused++;
            }
        }
        assertThat(admitted).isEqualTo(MAX);
        assertThat(refused).isEqualTo(ATTEMPTS - MAX);
        assertThat(tether.stats().refused()).isEqualTo(ATTEMPTS - MAX);
        assertThat(tether.stats().sessions()).as("no session for a refusal").isEqualTo(MAX);

        assertThat(tether.publish("all", "still", Payload.text("working"))).isEqualTo(MAX);
        assertThat(received.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(tether.stats().connections()).isEqualTo(MAX);
    }
}
