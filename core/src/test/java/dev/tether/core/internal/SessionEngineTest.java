package dev.tether.core.internal;

import dev.tether.core.spi.MetricsListener;
import dev.tether.core.spi.TransportHub;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Responder;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.testing.Await;
import java.lang.ref.WeakReference;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The session engine on an in-memory transport: no sockets. */
class SessionEngineTest {

    private static final Principal ALICE = () -> "alice";
    private static final Principal MALLORY = () -> "mallory";

    private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private Tether tether;

    private final SessionHandler handler = new SessionHandler() {
        @Override
        public void onOpen(Session session) {
            opened.add(session);
        }

        @Override
        public void onMessage(Session session, Message message) {
            if (message.event().equals("boom")) {
                throw new IllegalStateException("handler bug");
            }
            messages.add(message);
        }

        @Override
        public void onRequest(Session session, Message message, Responder responder) {
            responder.reply(Payload.text("re:" + message.payload().asText()));
        }
    };

    private Tether start(TetherConfig.Builder config) {
        tether = Tether.create(config.errorHandler((context, error) -> { }).drainTimeout(Duration.ZERO).build(), handler);
        return tether;
    }

    private Tether start() {
        return start(TetherConfig.builder());
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
    }

    private Session openedSession() throws InterruptedException {
        Session s = opened.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("onOpen").isNotNull();
        return s;
    }

    @Test
    void helloIsAnsweredWithWelcomeCarryingSessionAndLimits() throws Exception {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofSeconds(7)).heartbeatTimeout(Duration.ofSeconds(3)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = c.hello();
        assertThat(welcome.path("resumed").asBoolean()).isFalse();
        assertThat(welcome.path("hb").asLong()).isEqualTo(7000);
        assertThat(welcome.path("hbTimeout").asLong()).isEqualTo(3000);
        assertThat(welcome.path("token").asText()).hasSizeGreaterThanOrEqualTo(22); // >= 128 bits base64
        Session s = openedSession();
        assertThat(s.id()).isEqualTo(welcome.path("sid").asText());
        assertThat(s.principal().getName()).isEqualTo("alice");
        assertThat(tether.stats().connections()).isEqualTo(1);
    }

    @Test
    void aSessionTheClientEndedIsFreedAtOnceAndOnlyItsIdIsRemembered() throws Exception {
        start(TetherConfig.builder().sessionRetention(Duration.ofMinutes(10)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        String id = c.hello().path("sid").asText();
        WeakReference<Session> ended = new WeakReference<>(openedSession());
        c.close(CloseCodes.NORMAL, "done");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.NORMAL);
        Await.until(() -> tether.session(id).isEmpty(), Duration.ofSeconds(10), "the session ended");
        c = null;
        // The id stays for the retention window (a resume of it is refused: session ended); the session,
        // its link, queues and connection do not (they were held by the timer that forgets the id).
        Await.until(() -> {
            System.gc();
            return ended.get() == null;
        }, Duration.ofSeconds(10), "the ended session collected");
        InMemoryConnection again = InMemoryConnection.open(tether, ALICE);
        again.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + id + "\",\"token\":\"x\",\"last\":0}");
        assertThat(again.awaitClose()).isEqualTo(CloseCodes.SESSION_CLOSED);
    }

    @Test
    void frameBeforeHelloClosesWithBadRequest() {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"x\"}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
    }

