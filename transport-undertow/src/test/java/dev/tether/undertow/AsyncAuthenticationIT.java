package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.MetricsListener;
import dev.tether.testing.Await;
import dev.tether.undertow.internal.PendingHandshake;
import io.undertow.server.HttpServerExchange;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An authenticator that answers later, over real sockets: the handshake waits without a thread,
 * is answered with whatever the stage says when it completes, on another thread, or with 503 when
 * it does not complete in time; a client that leaves while it waits gives its admission slot back;
 * waiting handshakes count against {@code maxConnections}. The test completes every stage itself.
 */
class AsyncAuthenticationIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Long enough never to pass in a test that does not wait for it, even on a loaded machine. */
    private static final Duration NO_TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HeldAuthenticator held = new HeldAuthenticator();
    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> refusals = new LinkedBlockingQueue<>();
    private final List<AutoCloseable> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    private void start(UnaryOperator<TetherConfig.Builder> settings) {
        tether = Tether.create(settings.apply(TetherConfig.builder()
                .authenticationTimeout(NO_TIMEOUT)
                .admissionRetryAfter(Duration.ofSeconds(3))
                .errorHandler((context, error) -> errors.add(context.equals("authenticate") ? error
                        : new AssertionError("reported under " + context, error)))
                .metrics(new MetricsListener() {
                    @Override
                    public void refused(String what) {
                        refusals.add(what);
                    }
                })
                .authenticator(held)).build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        opened.add(session);
                    }
                });
        // One I/O thread, so that one connection's round trip orders what another's thread read.
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .ioThreads(1).build());
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
        if (tether != null) {
            tether.close();
            server.close();
        }
    }

    private RawWebSocket.PendingUpgrade upgrade(String token) throws Exception {
        RawWebSocket.PendingUpgrade pending = RawWebSocket.startUpgrade(server.address(), "/tether",
                Map.of("Authorization", "Bearer " + token));
        clients.add(pending);
        return pending;
    }

    private static JsonNode hello(RawWebSocket ws) throws Exception {
        ws.sendText("{\"t\":\"hello\",\"v\":1}");
        JsonNode welcome = JSON.readTree(ws.readText());
        assertThat(welcome.path("t").asText()).isEqualTo("welcome");
        return welcome;
    }

    @Test
    void handshakeWaitsForAnAnswerFromAnotherThreadThenWorksAsThatPrincipal() throws Exception {
        start(b -> b);
        RawWebSocket.PendingUpgrade pending = upgrade("alice-token");
        HeldAuthenticator.Call call = held.next();
        assertThat(call.token()).isEqualTo("alice-token");
        assertThat(tether.stats().connections()).as("the waiting handshake holds its slot").isEqualTo(1);

        call.answerElsewhere(AuthResult.accept(() -> "alice"));

        RawWebSocket ws = pending.upgraded();
        clients.add(ws);
        assertThatThrownBy(() -> call.request().header("Authorization"))
                .as("the request is cut off once authenticate returns")
                .isInstanceOf(IllegalStateException.class);
        String sid = hello(ws).path("sid").asText();
        Session session = opened.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(session).isNotNull();
        assertThat(session.principal().getName()).isEqualTo("alice");
        assertThat(session.id()).isEqualTo(sid);
        session.send("news", dev.tether.core.Payload.text("after a slow check"));
        assertThat(JSON.readTree(ws.readText()).path("d").asText()).isEqualTo("after a slow check");
        assertThat(tether.stats().connections()).isEqualTo(1);
        assertThat(errors).isEmpty();
    }

    @Test
    void bytesAClientSendsBeforeItsAnswerAreKeptForTheWebSocket() throws Exception {
        start(b -> b);
        RawWebSocket.PendingUpgrade eager = upgrade("eager");
        HeldAuthenticator.Call call = held.next();
        eager.sendEarly(RawWebSocket.frame(true, 0, RawWebSocket.OP_TEXT,
                "{\"t\":\"hello\",\"v\":1}".getBytes(StandardCharsets.UTF_8)));
        // A whole handshake on the same (only) I/O thread: by its end the early frame has been read.
        RawWebSocket.PendingUpgrade other = upgrade("other");
        held.next().answerElsewhere(AuthResult.forbidden("Not you."));
        assertThat(other.response().status()).isEqualTo(403);
        call.answerElsewhere(AuthResult.accept(() -> "eager"));

        RawWebSocket ws = eager.upgraded();
        clients.add(ws);
        assertThat(JSON.readTree(ws.readText()).path("t").asText()).isEqualTo("welcome");
        assertThat(opened.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).principal().getName()).isEqualTo("eager");
    }

    @Test
    void stageThatFailsOrCompletesWithNullIsReportedOnceAndAnswered401() throws Exception {
        start(b -> b);
        RawWebSocket.PendingUpgrade failing = upgrade("a");
        HeldAuthenticator.Call first = held.next();
        IllegalStateException boom = new IllegalStateException("key set unreachable");
        CompletableFuture.runAsync(() -> first.answer().completeExceptionally(boom));
        RawWebSocket.HttpHead refusal = failing.response();
        assertThat(refusal.status()).isEqualTo(401);
        assertThat(refusal.header("WWW-Authenticate")).isEqualTo("Bearer");
        assertThat(refusal.body()).isEqualTo("Unauthorized.");
        assertThat(errors.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isSameAs(boom);

        RawWebSocket.PendingUpgrade nothing = upgrade("b");
        held.next().answerElsewhere(null);
        assertThat(nothing.response().status()).isEqualTo(401);
        assertThat(errors.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("null");

        assertThat(errors).as("each failure reported once").isEmpty();
        assertThat(tether.stats().connections()).isZero();
        assertThat(opened).isEmpty();
    }

    @Test
    void refusalsThatComeLaterAreAnsweredWithTheirStatusAndReason() throws Exception {
        start(b -> b);
        RawWebSocket.PendingUpgrade unauthorized = upgrade("expired");
        held.next().answerElsewhere(AuthResult.unauthorized("Token expired."));
        RawWebSocket.HttpHead head = unauthorized.response();
        assertThat(head.status()).isEqualTo(401);
        assertThat(head.header("WWW-Authenticate")).isEqualTo("Bearer");
        assertThat(head.body()).isEqualTo("Token expired.");

        RawWebSocket.PendingUpgrade forbidden = upgrade("banned");
        held.next().answerElsewhere(AuthResult.forbidden("Account suspended."));
        head = forbidden.response();
        assertThat(head.status()).isEqualTo(403);
        assertThat(head.header("WWW-Authenticate")).isNull();
        assertThat(head.body()).isEqualTo("Account suspended.");

        RawWebSocket.PendingUpgrade unavailable = upgrade("later");
        held.next().answerElsewhere(AuthResult.unavailable("Key server unreachable."));
        head = unavailable.response();
        assertThat(head.status()).isEqualTo(503);
        assertThat(head.header("Retry-After")).isEqualTo("3");
        assertThat(head.body()).isEqualTo("Key server unreachable.");

        assertThat(List.of(refusals.poll(), refusals.poll(), refusals.poll())).containsOnly("handshake");
        assertThat(tether.stats().connections()).isZero();
        assertThat(opened).isEmpty();
    }

    @Test
    void noAnswerInTimeIs503WithRetryAfterAndTheLateAnswerIsIgnored() throws Exception {
        start(b -> b.authenticationTimeout(Duration.ofMillis(250)));
        RawWebSocket.PendingUpgrade pending = upgrade("slow-7f3a9c");
        HeldAuthenticator.Call call = held.next();

        RawWebSocket.HttpHead head = pending.response();
        assertThat(head.status()).isEqualTo(503);
        assertThat(head.header("Retry-After")).isEqualTo("3");
        assertThat(head.header("Upgrade")).isNull();
        assertThat(head.body()).isEqualTo("Authentication timed out; retry later.");
        assertThat(refusals.poll()).isEqualTo("handshake");
        assertThat(tether.stats().connections()).as("the slot is given back before the answer").isZero();
        // The application may keep a stage as long as it likes; the request must not live on through it.
        assertThat(Reachability.instances(call.answer(), PendingHandshake.class)).hasSize(1);
        assertThat(Reachability.instances(call.answer(), HttpServerExchange.class)).isEmpty();
        assertThat(Reachability.strings(call.answer(), text -> text.contains("7f3a9c"))).isEmpty();

        // Whenever a stage completes, whether it still counts is decided on the completing thread.
        call.answerElsewhere(AuthResult.accept(() -> "too-late"));
        assertThat(errors).isEmpty();
        assertThat(refusals).isEmpty();
        assertThat(opened).isEmpty();
        assertThat(tether.stats().connections()).isZero();
    }

    @Test
    void clientsThatLeaveWhileTheirHandshakeWaitsGiveTheirSlotsBack() throws Exception {
        int n = 40;
        start(b -> b);
        List<RawWebSocket.PendingUpgrade> leaving = new ArrayList<>();
        List<HeldAuthenticator.Call> owed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            leaving.add(upgrade("leaver-" + i));
            owed.add(held.next());
        }
        assertThat(tether.stats().connections()).isEqualTo(n);

        for (RawWebSocket.PendingUpgrade client : leaving) {
            client.close();
        }
        Await.until(() -> tether.stats().connections() == 0, WAIT,
                "every slot given back while the stages are still pending",
                () -> "; held: " + tether.stats().connections());
        assertThat(owed).allSatisfy(call -> assertThat(call.answer()).isNotDone());
        assertThat(Reachability.instances(owed.get(0).answer(), HttpServerExchange.class)).isEmpty();

        for (HeldAuthenticator.Call call : owed) {
            call.answerElsewhere(AuthResult.accept(() -> "gone"));
        }
        assertThat(tether.stats().connections()).isZero();
        assertThat(opened).isEmpty();
        assertThat(errors).isEmpty();
        assertThat(refusals).as("leaving is not a refusal").isEmpty();

        RawWebSocket.PendingUpgrade stays = upgrade("stays");
        held.next().answerElsewhere(AuthResult.accept(() -> "stays"));
        RawWebSocket ws = stays.upgraded();
        clients.add(ws);
        hello(ws);
        assertThat(tether.stats().connections()).isEqualTo(1);
    }

    @Test
    void waitingHandshakesCountAgainstMaxConnections() throws Exception {
        int max = 5;
        int extra = 3;
        start(b -> b.maxConnections(max));
        List<RawWebSocket.PendingUpgrade> waiting = new ArrayList<>();
        List<HeldAuthenticator.Call> owed = new ArrayList<>();
        for (int i = 0; i < max; i++) {
            waiting.add(upgrade("user-" + i));
            owed.add(held.next());
        }
        for (int i = 0; i < extra; i++) {
            RawWebSocket.HttpHead head = upgrade("extra-" + i).response();
            assertThat(head.status()).isEqualTo(503);
            assertThat(head.header("Retry-After")).isEqualTo("3");
        }
        assertThat(held.isEmpty()).as("refused before authentication").isTrue();
        assertThat(owed).allSatisfy(call -> assertThat(call.answer()).isNotDone());

        for (int i = 0; i < max; i++) {
            String name = "user-" + i;
            owed.get(i).answerElsewhere(AuthResult.accept(() -> name));
        }
        for (int i = 0; i < max; i++) {
            RawWebSocket ws = waiting.get(i).upgraded();
            clients.add(ws);
            hello(ws);
        }
        assertThat(tether.stats().connections()).isEqualTo(max);
        assertThat(tether.stats().sessions()).isEqualTo(max);
        assertThat(tether.stats().refused()).isEqualTo(extra);
    }
}
