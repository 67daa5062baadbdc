package dev.tether.core.internal;

import dev.tether.core.spi.engine.EngineConnection;
import dev.tether.core.spi.TransportHub;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.TransportConnection;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Tether#state()}: RUNNING, DRAINING from the first moment of {@code close()} (before any
 * client is told to go) and CLOSED once it returned; and the drain's two log lines.
 */
class HubStateTest {

    private static final Principal ALICE = () -> "alice";

    /** Held strongly: java.util.logging keeps loggers weakly, and the handler with them. */
    private final Logger coreLogger = Logger.getLogger(ServerLog.CORE);
    private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private Level levelBefore;
    private Tether tether;

    @BeforeEach
    void captureLog() {
        levelBefore = coreLogger.getLevel();
        coreLogger.setLevel(Level.INFO);
        coreLogger.addHandler(capture);
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
        coreLogger.removeHandler(capture);
        coreLogger.setLevel(levelBefore);
    }

    @Test
    void aNewHubRunsAndAClosedOneIsClosed() {
        tether = Tether.create(TetherConfig.builder().drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        assertThat(tether.state()).isEqualTo(Tether.State.RUNNING);
        tether.close();
        assertThat(tether.state()).isEqualTo(Tether.State.CLOSED);
        tether.close();
        assertThat(tether.state()).as("idempotent").isEqualTo(Tether.State.CLOSED);
    }

    @Test
    void readinessTurnsFalseBeforeAnyClientIsToldToGo() throws Exception {
        Hub hub = new Hub(TetherConfig.builder().drainTimeout(Duration.ofSeconds(10)).build(), new SessionHandler() { });
        tether = hub;
        CompletableFuture<Tether.State> seenWhenToldToGo = new CompletableFuture<>();
        InMemoryConnection transport = new InMemoryConnection();
        assertThat(hub.admit()).isEqualTo(TransportHub.ADMITTED);
        EngineConnection connection = new EngineConnection() {
            @Override
            public TransportConnection connection() {
                return transport;
            }

            @Override
            public void goingAway(long reconnectAfterMs) {
                seenWhenToldToGo.complete(hub.state());
                hub.unregister(this, CloseCodes.SERVER_RESTART); // gone at once: the drain need not wait
            }
        };
        assertThat(hub.register(connection)).isTrue();

        hub.close();

        assertThat(seenWhenToldToGo.get(10, TimeUnit.SECONDS)).isEqualTo(Tether.State.DRAINING);
        assertThat(hub.state()).isEqualTo(Tether.State.CLOSED);
    }

    @Test
    void aHubStaysDrainingWhileAClientHasNotAcknowledgedAndRefusesNewConnections() throws Exception {
        tether = Tether.create(TetherConfig.builder().drainTimeout(Duration.ofSeconds(10))
                .drainReconnectWindow(Duration.ofMillis(100), Duration.ofMillis(200)).build(), new SessionHandler() { });
        InMemoryConnection client = InMemoryConnection.open(tether, ALICE);
        String sid = client.hello().path("sid").asText();
        tether.session(sid).orElseThrow().send("last words", Payload.EMPTY);
        JsonNode last = client.next("msg");

        CompletableFuture<Void> closing = CompletableFuture.runAsync(tether::close);
        client.next("reconnect");
        assertThat(tether.state()).as("while the message is unacknowledged").isEqualTo(Tether.State.DRAINING);
        assertThat(TransportHub.of(tether).admit()).as("refused while draining: seconds to wait").isPositive();
        assertThat(closing).isNotDone();

        client.send("{\"t\":\"ack\",\"seq\":" + last.path("seq").asLong() + "}");
        closing.get(10, TimeUnit.SECONDS);
        assertThat(tether.state()).isEqualTo(Tether.State.CLOSED);
        assertThat(client.awaitClose()).isEqualTo(CloseCodes.SERVER_RESTART);
    }

    @Test
    void theDrainLogsItsStartAndItsEndWithCountsAndDuration() {
        tether = Tether.create(TetherConfig.builder().drainTimeout(Duration.ofMillis(300))
                .drainReconnectWindow(Duration.ofMillis(100), Duration.ofMillis(200)).build(), new SessionHandler() { });
        InMemoryConnection acknowledging = InMemoryConnection.open(tether, ALICE);
        acknowledging.hello();
        InMemoryConnection silent = InMemoryConnection.open(tether, ALICE);
        String sid = silent.hello().path("sid").asText();
        tether.session(sid).orElseThrow().send("never acknowledged", Payload.EMPTY);
        silent.next("msg");

        tether.close(); // the silent client keeps the drain busy until its timeout

        List<String> lines = logged.stream()
                .filter(r -> r.getLoggerName().equals(ServerLog.CORE) && r.getLevel() == Level.INFO)
                .map(new SimpleFormatter()::formatMessage)
                .toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).isEqualTo("TS011 draining: 2 connections and 2 sessions; waiting up to 300 ms");
        assertThat(lines.get(1)).matches("TS012 closed after \\d+ ms: 2 connections told to reconnect, 2 still open"
                + " at the end of the drain closed with 1 messages unwritten or unacknowledged; 2 sessions ended");
        long ms = Long.parseLong(lines.get(1).replaceAll("^TS012 closed after (\\d+) ms.*", "$1"));
        assertThat(ms).as("the drain waited for its timeout").isGreaterThanOrEqualTo(300);
    }
}
