package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.client.ScriptedServer.Conn;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.SendResult;
import dev.tether.testing.LogCapture;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client against a server whose every frame the test writes, to reach the protocol's corners
 * (resume, replay, gaps, violations, heartbeats, refusals) deterministically. Real sockets on
 * loopback; no sleeps: every wait is a bounded poll on a queue or a future.
 */
class TetherClientScriptedIT {

    private static final long WAIT = ScriptedServer.WAIT_SECONDS;

    private ScriptedServer server;
    private RecordingListener events;
    private TetherClient client;

    @BeforeEach
    void start() {
        server = new ScriptedServer();
        events = new RecordingListener();
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        server.close();
    }

    private TetherClient.Builder builder() {
        return TetherClient.builder(server.uri())
                .listener(events)
                .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(20));
    }

    /** Connects {@code client} and welcomes it as a new session {@code sid}. */
    private Conn connect(String sid) throws Exception {
        CompletableFuture<TetherClient> connected = client.connect();
        Conn conn = server.accept();
        assertThat(conn.next("hello").has("sid")).isFalse();
        conn.welcome(sid, "k-" + sid);
        assertThat(connected.get(WAIT, TimeUnit.SECONDS)).isSameAs(client);
        assertThat(events.next()).isEqualTo("open:false");
        return conn;
    }

    private static String welcome(String sid, boolean resumed, long lastClientSeq, String extra) {
        return "{\"t\":\"welcome\",\"v\":1,\"sid\":\"" + sid + "\",\"token\":\"k-" + sid + "\",\"resumed\":" + resumed
                + ",\"lastClientSeq\":" + lastClientSeq + ",\"hb\":25000,\"hbTimeout\":20000,"
                + "\"maxMessageBytes\":65536" + extra + "}";
    }

    private static String msg(long seq, String event, String text) {
        return "{\"t\":\"msg\",\"seq\":" + seq + ",\"e\":\"" + event + "\",\"d\":\"" + text + "\"}";
    }

    private static Throwable failure(CompletableFuture<?> future) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> future.get(WAIT, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void handshakesDeliversInOrderExactlyOnceAcknowledgesAndClosesNormally() throws Exception {
        client = builder().bearerToken("tok-1").header("Origin", "https://app.example")
                .ackDelay(Duration.ofMillis(50)).build();
        CompletableFuture<TetherClient> connected = client.connect();
        Conn conn = server.accept();
        JsonNode hello = conn.next();
        assertThat(hello).isEqualTo(ScriptedServer.MAPPER.readTree("{\"t\":\"hello\",\"v\":3}"));
        assertThat(server.upgradeHeaders.get(0).get("Authorization")).containsExactly("Bearer tok-1");
        assertThat(server.upgradeHeaders.get(0).get("Origin")).containsExactly("https://app.example");
        assertThat(connected).isNotDone();
        conn.welcome("s-1", "k-1");
        assertThat(connected.get(WAIT, TimeUnit.SECONDS)).isSameAs(client);
        assertThat(events.next()).isEqualTo("open:false");
        assertThat(client.sessionId()).isEqualTo("s-1");
        assertThat(client.isConnected()).isTrue();

        conn.send(msg(1, "a", "x"));
        conn.send(msg(2, "b", "y"));
        conn.send(msg(2, "b", "y"));
        conn.send(msg(1, "a", "x"));
        conn.send(msg(3, "c", "z"));
        conn.send("{\"t\":\"msg\",\"e\":\"volatile\",\"d\":{\"k\":1}}");
        assertThat(events.next()).isEqualTo("msg:a:x");
        assertThat(events.next()).isEqualTo("msg:b:y");
        assertThat(events.next()).isEqualTo("msg:c:z");
        assertThat(events.next()).isEqualTo("msg:volatile:{\"k\":1}");
        long acked = 0;
        while (acked < 3) {
            acked = conn.next("ack").get("seq").asLong();
        }
        assertThat(acked).isEqualTo(3);
        assertThat(client.stats().duplicatesIn()).isEqualTo(2);
        assertThat(client.stats().messagesIn()).isEqualTo(4);

        client.close();
        assertThat(conn.closeCodes.poll(WAIT, TimeUnit.SECONDS)).isEqualTo(1000);
        assertThat(events.next()).isEqualTo("closed:-");
        assertThat(client.isClosed()).isTrue();
        assertThat(client.send("late", Payload.EMPTY)).isEqualTo(SendResult.CLOSED);
        assertThat(events.threads).allMatch(name -> name.startsWith("tether-client-callback-"));
    }

    @Test
    void numbersReliableMessagesQueuedBeforeConnectAndLeavesVolatileOnesUnnumbered() throws Exception {
        client = builder().build();
        assertThat(client.send("early", Payload.text("1"))).isEqualTo(SendResult.ENQUEUED);
        assertThat(client.sendVolatile("typing", Payload.EMPTY)).isEqualTo(SendResult.DROPPED);
        Conn conn = connect("s-1");

        JsonNode early = conn.next("msg");
        assertThat(early.get("seq").asLong()).isEqualTo(1);
        assertThat(early.get("e").asText()).isEqualTo("early");
        assertThat(early.get("d").asText()).isEqualTo("1");

        client.send("second", Payload.json(ScriptedServer.MAPPER.readTree("{\"n\":2}")));
        JsonNode second = conn.next("msg");
        assertThat(second.get("seq").asLong()).isEqualTo(2);
        assertThat(second.get("d")).isEqualTo(ScriptedServer.MAPPER.readTree("{\"n\":2}"));

        assertThat(client.sendVolatile("typing", Payload.EMPTY)).isEqualTo(SendResult.ENQUEUED);
        JsonNode typing = conn.next("msg");
        assertThat(typing.has("seq")).isFalse();
        assertThat(typing.get("e").asText()).isEqualTo("typing");

        assertThat(client.publish("room", "chat", Payload.text("hi"))).isEqualTo(SendResult.ENQUEUED);
        JsonNode chat = conn.next("msg");
        assertThat(chat.get("seq").asLong()).isEqualTo(3);
        assertThat(chat.get("topic").asText()).isEqualTo("room");
        assertThat(client.stats().unacknowledged()).isEqualTo(3);
    }

    @Test
    void resumeResendsUnacknowledgedMessagesWithTheirOriginalSeqAndDropsReplayedOnes() throws Exception {
        client = builder().ackEvery(1).build();
        Conn conn = connect("s-1");
        client.send("a", Payload.text("1"));
        client.send("b", Payload.text("2"));
        client.send("c", Payload.text("3"));
        for (int seq = 1; seq <= 3; seq++) {
            assertThat(conn.next("msg").get("seq").asLong()).isEqualTo(seq);
        }
        conn.send("{\"t\":\"ack\",\"seq\":1}");
        conn.send(msg(1, "x", "x"));
        conn.send(msg(2, "y", "y"));
        assertThat(events.next()).isEqualTo("msg:x:x");
        assertThat(events.next()).isEqualTo("msg:y:y");
        while (conn.next("ack").get("seq").asLong() < 2) {
            // ackEvery(1): one ack per message
        }
        assertThat(client.stats().unacknowledged()).isEqualTo(2);

        client.disconnectAbruptly();
        assertThat(events.next()).isEqualTo("disconnected:1006");
        Conn again = server.accept();
        JsonNode hello = again.next("hello");
        assertThat(hello.get("sid").asText()).isEqualTo("s-1");
        assertThat(hello.get("token").asText()).isEqualTo("k-s-1");
        assertThat(hello.get("last").asLong()).isEqualTo(2);

        // The server had processed 1 and 2 (its ack of 2 was lost with the connection).
        again.send(welcome("s-1", true, 2, ""));
        JsonNode resent = again.next("msg");
        assertThat(resent.get("seq").asLong()).isEqualTo(3);
        assertThat(resent.get("e").asText()).isEqualTo("c");
        again.send(msg(2, "y", "y"));
        again.send(msg(3, "z", "z"));
        assertThat(events.next()).isEqualTo("open:true");
        assertThat(events.next()).isEqualTo("msg:z:z");
        assertThat(again.collect("msg", 200)).as("nothing but seq 3 is resent").isEmpty();
        assertThat(client.stats().resumes()).isEqualTo(1);
        assertThat(client.stats().resent()).isEqualTo(1);
        assertThat(client.stats().duplicatesIn()).isEqualTo(1);
        assertThat(client.sessionId()).isEqualTo("s-1");
    }

    @Test
    void lostSessionIsReportedWithItsUnacknowledgedMessagesAndNumberingAndSubscriptionsRestart() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        CompletableFuture<Void> subscribed = client.subscribe("room");
        JsonNode sub = conn.next("sub");
        assertThat(sub.get("topic").asText()).isEqualTo("room");
        conn.send("{\"t\":\"ok\",\"id\":" + sub.get("id").asLong() + "}");
        subscribed.get(WAIT, TimeUnit.SECONDS);

        client.send("a", Payload.text("1"));
        assertThat(conn.next("msg").get("seq").asLong()).isEqualTo(1);
        CompletableFuture<Payload> pending = client.request("q", Payload.EMPTY, Duration.ofSeconds(30));
        JsonNode request = conn.next("msg");
        assertThat(request.get("seq").asLong()).isEqualTo(2);
        assertThat(request.get("rid").asLong()).isPositive();
        conn.send(msg(1, "m", "1"));
        assertThat(events.next()).isEqualTo("msg:m:1");

        conn.close(1001, "going away");
        assertThat(events.next()).isEqualTo("disconnected:1001");
        Conn again = server.accept();
        JsonNode hello = again.next("hello");
        assertThat(hello.get("sid").asText()).isEqualTo("s-1");
        assertThat(hello.get("last").asLong()).isEqualTo(1);
        again.send(welcome("s-2", false, 0, ",\"gap\":{\"from\":0,\"to\":0,\"reason\":\"expired\"}"));

        assertThat(events.next()).isEqualTo("lost:expired:[a]");
        assertThat(events.next()).isEqualTo("open:false");
        assertThat(failure(pending)).isInstanceOf(RequestException.class)
                .extracting(e -> ((RequestException) e).code()).isEqualTo(RequestException.CLOSED);
        JsonNode resub = again.next("sub");
        assertThat(resub.get("topic").asText()).isEqualTo("room");
        again.send("{\"t\":\"ok\",\"id\":" + resub.get("id").asLong() + "}");
        assertThat(client.sessionId()).isEqualTo("s-2");
        assertThat(client.stats().unacknowledged()).isZero();

        client.send("b", Payload.text("2"));
        assertThat(again.next("msg").get("seq").asLong()).as("numbering restarts").isEqualTo(1);
        again.send(msg(1, "new", "1"));
        assertThat(events.next()).isEqualTo("msg:new:1");
        assertThat(client.stats().sessionsLost()).isEqualTo(1);
        assertThat(client.topics()).containsExactly("room");
    }

    @Test
    void resumedSessionKeepsConfirmedSubscriptionsAndResendsUnansweredOnes() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        CompletableFuture<Void> a = client.subscribe("a");
        conn.send("{\"t\":\"ok\",\"id\":" + conn.next("sub").get("id").asLong() + "}");
        a.get(WAIT, TimeUnit.SECONDS);
        CompletableFuture<Void> b = client.subscribe("b");
        assertThat(conn.next("sub").get("topic").asText()).isEqualTo("b");

        client.disconnectAbruptly();
        Conn again = server.accept();
        again.next("hello");
        again.send(welcome("s-1", true, 0, ""));
        JsonNode resent = again.next("sub");
        assertThat(resent.get("topic").asText()).isEqualTo("b");
        assertThat(b).isNotDone();
        again.send("{\"t\":\"ok\",\"id\":" + resent.get("id").asLong() + "}");
        b.get(WAIT, TimeUnit.SECONDS);
        assertThat(again.collect("sub", 200)).isEmpty();
        assertThat(client.topics()).containsExactlyInAnyOrder("a", "b");
    }

    @Test
    void gapsAreReportedAndNumberingContinuesAfterThem() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        conn.send(msg(1, "a", "1"));
        conn.send("{\"t\":\"gap\",\"from\":2,\"to\":4,\"reason\":\"overflow\"}");
        conn.send(msg(5, "e", "5"));
        assertThat(events.next()).isEqualTo("msg:a:1");
        assertThat(events.next()).isEqualTo("gap:2..4:overflow");
        assertThat(events.next()).isEqualTo("msg:e:5");

        client.disconnectAbruptly();
        Conn again = server.accept();
        assertThat(again.next("hello").get("last").asLong()).isEqualTo(5);
        again.send(welcome("s-1", true, 0, ",\"gap\":{\"from\":6,\"to\":8,\"reason\":\"overflow\"}"));
        again.send(msg(9, "i", "9"));
        assertThat(events.next("open")).isEqualTo("open:true");
        assertThat(events.next()).isEqualTo("gap:6..8:overflow");
        assertThat(events.next()).isEqualTo("msg:i:9");
        assertThat(client.stats().gaps()).isEqualTo(2);
    }

    @Test
    void aHoleInTheServersNumberingDropsTheConnectionAndResumes() throws Exception {
        try (LogCapture log = LogCapture.quiet("dev.tether.client", Level.WARNING)) {
            client = builder().build();
            Conn conn = connect("s-1");
            conn.send(msg(1, "a", "1"));
            conn.send(msg(3, "c", "3"));
            assertThat(events.next()).isEqualTo("msg:a:1");
            assertThat(events.next()).isEqualTo("disconnected:1002");
            Conn again = server.accept();
            assertThat(again.next("hello").get("last").asLong()).isEqualTo(1);
            assertThat(client.stats().protocolErrors()).isEqualTo(1);
            assertThat(log.records()).extracting(r -> r.getMessage().substring(0, 5)).containsExactly("TC010");
        }
    }

    @Test
    void requestsAndRepliesWorkBothWays() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");

        CompletableFuture<Payload> sum = client.request("sum", Payload.json(ScriptedServer.MAPPER.readTree("[1,2]")),
                Duration.ofSeconds(30));
        JsonNode ask = conn.next("msg");
        assertThat(ask.get("e").asText()).isEqualTo("sum");
        conn.send("{\"t\":\"reply\",\"rid\":" + ask.get("rid").asLong() + ",\"d\":3}");
        assertThat(sum.get(WAIT, TimeUnit.SECONDS).asText()).isEqualTo("3");

        CompletableFuture<Payload> refused = client.request("boom", Payload.EMPTY, Duration.ofSeconds(30));
        long rid = conn.next("msg").get("rid").asLong();
        conn.send("{\"t\":\"reply\",\"rid\":" + rid + ",\"err\":{\"code\":\"nope\",\"message\":\"no way\"}}");
        Throwable error = failure(refused);
        assertThat(error).isInstanceOf(RequestException.class).hasMessage("no way");
        assertThat(((RequestException) error).code()).isEqualTo("nope");

        CompletableFuture<Payload> slow = client.request("slow", Payload.EMPTY, Duration.ofMillis(100));
        assertThat(((RequestException) failure(slow)).code()).isEqualTo(RequestException.TIMEOUT);
        assertThat(client.stats().pendingRequests()).isZero();

        events.requests = (m, r) -> r.reply(Payload.text("pong:" + m.payload().asText()));
        conn.send("{\"t\":\"msg\",\"seq\":1,\"rid\":7,\"e\":\"ask\",\"d\":\"hi\"}");
        JsonNode reply = conn.next("reply");
        assertThat(reply.get("rid").asLong()).isEqualTo(7);
        assertThat(reply.get("d").asText()).isEqualTo("pong:hi");

        events.requests = (m, r) -> r.fail("unhandled", "nobody home");
        conn.send("{\"t\":\"msg\",\"seq\":2,\"rid\":8,\"e\":\"ask\"}");
        JsonNode err = conn.next("reply");
        assertThat(err.get("rid").asLong()).isEqualTo(8);
        assertThat(err.get("err").get("code").asText()).isEqualTo("unhandled");
    }

    @Test
    void pingIsAnsweredAtOnceWithThePendingAckAndItsAckReleasesClientMessages() throws Exception {
        client = builder().ackEvery(1000).ackDelay(Duration.ofMinutes(1)).build();
        Conn conn = connect("s-1");
        client.send("a", Payload.EMPTY);
        client.send("b", Payload.EMPTY);
        conn.next("msg");
        conn.next("msg");
        assertThat(client.stats().unacknowledged()).isEqualTo(2);
        conn.send(msg(1, "x", "1"));
        conn.send(msg(2, "y", "2"));
        conn.send("{\"t\":\"ping\",\"ack\":2}");
        assertThat(conn.next("pong").get("ack").asLong()).isEqualTo(2);
        assertThat(client.stats().unacknowledged()).isZero();
        conn.send("{\"t\":\"ping\",\"ack\":2}");
        assertThat(conn.next("pong").has("ack")).as("nothing new to acknowledge").isFalse();
    }

    @Test
    void aPingWithoutAckBeforeTheServerProcessedAnythingIsAnsweredAndReleasesNothing() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        client.send("a", Payload.EMPTY);
        conn.next("msg");
        conn.send("{\"t\":\"ping\"}");
        assertThat(conn.next("pong").has("ack")).isFalse();
        conn.send("{\"t\":\"ping\",\"ack\":0}"); // as servers before PROTOCOL.md said so wrote it
        conn.next("pong");
        assertThat(client.stats().unacknowledged()).isEqualTo(1);
        assertThat(client.isConnected()).isTrue();
        conn.send("{\"t\":\"ping\",\"ack\":1}");
        conn.next("pong");
        assertThat(client.stats().unacknowledged()).isZero();
    }

    @Test
    void silenceBeyondTheHeartbeatTimeoutReconnectsAndResumes() throws Exception {
        client = builder().build();
        client.connect();
        Conn conn = server.accept();
        conn.next("hello");
        conn.send("{\"t\":\"welcome\",\"v\":1,\"sid\":\"s-1\",\"token\":\"k\",\"resumed\":false,"
                + "\"lastClientSeq\":0,\"hb\":100,\"hbTimeout\":100,\"maxMessageBytes\":65536}");
        assertThat(events.next()).isEqualTo("open:false");
        assertThat(events.next()).isEqualTo("disconnected:4002");
        Conn again = server.accept();
        assertThat(again.next("hello").get("sid").asText()).isEqualTo("s-1");
    }

    @Test
    void aTerminalCloseCodeStopsTheClientForGood() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        conn.close(4501, "forbidden");
        assertThat(events.next()).isEqualTo("disconnected:4501");
        assertThat(events.next()).isEqualTo("closed:ConnectionClosedException");
        assertThat(((ConnectionClosedException) events.closedCause).code()).isEqualTo(4501);
        assertThat(client.isClosed()).isTrue();
        assertThat(server.anotherConnectionWithin(300)).isFalse();
        assertThat(client.send("x", Payload.EMPTY)).isEqualTo(SendResult.CLOSED);
        assertThatThrownBy(client::connect).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aRefusedUpgradeFailsConnectWithTheHttpStatusAndTheClientCanTryAgain() throws Exception {
        client = builder().build();
        server.refuse(401, null);
        Throwable unauthorized = failure(client.connect());
        assertThat(unauthorized).isInstanceOf(HandshakeException.class);
        assertThat(((HandshakeException) unauthorized).statusCode()).isEqualTo(401);
        assertThat(((HandshakeException) unauthorized).retryAfter()).isEmpty();

        server.refuse(503, "7");
        Throwable busy = failure(client.connect());
        assertThat(((HandshakeException) busy).statusCode()).isEqualTo(503);
        assertThat(((HandshakeException) busy).retryAfter()).contains(Duration.ofSeconds(7));

        server.refuse(0, null);
        Conn conn = connect("s-1");
        assertThat(conn).isNotNull();
        assertThat(client.stats().connectAttempts()).isEqualTo(3);
    }

    @Test
    void aForbiddenReconnectEndsTheClient() throws Exception {
        try (LogCapture log = LogCapture.quiet("dev.tether.client", Level.WARNING)) {
            client = builder().build();
            Conn conn = connect("s-1");
            server.refuse(403, null);
            conn.close(4012, "restart");
            assertThat(events.next()).isEqualTo("disconnected:4012");
            assertThat(events.next()).isEqualTo("closed:HandshakeException");
            assertThat(((HandshakeException) events.closedCause).statusCode()).isEqualTo(403);
            assertThat(log.records()).extracting(r -> r.getMessage().substring(0, 5)).containsExactly("TC002");
        }
    }

    @Test
    void theTokenSupplierIsAskedForEveryConnectionAndForEachRefreshTheServerRequests() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        client = builder().tokenSupplier(() -> CompletableFuture.completedFuture("t" + asked.incrementAndGet())).build();
        Conn conn = connect("s-1");
        assertThat(server.upgradeHeaders.get(0).get("Authorization")).containsExactly("Bearer t1");

        conn.send("{\"t\":\"refresh\",\"exp\":1767225600000,\"expiresInMs\":5000}");
        JsonNode auth = conn.next("auth");
        assertThat(auth.path("token").asText()).isEqualTo("t2");
        conn.send("{\"t\":\"ok\",\"id\":" + auth.path("id").asLong() + ",\"exp\":1767225660000}");

        conn.send("{\"t\":\"refresh\",\"exp\":1767225660000,\"expiresInMs\":5000}");
        JsonNode again = conn.next("auth");
        assertThat(again.path("token").asText()).isEqualTo("t3");
        assertThat(again.path("id").asLong()).isNotEqualTo(auth.path("id").asLong());
        conn.send("{\"t\":\"error\",\"id\":" + again.path("id").asLong()
                + ",\"code\":\"unauthorized\",\"message\":\"token expired\"}");
        assertThat(events.next()).isEqualTo("error:token refresh refused: token expired");
        assertThat(((RequestException) events.errors.poll()).code()).isEqualTo("unauthorized");

        conn.close(4401, "credentials expired");
        assertThat(events.next()).isEqualTo("disconnected:4401");
        Conn resumed = server.accept();
        assertThat(resumed.next("hello").path("sid").asText()).isEqualTo("s-1");
        assertThat(server.upgradeHeaders.get(1).get("Authorization")).containsExactly("Bearer t4");
    }

    @Test
    void aTokenSupplierThatDoesNotAnswerFailsTheFirstConnectWithoutAnUpgrade() throws Exception {
        client = builder().connectTimeout(Duration.ofMillis(200))
                .tokenSupplier(CompletableFuture::new).build();
        Throwable failure = failure(client.connect());
        assertThat(failure).isInstanceOf(java.io.IOException.class).hasCauseInstanceOf(TimeoutException.class);
        assertThat(server.upgradeHeaders).isEmpty();
        assertThat(client.isClosed()).isFalse();
    }

    @Test
    void aReconnectRefusedWithUnauthorizedAsksForAFreshTokenOnce() throws Exception {
        try (LogCapture log = LogCapture.quiet("dev.tether.client", Level.WARNING)) {
            AtomicInteger asked = new AtomicInteger();
            client = builder().tokenSupplier(() -> CompletableFuture.completedFuture("t" + asked.incrementAndGet())).build();
            Conn conn = connect("s-1");
            server.refuse(401, null);
            conn.close(4012, "restart");
            assertThat(events.next()).isEqualTo("disconnected:4012");
            assertThat(events.next()).isEqualTo("closed:HandshakeException");
            HandshakeException refused = (HandshakeException) events.closedCause;
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(refused.getMessage()).startsWith("unauthorized: ");
            assertThat(asked.get()).isEqualTo(3);
            assertThat(server.upgradeHeaders).extracting(h -> h.get("Authorization"))
                    .containsExactly(List.of("Bearer t1"), List.of("Bearer t2"), List.of("Bearer t3"));
            assertThat(log.records()).extracting(r -> r.getMessage().substring(0, 5)).containsExactly("TC002");
        }
    }

    @Test
    void serviceUnavailableOnReconnectIsRetriedAfterRetryAfter() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        server.refuse(503, "1");
        conn.close(4013, "overloaded");
        assertThat(events.next()).isEqualTo("disconnected:4013");
        Long refusedAt = server.refusedAt.poll(WAIT, TimeUnit.SECONDS);
        assertThat(refusedAt).as("a refused reconnect").isNotNull();
        server.refuse(0, null);
        Conn again = server.accept();
        assertThat(System.nanoTime() - refusedAt).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(900));
        assertThat(again.next("hello").get("sid").asText()).isEqualTo("s-1");
    }

    @Test
    void aReconnectFrameSetsTheMinimumDelayBeforeTheNextAttempt() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        conn.send("{\"t\":\"reconnect\",\"afterMs\":300}");
        long closedAt = System.nanoTime();
        conn.close(4012, "draining");
        assertThat(events.next()).isEqualTo("disconnected:4012");
        Conn again = server.accept();
        assertThat(System.nanoTime() - closedAt).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(again.next("hello").get("sid").asText()).isEqualTo("s-1");
    }

    @Test
    void binaryPayloadsTravelAsLengthPrefixedFramesBothWays() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        client.send("blob", Payload.binary(new byte[] {1, 2, 3}));
        byte[] wire = conn.nextBinary();
        int headerLength = ByteBuffer.wrap(wire).getInt();
        JsonNode header = ScriptedServer.MAPPER.readTree(new String(wire, 4, headerLength, StandardCharsets.UTF_8));
        assertThat(header.get("t").asText()).isEqualTo("msg");
        assertThat(header.get("seq").asLong()).isEqualTo(1);
        assertThat(header.get("e").asText()).isEqualTo("blob");
        assertThat(Arrays.copyOfRange(wire, 4 + headerLength, wire.length)).containsExactly(1, 2, 3);

        conn.sendBinary(Conn.binaryFrame("{\"t\":\"msg\",\"seq\":1,\"e\":\"img\"}", new byte[] {9, 8, 7}));
        assertThat(events.next()).startsWith("msg:img:");
        assertThat(events.messages.get(0).payload()).isEqualTo(Payload.binary(new byte[] {9, 8, 7}));
    }

    @Test
    void largeMessagesArriveWhole() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        String big = "x".repeat(300_000);
        conn.send(msg(1, "big", big));
        byte[] bytes = new byte[300_000];
        Arrays.fill(bytes, (byte) 5);
        conn.sendBinary(Conn.binaryFrame("{\"t\":\"msg\",\"seq\":2,\"e\":\"bigbin\"}", bytes));
        assertThat(events.next()).isEqualTo("msg:big:" + big);
        events.next();
        assertThat(events.messages.get(1).payload()).isEqualTo(Payload.binary(bytes));
    }

    @Test
    void overflowAndClosedAreResultsNotExceptions() throws Exception {
        client = builder().maxUnacked(2).build();
        assertThat(client.send("a", Payload.EMPTY)).isEqualTo(SendResult.ENQUEUED);
        assertThat(client.publish("t", "b", Payload.EMPTY)).isEqualTo(SendResult.ENQUEUED);
        assertThat(client.send("c", Payload.EMPTY)).isEqualTo(SendResult.OVERFLOW);
        Throwable overflow = failure(client.request("d", Payload.EMPTY, Duration.ofSeconds(1)));
        assertThat(((RequestException) overflow).code()).isEqualTo(RequestException.OVERFLOW);
        client.close();
        assertThat(events.next()).isEqualTo("closed:-");
        assertThat(client.send("e", Payload.EMPTY)).isEqualTo(SendResult.CLOSED);
        assertThat(client.sendVolatile("e", Payload.EMPTY)).isEqualTo(SendResult.CLOSED);
        assertThat(((RequestException) failure(client.subscribe("t"))).code()).isEqualTo(RequestException.CLOSED);
        assertThatThrownBy(() -> client.send("", Payload.EMPTY)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusedSubscribeFailsItsFutureAndARefusedPublishIsReported() throws Exception {
        client = builder().build();
        Conn conn = connect("s-1");
        CompletableFuture<Void> secret = client.subscribe("secret");
        JsonNode sub = conn.next("sub");
        conn.send("{\"t\":\"error\",\"id\":" + sub.get("id").asLong() + ",\"code\":\"forbidden\",\"message\":\"no\"}");
        assertThat(((RequestException) failure(secret)).code()).isEqualTo("forbidden");
        assertThat(client.topics()).isEmpty();

        client.publish("secret", "x", Payload.EMPTY);
        long seq = conn.next("msg").get("seq").asLong();
        conn.send("{\"t\":\"error\",\"seq\":" + seq + ",\"code\":\"forbidden\",\"message\":\"no\"}");
        Throwable reported = events.errors.poll(WAIT, TimeUnit.SECONDS);
        assertThat(reported).isInstanceOf(RequestException.class);
        assertThat(((RequestException) reported).code()).isEqualTo("forbidden");

        client.publishVolatile("secret", "typing", Payload.EMPTY);
        assertThat(conn.next("msg").has("seq")).isFalse();
        conn.send("{\"t\":\"error\",\"seq\":0,\"code\":\"forbidden\",\"message\":\"no\"}");
        Throwable volatileRefused = events.errors.poll(WAIT, TimeUnit.SECONDS);
        assertThat(volatileRefused).isInstanceOf(RequestException.class);
        assertThat(volatileRefused.getMessage()).contains("a volatile message");
        assertThat(client.isConnected()).as("seq 0 is documented for a volatile message").isTrue();
        assertThat(conn.closeCodes).isEmpty();
    }

    @Test
    void callbacksRunOneAtATimeInOrderOnTheGivenExecutor() throws Exception {
        AtomicInteger threads = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4,
                r -> new Thread(r, "test-callback-" + threads.incrementAndGet()));
        try {
            client = builder().callbackExecutor(pool).build();
            Conn conn = connect("s-1");
            int n = 500;
            for (int seq = 1; seq <= n; seq++) {
                conn.send(msg(seq, "m", Integer.toString(seq)));
            }
            for (int seq = 1; seq <= n; seq++) {
                assertThat(events.next()).isEqualTo("msg:m:" + seq);
            }
            List<String> names = events.threads;
            assertThat(names).allMatch(name -> name.startsWith("test-callback-"));
        } finally {
            client.close();
            pool.shutdown();
        }
    }

    @Test
    void aSlowListenerHoldsBackReadingInsteadOfQueueingWithoutBound() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        events = new RecordingListener() {
            @Override
            public void onMessage(TetherClient c, dev.tether.core.Message message) {
                if (message.event().equals("block")) {
                    try {
                        release.await(WAIT, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                super.onMessage(c, message);
            }
        };
        client = builder().build();
        Conn conn = connect("s-1");
        int n = 1_000;
        conn.send(msg(1, "block", "1"));
        for (int seq = 2; seq <= n; seq++) {
            conn.send(msg(seq, "m", Integer.toString(seq)));
        }
        conn.send("{\"t\":\"ping\",\"ack\":0}");
        assertThat(conn.collect("pong", 300)).as("the ping is not read while callbacks pile up").isEmpty();
        assertThat(client.stats().messagesIn()).as("callbacks waiting are bounded").isBetween(2L, 300L);

        release.countDown();
        assertThat(conn.next("pong")).isNotNull();
        assertThat(events.next()).isEqualTo("msg:block:1");
        for (int seq = 2; seq <= n; seq++) {
            assertThat(events.next()).isEqualTo("msg:m:" + seq);
        }
    }

    @Test
    void aThrowingCallbackIsCountedAndReportedAndTheClientCarriesOn() throws Exception {
        events = new RecordingListener() {
            @Override
            public void onMessage(TetherClient c, dev.tether.core.Message message) {
                if (message.event().equals("bad")) {
                    throw new IllegalStateException("test: listener failure");
                }
                super.onMessage(c, message);
            }
        };
        try (LogCapture log = LogCapture.quiet("dev.tether.client", Level.WARNING)) {
            client = builder().build();
            Conn conn = connect("s-1");
            conn.send(msg(1, "bad", "1"));
            conn.send(msg(2, "good", "2"));
            assertThat(events.next()).isEqualTo("error:test: listener failure");
            assertThat(events.next()).isEqualTo("msg:good:2");
            assertThat(client.stats().callbackErrors()).isEqualTo(1);
            assertThat(log.records()).as("reported once, with its code and the failure").singleElement()
                    .satisfies(r -> {
                        assertThat(r.getMessage()).isEqualTo("TC030 listener callback threw");
                        assertThat(r.getThrown()).hasMessage("test: listener failure");
                    });
        }
    }
}