    @Test
    void anUnknownFrameTypeIsIgnoredAfterHelloAndRefusedBeforeIt() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"presence\",\"id\":1,\"topic\":\"room\"}");
        c.send("{\"t\":\"msg\",\"seq\":1,\"rid\":1,\"e\":\"ask\",\"d\":\"still here\"}");
        assertThat(c.next("reply").path("d").asText()).isEqualTo("re:still here");
        assertThat(c.closeCode).isNotDone();
        assertThat(tether.stats().protocolErrors()).isZero();

        InMemoryConnection early = InMemoryConnection.open(tether, ALICE);
        early.send("{\"t\":\"presence\"}");
        assertThat(early.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
    }

    @Test
    void aRequestWithoutSeqClosesWithBadRequest() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"rid\":1,\"e\":\"ask\",\"d\":\"volatile?\"}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
        assertThat(c.closeReason).contains("seq");
    }

    @Test
    void malformedFrameClosesOnlyThatConnection() throws Exception {
        start();
        InMemoryConnection good = InMemoryConnection.open(tether, ALICE);
        good.hello();
        Session s = openedSession();
        InMemoryConnection bad = InMemoryConnection.open(tether, ALICE);
        bad.hello();
        bad.send("{not json");
        assertThat(bad.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
        assertThat(s.send("still", Payload.text("here"))).isEqualTo(SendResult.ENQUEUED);
        assertThat(good.next("msg").path("e").asText()).isEqualTo("still");
        assertThat(tether.stats().protocolErrors()).isEqualTo(1);
    }

    @Test
    void helloTimeoutClosesSilentConnection() {
        start(TetherConfig.builder().helloTimeout(Duration.ofMillis(50)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.HELLO_TIMEOUT);
    }

    @Test
    void reliableMessagesCarryConsecutiveSequenceNumbers() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        for (int i = 0; i < 5; i++) {
            s.send("n", Payload.text("m" + i));
        }
        for (int i = 1; i <= 5; i++) {
            JsonNode m = c.next("msg");
            assertThat(m.path("seq").asLong()).isEqualTo(i);
            assertThat(m.path("d").asText()).isEqualTo("m" + (i - 1));
        }
        assertThat(tether.stats().pendingAcks()).isEqualTo(5);
    }

    @Test
    void drainWritesEverythingQueuedWithOneFlush() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        c.onIo(() -> { }); // the welcome flush is done
        int flushesBefore = c.flushes;
        int framesBefore = c.framesWritten;
        CountDownLatch release = c.blockIo();
        for (int i = 0; i < 100; i++) {
            assertThat(s.send("batch", Payload.text("m" + i))).isEqualTo(SendResult.ENQUEUED);
        }
        release.countDown();
        for (int i = 0; i < 100; i++) {
            c.next("msg");
        }
        assertThat(c.framesWritten - framesBefore).isEqualTo(100);
        assertThat(c.flushes - flushesBefore).isEqualTo(1);
    }

    @Test
    void outboundQueueBoundIsEnforcedAndOverflowClosesAsSlowConsumer() throws Exception {
        start(TetherConfig.builder().outboundQueueCapacity(8).volatileQueueLimit(4));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        CountDownLatch release = c.blockIo(); // nothing drains while the I/O thread is busy
        int enqueued = 0;
        SendResult last = null;
        for (int i = 0; i < 100 && last != SendResult.OVERFLOW; i++) {
            last = s.send("r", Payload.text("m" + i));
            if (last == SendResult.ENQUEUED) {
                enqueued++;
            }
        }
        assertThat(last).isEqualTo(SendResult.OVERFLOW);
        assertThat(enqueued).isBetween(8, 16); // JCTools rounds capacity up to a power of two
        assertThat(s.sendVolatile("v", Payload.EMPTY)).isEqualTo(SendResult.DROPPED);
        release.countDown();
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.SLOW_CONSUMER);
        assertThat(tether.stats().slowConsumerCloses()).isEqualTo(1);
        assertThat(tether.stats().reliableOverflowed()).isEqualTo(1);
        assertThat(tether.stats().volatileDropped()).isEqualTo(1);
        assertThat(s.isClosed()).as("session stays resumable").isFalse();
    }

    @Test
    void volatileMessagesAreDroppedAboveTheirLimitWhileReliableOnesQueue() throws Exception {
        start(TetherConfig.builder().outboundQueueCapacity(64).volatileQueueLimit(4));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        CountDownLatch release = c.blockIo();
        for (int i = 0; i < 4; i++) {
            assertThat(s.sendVolatile("v", Payload.EMPTY)).isEqualTo(SendResult.ENQUEUED);
        }
        assertThat(s.sendVolatile("v", Payload.EMPTY)).isEqualTo(SendResult.DROPPED);
        assertThat(s.send("r", Payload.EMPTY)).isEqualTo(SendResult.ENQUEUED);
        release.countDown();
        for (int i = 0; i < 4; i++) {
            assertThat(c.next("msg").has("seq")).isFalse();
        }
        assertThat(c.next("msg").path("seq").asLong()).isEqualTo(1);
    }

    @Test
    void cumulativeAckReleasesTheReplayBuffer() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        for (int i = 0; i < 10; i++) {
            s.send("n", Payload.EMPTY);
        }
        for (int i = 0; i < 10; i++) {
            c.next("msg");
        }
        c.send("{\"t\":\"ack\",\"seq\":6}");
        c.onIo(() -> { });
        assertThat(tether.stats().pendingAcks()).isEqualTo(4);
        c.send("{\"t\":\"pong\",\"ack\":10}");
        c.onIo(() -> { });
        assertThat(tether.stats().pendingAcks()).isZero();
    }

    @Test
    void fullReplayBufferStopsTheDrainUntilAcked() throws Exception {
        start(TetherConfig.builder().replayBufferMessages(4));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        for (int i = 0; i < 6; i++) {
            s.send("n", Payload.EMPTY);
        }
        for (int i = 1; i <= 4; i++) {
            assertThat(c.next("msg").path("seq").asLong()).isEqualTo(i);
        }
        c.onIo(() -> { });
        assertThat(c.received).isEmpty();
        assertThat(tether.stats().queued()).isEqualTo(2);
        c.send("{\"t\":\"ack\",\"seq\":4}");
        assertThat(c.next("msg").path("seq").asLong()).isEqualTo(5);
        assertThat(c.next("msg").path("seq").asLong()).isEqualTo(6);
    }

    @Test
    void ackForAMessageNeverSentClosesWithInvalidSequence() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"ack\",\"seq\":5}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
    }

    @Test
    void ackGoingBackwardsClosesWithInvalidSequence() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        s.send("a", Payload.EMPTY);
        s.send("b", Payload.EMPTY);
        c.next("msg");
        c.next("msg");
        c.send("{\"t\":\"ack\",\"seq\":2}");
        c.send("{\"t\":\"ack\",\"seq\":1}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
    }

    @Test
    void clientMessagesResentAfterResumeAreDeduplicatedBySequenceNumber() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        first.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":1}");
        first.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"m\",\"d\":2}");
        first.drop(); // the client never saw an ack for 1 and 2
        first.awaitClose();
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 0));
        assertThat(second.next("welcome").path("lastClientSeq").asLong()).isEqualTo(2);
        // A naive client resends everything unacknowledged; the handler still runs once each.
        second.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":1}");
        second.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"m\",\"d\":2}");
        second.send("{\"t\":\"msg\",\"seq\":3,\"e\":\"m\",\"d\":3}");
        for (int i = 1; i <= 3; i++) {
            Message m = messages.poll(10, TimeUnit.SECONDS);
            assertThat(m).isNotNull();
            assertThat(((Payload.Json) m.payload()).value().asInt()).isEqualTo(i);
        }
        second.onIo(() -> { });
        assertThat(messages).isEmpty();
        assertThat(tether.stats().duplicatesIn()).isEqualTo(2);
        assertThat(second.closeCode).isNotDone();
    }

    @Test
    void clientSequenceNumberGoingBackwardsOnOneConnectionClosesWithInvalidSequence() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\"}");
        c.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"m\"}");
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\"}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
    }

    @Test
    void clientSequenceNumberThatSkipsClosesWithInvalidSequence() {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"m\"}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
    }

    @Test
    void serverAcknowledgesClientMessagesEveryAckEvery() {
        start(TetherConfig.builder().ackEvery(3).ackDelay(Duration.ofSeconds(30)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        for (int i = 1; i <= 3; i++) {
            c.send("{\"t\":\"msg\",\"seq\":" + i + ",\"e\":\"m\"}");
        }
        assertThat(c.next("ack").path("seq").asLong()).isEqualTo(3);
    }

    @Test
    void serverAcknowledgesAfterAckDelayWhenFewerThanAckEvery() {
        start(TetherConfig.builder().ackEvery(100).ackDelay(Duration.ofMillis(20)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\"}");
        assertThat(c.next("ack").path("seq").asLong()).isEqualTo(1);
    }

    @Test
    void throwingHandlerIsCountedAndTheSessionCarriesOn() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"boom\"}");
        c.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"after\"}");
        Message m = messages.poll(10, TimeUnit.SECONDS);
        assertThat(m).isNotNull();
        assertThat(m.event()).isEqualTo("after");
        assertThat(tether.stats().handlerErrors()).isEqualTo(1);
    }

    @Test
    void clientRequestGetsTheHandlersReply() {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":1,\"rid\":9,\"e\":\"echo\",\"d\":\"hi\"}");
        JsonNode reply = c.next("reply");
        assertThat(reply.path("rid").asLong()).isEqualTo(9);
        assertThat(reply.path("d").asText()).isEqualTo("re:hi");
    }

    @Test
    void serverRequestCompletesWithTheClientsReply() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        CompletableFuture<Payload> reply = s.request("ask", Payload.text("q"), Duration.ofSeconds(10));
        JsonNode req = c.next("msg");
        assertThat(req.path("rid").asLong()).isPositive();
        c.send("{\"t\":\"reply\",\"rid\":" + req.path("rid").asLong() + ",\"d\":\"answer\"}");
        assertThat(reply.get(10, TimeUnit.SECONDS)).isEqualTo(Payload.text("answer"));
    }

    @Test
    void serverRequestFailsWithTimeoutWhenNoReply() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        CompletableFuture<Payload> reply = s.request("ask", Payload.EMPTY, Duration.ofMillis(50));
        assertThatThrownBy(() -> reply.orTimeout(10, TimeUnit.SECONDS).join())
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(RequestException.class)
                .cause().extracting(e -> ((RequestException) e).code()).isEqualTo(RequestException.TIMEOUT);
    }

    @Test
    void topicPublishReachesEverySubscriberOnceWithTheSameBytes() throws Exception {
        start(TetherConfig.builder().authorizer(Authorizer.allowAll())); // the clients subscribe themselves
        List<InMemoryConnection> clients = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
            c.hello();
            c.send("{\"t\":\"sub\",\"id\":1,\"topic\":\"room\"}");
            assertThat(c.next("ok").path("id").asLong()).isEqualTo(1);
            clients.add(c);
        }
        assertThat(tether.subscribers("room")).isEqualTo(20);
        assertThat(tether.publish("room", "news", Payload.text("hello"))).isEqualTo(20);
        for (InMemoryConnection c : clients) {
            JsonNode m = c.next("msg");
            assertThat(m.path("topic").asText()).isEqualTo("room");
            assertThat(m.path("d").asText()).isEqualTo("hello");
            assertThat(m.path("seq").asLong()).isEqualTo(1);
        }
    }

    @Test
    void forbiddenSubscribeGetsAnErrorFrameAndTheConnectionStaysOpen() throws Exception {
        start(TetherConfig.builder().authorizer(new Authorizer() {
            @Override
            public boolean canSubscribe(Principal principal, String topic) {
                return !topic.equals("secret");
            }
        }));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        c.send("{\"t\":\"sub\",\"id\":4,\"topic\":\"secret\"}");
        JsonNode error = c.next("error");
        assertThat(error.path("id").asLong()).isEqualTo(4);
        assertThat(error.path("code").asText()).isEqualTo("forbidden");
        s.send("ok", Payload.EMPTY);
        assertThat(c.next("msg").path("e").asText()).isEqualTo("ok");
        assertThat(s.topics()).isEmpty();
        assertThat(c.closeCode).isNotDone();
    }

    @Test
    void byDefaultAClientSubscribeIsForbiddenAndTheConnectionStaysUsable() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        Session s = openedSession();
        c.send("{\"t\":\"sub\",\"id\":3,\"topic\":\"room\"}");
        JsonNode error = c.next("error");
        assertThat(error.path("id").asLong()).isEqualTo(3);
        assertThat(error.path("code").asText()).isEqualTo("forbidden");
        assertThat(s.topics()).isEmpty();
        assertThat(tether.subscribers("room")).isZero();
        assertThat(tether.publish("room", "news", Payload.text("not for you"))).isZero();
        assertThat(tether.stats().refused()).isEqualTo(1);

        // Still usable both ways, and the application may subscribe the session itself.
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"hi\"}");
        assertThat(messages.poll(10, TimeUnit.SECONDS)).extracting(Message::event).isEqualTo("hi");
        assertThat(s.subscribe("room")).isTrue();
        assertThat(tether.publish("room", "news", Payload.text("for you"))).isEqualTo(1);
        JsonNode m = c.next("msg");
        assertThat(m.path("topic").asText()).isEqualTo("room");
        assertThat(m.path("d").asText()).isEqualTo("for you");
        assertThat(c.closeCode).isNotDone();
    }

    @Test
    void byDefaultAClientPublishIsForbiddenAndReachesNoOne() throws Exception {
        start();
        InMemoryConnection publisher = InMemoryConnection.open(tether, MALLORY);
        publisher.hello();
        openedSession();
        InMemoryConnection subscriber = InMemoryConnection.open(tether, ALICE);
        subscriber.hello();
        Session sub = openedSession();
        assertThat(sub.subscribe("room")).isTrue(); // the application's own subscription

        publisher.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"news\",\"topic\":\"room\",\"d\":\"forged\"}");
        // The refused reliable message still took its number: it is acknowledged (in either
        // order with the error: an owed ack may share the error's write), never resent.
        JsonNode reliable = null;
        long acked = 0;
        while (reliable == null || acked < 1) {
            JsonNode f = publisher.next(x -> x.path("t").asText().matches("error|ack"), "error or ack");
            if (f.path("t").asText().equals("error")) {
                reliable = f;
            } else {
                acked = f.path("seq").asLong();
            }
        }
        assertThat(reliable.path("seq").asLong()).isEqualTo(1);
        assertThat(reliable.path("code").asText()).isEqualTo("forbidden");
        assertThat(acked).isEqualTo(1);
        publisher.send("{\"t\":\"msg\",\"e\":\"news\",\"topic\":\"room\",\"d\":\"forged too\"}");
        JsonNode volatileOne = publisher.next("error");
        assertThat(volatileOne.path("seq").asLong()).isZero();
        assertThat(volatileOne.path("code").asText()).isEqualTo("forbidden");
        assertThat(tether.stats().refused()).isEqualTo(2);

        // The application's publish is the first and only thing the subscriber gets.
        assertThat(tether.publish("room", "news", Payload.text("real"))).isEqualTo(1);
        JsonNode m = subscriber.next("msg");
        assertThat(m.path("seq").asLong()).isEqualTo(1);
        assertThat(m.path("d").asText()).isEqualTo("real");
        assertThat(messages).isEmpty(); // nor was anything handed to the handler

        // The publisher carries on: its next message reaches the handler.
        publisher.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"hi\"}");
        assertThat(messages.poll(10, TimeUnit.SECONDS)).extracting(Message::event).isEqualTo("hi");
        assertThat(publisher.closeCode).isNotDone();
        assertThat(subscriber.received).noneMatch(f -> f.path("t").asText().equals("msg"));
    }

    @Test
    void allowAllLetsClientsSubscribeAndPublish() throws Exception {
        start(TetherConfig.builder().authorizer(Authorizer.allowAll()));
        InMemoryConnection subscriber = InMemoryConnection.open(tether, ALICE);
        subscriber.hello();
        subscriber.send("{\"t\":\"sub\",\"id\":1,\"topic\":\"room\"}");
        assertThat(subscriber.next("ok").path("id").asLong()).isEqualTo(1);
        InMemoryConnection publisher = InMemoryConnection.open(tether, MALLORY);
        publisher.hello();
        publisher.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"news\",\"topic\":\"room\",\"d\":\"hello\"}");
        JsonNode m = subscriber.next("msg");
        assertThat(m.path("topic").asText()).isEqualTo("room");
        assertThat(m.path("d").asText()).isEqualTo("hello");
        assertThat(tether.stats().refused()).isZero();
    }

    @Test
    void resumeReplaysEverythingAfterTheLastReceived() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        for (int i = 1; i <= 5; i++) {
            s.send("n", Payload.text("m" + i));
        }
        for (int i = 1; i <= 5; i++) {
            first.next("msg");
        }
        first.drop();
        first.awaitClose();
        s.send("n", Payload.text("m6")); // sent while detached
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"" + welcome.path("token").asText() + "\",\"last\":2}");
        JsonNode resumed = second.next("welcome");
        assertThat(resumed.path("resumed").asBoolean()).isTrue();
        assertThat(resumed.path("sid").asText()).isEqualTo(s.id());
        for (int i = 3; i <= 6; i++) {
            JsonNode m = second.next("msg");
            assertThat(m.path("seq").asLong()).isEqualTo(i);
            assertThat(m.path("d").asText()).isEqualTo("m" + i);
        }
        assertThat(tether.stats().replayed()).isEqualTo(3);
        assertThat(tether.stats().resumed()).isEqualTo(1);
    }

    @Test
    void resumeWhileTheOldConnectionIsOpenTakesItOver() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"" + welcome.path("token").asText() + "\",\"last\":0}");
        assertThat(second.next("welcome").path("resumed").asBoolean()).isTrue();
        assertThat(first.awaitClose()).isEqualTo(CloseCodes.SESSION_TAKEN_OVER);
        s.send("after", Payload.EMPTY);
        assertThat(second.next("msg").path("e").asText()).isEqualTo("after");
        assertThat(first.received.stream().filter(f -> f.path("t").asText().equals("msg"))).isEmpty();
    }

    @Test
    void resumeWithAnotherPrincipalIsRefused() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        InMemoryConnection thief = InMemoryConnection.open(tether, MALLORY);
        thief.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"" + welcome.path("token").asText() + "\",\"last\":0}");
        assertThat(thief.awaitClose()).isEqualTo(CloseCodes.FORBIDDEN);
        s.send("still-mine", Payload.EMPTY);
        assertThat(first.next("msg").path("e").asText()).isEqualTo("still-mine");
    }

    @Test
    void resumeWithAWrongTokenIsRefused() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        InMemoryConnection other = InMemoryConnection.open(tether, ALICE);
        other.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"last\":0}");
        assertThat(other.awaitClose()).isEqualTo(CloseCodes.FORBIDDEN);
        assertThat(first.closeCode).isNotDone();
    }

    @Test
    void resumeOfAnUnknownSessionStartsAFreshOneAndSaysSo() {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"nope\",\"token\":\"nope\",\"last\":7}");
        JsonNode welcome = c.next("welcome");
        assertThat(welcome.path("resumed").asBoolean()).isFalse();
        assertThat(welcome.path("gap").path("reason").asText()).isEqualTo("unknown");
        assertThat(tether.stats().gaps()).isEqualTo(1);
    }

    @Test
    void resumeOfANeverIssuedSessionIdWithThisServersPrefixIsUnknownNotExpired() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        String sid = first.hello().path("sid").asText();
        openedSession();
        String prefix = sid.substring(0, sid.indexOf('.') + 1);
        String body = sid.substring(prefix.length());
        // Same prefix, same length, one character of the body changed: never issued.
        char last = body.charAt(body.length() - 1);
        String forged = prefix + body.substring(0, body.length() - 1) + (last == 'A' ? 'B' : 'A');
        for (String never : List.of(forged, prefix + "AAAAAAAAAAAAAAAAAAAA", prefix + "not-base64!", prefix)) {
            InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
            c.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + never + "\",\"token\":\"x\",\"last\":0}");
            JsonNode welcome = c.next("welcome");
            assertThat(welcome.path("resumed").asBoolean()).isFalse();
            assertThat(welcome.path("gap").path("reason").asText()).as(never).isEqualTo("unknown");
        }
    }

    @Test
    void detachedSessionExpiresAfterTheRetentionWindow() throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        tether = Tether.create(TetherConfig.builder().sessionRetention(Duration.ofMillis(50))
                .errorHandler((c, e) -> { }).drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onClose(Session session, int code, String reason) {
                        closed.countDown();
                    }
                });
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.drop();
        assertThat(closed.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(tether.stats().sessions()).isZero();
    }

    @Test
    void silentClientIsClosedByHeartbeatTimeout() {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(100)).heartbeatTimeout(Duration.ofMillis(50)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.next("ping");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.HEARTBEAT_TIMEOUT);
    }

    @Test
    void aPingCarriesNoAckUntilAClientMessageWasProcessedThenItsCumulativeAck() {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(100)).heartbeatTimeout(Duration.ofMillis(100)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        JsonNode first = c.next("ping");
        assertThat(first.has("ack")).as("PROTOCOL.md §2: integers are 1..2^53-1; 0 is left out").isFalse();
        c.send("{\"t\":\"pong\"}");
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"x\"}");
        c.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"x\"}");
        JsonNode ping = c.next("ping");
        while (!ping.has("ack")) { // a ping already on its way when the messages arrived
            c.send("{\"t\":\"pong\"}");
            ping = c.next("ping");
        }
        assertThat(ping.path("ack").asLong()).isEqualTo(2);
    }

    @Test
    void answeringPingsKeepsTheConnectionOpen() {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(60)).heartbeatTimeout(Duration.ofMillis(30)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        for (int i = 0; i < 5; i++) {
            c.next("ping");
            c.send("{\"t\":\"pong\"}");
        }
        assertThat(c.closeCode).isNotDone();
    }

    @Test
    void hubCloseClosesConnectionsWithServerRestart() {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        tether.close();
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.SERVER_RESTART);
    }

    @Test
    void resumeOfAnExpiredSessionStartsAFreshOneWithReasonExpired() throws Exception {
        start(TetherConfig.builder().sessionRetention(Duration.ofMillis(30)));
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        openedSession();
        first.drop();
        first.awaitClose();
        awaitSessions(0); // the old one expired
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 0));
        JsonNode fresh = second.next("welcome");
        assertThat(fresh.path("resumed").asBoolean()).isFalse();
        assertThat(fresh.path("gap").path("reason").asText()).isEqualTo("expired");
        assertThat(fresh.path("sid").asText()).isNotEqualTo(welcome.path("sid").asText());
    }

    @Test
    void resumeOfASessionTheClientEndedIsRefused() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        first.onIo(() -> { });
        first.close(CloseCodes.NORMAL, "bye"); // a transport reports the client's close like this
        first.awaitClose();
        awaitSessions(0);
        assertThat(s.isClosed()).isTrue();
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 0));
        assertThat(second.awaitClose()).isEqualTo(CloseCodes.SESSION_CLOSED);
    }

    @Test
    void overflowWhileDetachedIsReportedAsOneGapAfterWhatWasQueuedOnBothSides() throws Exception {
        BlockingQueue<String> serverGaps = new LinkedBlockingQueue<>();
        tether = Tether.create(TetherConfig.builder().outboundQueueCapacity(8).volatileQueueLimit(0)
                .errorHandler((c, e) -> { }).drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        opened.add(session);
                    }

                    @Override
                    public void onGap(Session session, long fromSeq, long toSeq, String reason) {
                        serverGaps.add(fromSeq + ".." + toSeq + ":" + reason);
                    }
                });
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        s.send("n", Payload.text("1"));
        assertThat(first.next("msg").path("seq").asLong()).isEqualTo(1);
        first.drop();
        first.awaitClose();
        int queued = 0;
        int lost = 0;
        for (int i = 2; i <= 40; i++) {
            if (s.send("n", Payload.text(Integer.toString(i))) == SendResult.ENQUEUED) {
                queued++;
            } else {
                lost++;
            }
        }
        assertThat(queued).isBetween(8, 16); // JCTools rounds the capacity up to a power of two
        assertThat(queued + lost).isEqualTo(39);

        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 1));
        assertThat(second.next("welcome").path("resumed").asBoolean()).isTrue();
        for (int i = 0; i < queued; i++) {
            JsonNode m = second.next("msg");
            assertThat(m.path("seq").asLong()).isEqualTo(2 + i);
            assertThat(m.path("d").asText()).isEqualTo(Integer.toString(2 + i)); // the oldest come first
        }
        JsonNode gap = second.next("gap");
        long from = 2 + queued;
        long to = from + lost - 1;
        assertThat(gap.path("from").asLong()).isEqualTo(from);
        assertThat(gap.path("to").asLong()).isEqualTo(to);
        assertThat(gap.path("reason").asText()).isEqualTo("overflow");
        assertThat(serverGaps.poll(10, TimeUnit.SECONDS)).isEqualTo(from + ".." + to + ":overflow");
        s.send("n", Payload.text("after"));
        JsonNode after = second.next("msg");
        assertThat(after.path("seq").asLong()).isEqualTo(to + 1);
        assertThat(after.path("d").asText()).isEqualTo("after");
        assertThat(tether.stats().gaps()).isEqualTo(1);
        assertThat(tether.stats().reliableOverflowed()).isEqualTo(lost);
    }

    @Test
    void aSlowConsumerIsClosedAtTheFirstLossAndGetsTheGapInPositionAfterItsResume() throws Exception {
        start(TetherConfig.builder().replayBufferMessages(4).outboundQueueCapacity(8).volatileQueueLimit(0));
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        int enqueued = 0;
        SendResult result;
        while ((result = s.send("n", Payload.text(Integer.toString(enqueued + 1)))) == SendResult.ENQUEUED) {
            enqueued++; // 4 go out and wait for an ack that never comes; the queue fills behind them
        }
        assertThat(result).isEqualTo(SendResult.OVERFLOW);
        int lost = 1;
        for (; lost < 4; lost++) {
            assertThat(s.send("n", Payload.EMPTY)).as("joins the gap").isEqualTo(SendResult.OVERFLOW);
        }
        assertThat(first.awaitClose()).isEqualTo(CloseCodes.SLOW_CONSUMER);
        List<JsonNode> beforeClose = new java.util.ArrayList<>(first.received);
        assertThat(beforeClose).filteredOn(f -> f.path("t").asText().equals("msg")).hasSize(4);
        assertThat(beforeClose).as("the gap follows what was queued, which this connection never took")
                .noneMatch(f -> f.path("t").asText().equals("gap"));

        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 4));
        JsonNode resumed = second.next("welcome");
        assertThat(resumed.path("resumed").asBoolean()).isTrue();
        assertThat(resumed.has("gap")).as("nothing was lost before 'last'").isFalse();
        for (int seq = 5; seq <= enqueued; seq++) {
            JsonNode m = second.next("msg");
            assertThat(m.path("seq").asLong()).isEqualTo(seq);
            assertThat(m.path("d").asText()).isEqualTo(Integer.toString(seq));
            second.send("{\"t\":\"ack\",\"seq\":" + seq + "}");
        }
        JsonNode gap = second.next("gap");
        assertThat(gap.path("from").asLong()).isEqualTo(enqueued + 1);
        assertThat(gap.path("to").asLong()).isEqualTo(enqueued + lost);
        assertThat(gap.path("reason").asText()).isEqualTo("overflow");
        s.send("n", Payload.text("after"));
        assertThat(second.next("msg").path("seq").asLong()).isEqualTo(enqueued + lost + 1);
    }

    @Test
    void gapIsReplayedInPositionToAClientThatMissedIt() throws Exception {
        start(TetherConfig.builder().outboundQueueCapacity(8).volatileQueueLimit(0));
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        first.drop();
        first.awaitClose();
        int queued = 0;
        for (int i = 1; i <= 30; i++) {
            if (s.send("n", Payload.text(Integer.toString(i))) == SendResult.ENQUEUED) {
                queued++;
            }
        }
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 0));
        second.next("welcome");
        for (int i = 0; i < queued; i++) {
            second.next("msg");
        }
        JsonNode gap = second.next("gap");
        second.drop(); // lost before the client processed anything
        second.awaitClose();
        InMemoryConnection third = InMemoryConnection.open(tether, ALICE);
        third.send(resumeHello(welcome, 0));
        third.next("welcome");
        for (int i = 1; i <= queued; i++) {
            assertThat(third.next("msg").path("seq").asLong()).isEqualTo(i);
        }
        assertThat(third.next("gap")).isEqualTo(gap);
    }

    @Test
    void failedResumeTellsTheServerApplicationToo() throws Exception {
        BlockingQueue<String> failed = new LinkedBlockingQueue<>();
        tether = Tether.create(TetherConfig.builder().errorHandler((c, e) -> { }).drainTimeout(Duration.ZERO).build(), new SessionHandler() {
            @Override
            public void onResumeFailed(Session session, String previousSessionId, String reason) {
                failed.add(previousSessionId + ":" + reason + ":" + session.id());
            }
        });
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"gone\",\"token\":\"x\",\"last\":3}");
        JsonNode welcome = c.next("welcome");
        assertThat(failed.poll(10, TimeUnit.SECONDS)).isEqualTo("gone:unknown:" + welcome.path("sid").asText());
    }

    @Test
    void resumeWithZeroMessagesReceivedLosesNothing() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        first.drop();
        first.awaitClose();
        s.send("n", Payload.text("while away"));
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 0));
        JsonNode resumed = second.next("welcome");
        assertThat(resumed.path("resumed").asBoolean()).isTrue();
        assertThat(resumed.has("gap")).isFalse();
        assertThat(second.next("msg").path("seq").asLong()).isEqualTo(1);
    }

    @Test
    void resumeAfterSeveralIdleHeartbeatIntervalsLosesNothing() throws Exception {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(40)).heartbeatTimeout(Duration.ofMillis(20)));
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        s.send("n", Payload.text("1"));
        assertThat(first.next("msg").path("seq").asLong()).isEqualTo(1);
        for (int i = 0; i < 5; i++) { // idle, but alive: five heartbeats answered
            first.next("ping");
            first.send("{\"t\":\"pong\",\"ack\":1}");
        }
        first.drop();
        first.awaitClose();
        s.send("n", Payload.text("2"));
        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send(resumeHello(welcome, 1));
        assertThat(second.next("welcome").path("resumed").asBoolean()).isTrue();
        JsonNode m = second.next("msg");
        assertThat(m.path("seq").asLong()).isEqualTo(2);
        assertThat(m.path("d").asText()).isEqualTo("2");
    }

    @Test
    void racingResumesLeaveExactlyOneWinnerAndNoMessageGoesToBoth() throws Exception {
        start();
        InMemoryConnection original = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = original.hello();
        Session s = openedSession();
        original.drop();
        original.awaitClose();
        long last = 0;
        for (int round = 0; round < 100; round++) {
            InMemoryConnection a = InMemoryConnection.open(tether, ALICE);
            InMemoryConnection b = InMemoryConnection.open(tether, ALICE);
            String hello = resumeHello(welcome, last);
            a.send(hello);
            b.send(hello);
            // Whoever resumed last holds the session; the other is closed as taken over.
            try {
                CompletableFuture.anyOf(a.closeCode, b.closeCode).get(3, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("round " + round + " a=" + a.received + " b=" + b.received);
            }
            InMemoryConnection winner = a.closeCode.isDone() ? b : a;
            InMemoryConnection loser = winner == a ? b : a;
            assertThat(loser.awaitClose()).isEqualTo(CloseCodes.SESSION_TAKEN_OVER);
            String text = "round " + round;
            assertThat(winner.next("welcome").path("resumed").asBoolean()).isTrue();
            assertThat(s.send("r", Payload.text(text))).isEqualTo(SendResult.ENQUEUED);
            JsonNode m = winner.next(f -> f.path("t").asText().equals("msg")
                    && f.path("d").asText().equals(text), text);
            last = m.path("seq").asLong();
            assertThat(winner.closeCode).isNotDone();
            winner.onIo(() -> { });
            assertThat(loser.received.stream().filter(f -> f.path("d").asText().equals(text))).isEmpty();
            winner.drop();
            winner.awaitClose();
        }
    }

    @Test
    void aStaleResumeCannotStealTheSessionFromANewerOne() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        first.drop();
        first.awaitClose();
        String sid = welcome.path("sid").asText();
        String token = welcome.path("token").asText();
        InMemoryConnection newer = InMemoryConnection.open(tether, ALICE);
        newer.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + sid + "\",\"token\":\"" + token + "\",\"last\":0,\"attempt\":2}");
        assertThat(newer.next("welcome").path("resumed").asBoolean()).isTrue();
        // The hello of attempt 1 arrives late, from a connection the client already gave up on.
        InMemoryConnection stale = InMemoryConnection.open(tether, ALICE);
        stale.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + sid + "\",\"token\":\"" + token + "\",\"last\":0,\"attempt\":1}");
        assertThat(stale.awaitClose()).isEqualTo(CloseCodes.SESSION_TAKEN_OVER);
        s.send("still", Payload.EMPTY);
        assertThat(newer.next("msg").path("e").asText()).isEqualTo("still");
        assertThat(newer.closeCode).isNotDone();
    }

    @Test
    void admissionStopsAtMaxConnectionsAndFreesSlotsWhenConnectionsClose() {
        start(TetherConfig.builder().maxConnections(3).admissionRetryAfter(Duration.ofSeconds(7)));
        List<InMemoryConnection> open = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            open.add(InMemoryConnection.open(tether, ALICE));
        }
        assertThat(TransportHub.of(tether).admit()).isEqualTo(7);
        assertThat(tether.stats().refused()).isEqualTo(1);
        open.get(0).drop();
        open.get(0).awaitClose();
        open.get(0).onIo(() -> { });
        assertThat(TransportHub.of(tether).admit()).isEqualTo(TransportHub.ADMITTED);
        TransportHub.of(tether).cancelAdmission();
        assertThat(tether.stats().connections()).isEqualTo(2);
    }

    @Test
    void admissionIsRateLimitedPerSecondAfterABurstOfAQuarterSecondsWorthByDefault() {
        long[] now = {0};
        tether = new Hub(TetherConfig.builder().maxHandshakesPerSecond(40).drainTimeout(Duration.ZERO).build(),
                handler, () -> now[0]);
        assertThat(admitted(100)).as("the default burst: 40 / 4").isEqualTo(10);
        assertThat(tether.stats().refused()).isEqualTo(90);
        now[0] += TimeUnit.MILLISECONDS.toNanos(110); // 4.4 tokens at 40/s
        assertThat(admitted(100)).isEqualTo(4);
        now[0] += TimeUnit.MINUTES.toNanos(1); // a quiet minute refills only up to the burst
        assertThat(admitted(100)).isEqualTo(10);
    }

    @Test
    void admissionAdmitsTheConfiguredBurstAtOnceThenTheRate() {
        long[] now = {0};
        tether = new Hub(TetherConfig.builder().maxHandshakesPerSecond(1000).handshakeBurst(3)
                .drainTimeout(Duration.ZERO).build(), handler, () -> now[0]);
        assertThat(admitted(10)).isEqualTo(3);
        now[0] += TimeUnit.MILLISECONDS.toNanos(5);
        assertThat(admitted(10)).isEqualTo(3); // 5 ms at 1000/s, capped at the burst
        now[0] += TimeUnit.MICROSECONDS.toNanos(1500);
        assertThat(admitted(10)).isEqualTo(1);
    }

    @Test
    void aHandshakeOverTheRateWaitsForItsTurnHoldingItsSlotUntilTheLongestDelay() {
        long[] now = {0};
        List<Long> delays = new CopyOnWriteArrayList<>();
        MetricsListener metrics = new MetricsListener() {
            @Override
            public void handshakeDelayed(long nanos) {
                delays.add(nanos);
            }
        };
        tether = new Hub(TetherConfig.builder().maxHandshakesPerSecond(100).handshakeBurst(2)
                .handshakeMaxDelay(Duration.ofMillis(50)).metrics(metrics).drainTimeout(Duration.ZERO).build(),
                handler, () -> now[0]);
        TransportHub hub = TransportHub.of(tether);
        assertThat(hub.admitOrDelay()).isZero();
        assertThat(hub.admitOrDelay()).isZero();
        for (int turn = 1; turn <= 5; turn++) {
            assertThat(hub.admitOrDelay()).as("turn %d, 10 ms apart", turn).isEqualTo(TimeUnit.MILLISECONDS.toNanos(10) * turn);
        }
        assertThat(hub.admitOrDelay()).as("beyond 50 ms: refused, Retry-After 1").isEqualTo(-1);
        assertThat(hub.admit()).as("admit() never waits").isEqualTo(1);
        assertThat(tether.stats().connections()).as("the waiting ones hold their slots").isEqualTo(7);
        assertThat(tether.stats().refused()).isEqualTo(2);
        assertThat(delays).containsExactly(10_000_000L, 20_000_000L, 30_000_000L, 40_000_000L, 50_000_000L);
    }

    @Test
    void withNoDelayAHandshakeOverTheRateIsRefusedAtOnce() {
        long[] now = {0};
        tether = new Hub(TetherConfig.builder().maxHandshakesPerSecond(100).handshakeBurst(1)
                .handshakeMaxDelay(Duration.ZERO).drainTimeout(Duration.ZERO).build(), handler, () -> now[0]);
        assertThat(TransportHub.of(tether).admitOrDelay()).isZero();
        assertThat(TransportHub.of(tether).admitOrDelay()).isEqualTo(-1);
    }

    /** Asks admission {@code attempts} times; returns how many were admitted (their slots given back). */
    private int admitted(int attempts) {
        int admitted = 0;
        for (int i = 0; i < attempts; i++) {
            int answer = TransportHub.of(tether).admit();
            if (answer == TransportHub.ADMITTED) {
                admitted++;
                TransportHub.of(tether).cancelAdmission();
            } else {
                assertThat(answer).as("Retry-After of a refused handshake, seconds").isEqualTo(1);
            }
        }
        return admitted;
    }

    @Test
    void floodAboveTheInboundRateIsClosedWithRateLimitedAndABystanderCarriesOn() throws Exception {
        start(TetherConfig.builder().inboundRateLimit(10, 20));
        InMemoryConnection flood = InMemoryConnection.open(tether, ALICE);
        flood.hello();
        InMemoryConnection bystander = InMemoryConnection.open(tether, ALICE);
        String sid = bystander.hello().path("sid").asText();
        for (int i = 1; i <= 100; i++) {
            flood.send("{\"t\":\"msg\",\"seq\":" + i + ",\"e\":\"m\"}");
        }
        assertThat(flood.awaitClose()).isEqualTo(CloseCodes.RATE_LIMITED);
        bystander.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"calm\"}");
        tether.session(sid).orElseThrow().send("fine", Payload.EMPTY);
        assertThat(bystander.next("msg").path("e").asText()).isEqualTo("fine");
        assertThat(bystander.closeCode).isNotDone();
        assertThat(tether.stats().refused()).isEqualTo(1);
    }

    @Test
    void closeTellsClientsToReconnectWithinTheWindowThenClosesWithServerRestart() throws Exception {
        tether = Tether.create(TetherConfig.builder().errorHandler((c, e) -> { })
                .drainTimeout(Duration.ofSeconds(5))
                .drainReconnectWindow(Duration.ofMillis(100), Duration.ofMillis(900))
                .build(), handler);
        List<InMemoryConnection> clients = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
            c.hello();
            clients.add(c);
        }
        Session first = openedSession();
        first.send("last words", Payload.EMPTY);
        CompletableFuture<Void> closing = CompletableFuture.runAsync(tether::close);
        java.util.Set<Long> delays = new java.util.HashSet<>();
        int delivered = 0;
        for (InMemoryConnection c : clients) {
            JsonNode notice = c.next(f -> f.path("t").asText().equals("reconnect")
                    || f.path("t").asText().equals("msg"), "reconnect");
            if (notice.path("t").asText().equals("msg")) {
                delivered++;
                c.send("{\"t\":\"ack\",\"seq\":" + notice.path("seq").asLong() + "}");
                notice = c.next("reconnect");
            }
            long after = notice.path("afterMs").asLong();
            assertThat(after).isBetween(100L, 900L);
            delays.add(after);
        }
        closing.get(10, TimeUnit.SECONDS);
        for (InMemoryConnection c : clients) {
            assertThat(c.awaitClose()).isEqualTo(CloseCodes.SERVER_RESTART);
        }
        assertThat(delays).as("spread, not lock-step").hasSizeGreaterThan(10);
        assertThat(delivered).as("the message queued before close").isEqualTo(1);
        assertThat(TransportHub.of(tether).admit()).isPositive();
    }

    @Test
    void heartbeatsOfConnectionsThatArriveTogetherAreSpreadOut() {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(800)).heartbeatTimeout(Duration.ofMillis(400)));
        List<InMemoryConnection> clients = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
            c.hello();
            clients.add(c);
        }
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (InMemoryConnection c : clients) {
            c.next("ping");
            long at = c.pingTimes.peek();
            first = Math.min(first, at);
            last = Math.max(last, at);
        }
        // Each first ping is due at a random point in [interval/2, interval]: not all at once.
        assertThat(TimeUnit.NANOSECONDS.toMillis(last - first)).as("spread of first pings (ms)").isGreaterThan(100);
    }

    @Test
    void theAckLeavesWithTheReplyRatherThanAfterTheAckDelay() {
        start(TetherConfig.builder().ackEvery(100).ackDelay(Duration.ofSeconds(30)));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":1,\"rid\":1,\"e\":\"echo\",\"d\":\"x\"}");
        assertThat(c.next("reply").path("rid").asLong()).isEqualTo(1);
        // With a 30 s ack delay, only the reply's flush can have carried it.
        assertThat(c.next("ack").path("seq").asLong()).isEqualTo(1);
    }

    @Test
    void handlersCanRunOnTheIoThreadWhenTheHostAsks() {
        start(TetherConfig.builder().handlerExecutor(Runnable::run));
        InMemoryConnection c = InMemoryConnection.open(tether, ALICE);
        c.hello();
        c.send("{\"t\":\"msg\",\"seq\":1,\"rid\":1,\"e\":\"echo\",\"d\":\"io\"}");
        assertThat(c.next("reply").path("d").asText()).isEqualTo("re:io");
    }

    private void awaitSessions(long expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (tether.stats().sessions() != expected) {
            assertThat(System.nanoTime()).as("sessions == " + expected).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    private static String resumeHello(JsonNode welcome, long last) {
        return "{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"" + welcome.path("token").asText() + "\",\"last\":" + last + "}";
    }

    @Test
    void anonymousAuthenticatorIsTheDefault() {
        assertThat(TetherConfig.defaults().authenticator()).isSameAs(Authenticator.ANONYMOUS);
    }
}
