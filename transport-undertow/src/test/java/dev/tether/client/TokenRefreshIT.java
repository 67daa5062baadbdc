package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.HandshakeRequest;
import dev.tether.testing.Await;
import dev.tether.testing.LogCapture;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Credentials that expire, end to end: the Java client's token supplier against the real hub and
 * Undertow transport on loopback (PROTOCOL.md §12). Tokens are {@code "<name>:<expiry epoch ms>"};
 * the JWT module plugs into the same {@link Authenticator#refresh}.
 */
class TokenRefreshIT {

    private static final long WAIT = 30;

    /** A principal with its token's expiry as a claim. */
    record TokenPrincipal(String name, long exp) implements Principal {
        @Override
        public String getName() {
            return name;
        }
    }

    static AuthResult check(String token) {
        int colon = token.indexOf(':');
        long exp;
        try {
            exp = colon > 0 ? Long.parseLong(token.substring(colon + 1)) : -1;
        } catch (NumberFormatException e) {
            exp = -1;
        }
        if (exp < 0) {
            return AuthResult.unauthorized("Not a token.");
        }
        if (exp <= System.currentTimeMillis()) {
            return AuthResult.unauthorized("Token expired.");
        }
        return AuthResult.accept(new TokenPrincipal(token.substring(0, colon), exp), Instant.ofEpochMilli(exp));
    }

    /** Checks handshakes and refreshes alike. */
    static final Authenticator REFRESHING = new Authenticator() {
        @Override
        public CompletionStage<AuthResult> authenticate(HandshakeRequest request) {
            return CompletableFuture.completedFuture(check(request.bearerToken().orElse("")));
        }

        @Override
        public CompletionStage<AuthResult> refresh(Principal current, String token) {
            return CompletableFuture.completedFuture(check(token));
        }
    };

    /** Checks handshakes only: a refresh gets the SPI's default refusal. */
    static final Authenticator HANDSHAKE_ONLY = Authenticator.sync(request -> check(request.bearerToken().orElse("")));

    static String token(String name, long lifetimeMs) {
        return name + ":" + (System.currentTimeMillis() + lifetimeMs);
    }

    static CompletionStage<String> now(String token) {
        return CompletableFuture.completedFuture(token);
    }

    /** The payloads of the client's "n" messages, in the order the server application saw them. */
    private final List<String> serverReceived = new CopyOnWriteArrayList<>();
    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    private void startServer(Authenticator authenticator) {
        tether = Tether.create(TetherConfig.builder().authenticator(authenticator).build(), new SessionHandler() {
            @Override
            public void onMessage(Session session, Message message) {
                serverReceived.add(message.payload().asText());
                session.send("echo", message.payload());
            }
        });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        if (server != null) {
            server.close();
            tether.close();
        }
    }

    private TetherClient client(RecordingListener listener, Supplier<? extends CompletionStage<String>> tokens) {
        TetherClient client = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                .tokenSupplier(tokens)
                .listener(listener)
                .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(100))
                .ackDelay(Duration.ofMillis(20))
                .build();
        clients.add(client);
        return client;
    }

    private static List<String> numbers(int n) {
        return IntStream.rangeClosed(1, n).mapToObj(Integer::toString).collect(Collectors.toList());
    }

    private static List<String> echoes(RecordingListener listener) {
        return listener.messages.stream().map(m -> m.payload().asText()).collect(Collectors.toList());
    }

    @Test
    void aLiveSessionIsRefreshedByTheTokenSupplierWithoutLosingTheConnectionOrAMessage() throws Exception {
        startServer(REFRESHING);
        CountDownLatch threeTokens = new CountDownLatch(3); // the connect's, then two refreshes
        long[] firstExpiry = new long[1];
        RecordingListener listener = new RecordingListener();
        TetherClient client = client(listener, () -> {
            String token = token("alice", 2_000);
            if (threeTokens.getCount() == 3) {
                firstExpiry[0] = Long.parseLong(token.substring(token.indexOf(':') + 1));
            }
            threeTokens.countDown();
            return now(token);
        });
        client.connect().get(WAIT, TimeUnit.SECONDS);
        assertThat(listener.next()).isEqualTo("open:false");

        // Messages flow all along, at a pace well under the server's inbound rate limit.
        AtomicInteger sent = new AtomicInteger();
        ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
        try {
            sender.scheduleAtFixedRate(() -> client.send("n", Payload.text(Integer.toString(sent.incrementAndGet()))),
                    0, 5, TimeUnit.MILLISECONDS);
            assertThat(threeTokens.await(WAIT, TimeUnit.SECONDS)).as("two refresh requests answered").isTrue();
        } finally {
            sender.shutdown();
            assertThat(sender.awaitTermination(WAIT, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(listener.events).noneMatch(e -> e.startsWith("disconnected") || e.startsWith("error"));
        // The second request came after the first token expired: the connection outlived it.
        assertThat(System.currentTimeMillis()).isGreaterThan(firstExpiry[0]);
        Await.until(() -> listener.messages.size() == sent.get(), Duration.ofSeconds(WAIT), "every echo");

        int n = sent.get();
        assertThat(n).isGreaterThan(100);
        assertThat(serverReceived).as("each message handled once, in order").isEqualTo(numbers(n));
        assertThat(echoes(listener)).as("each echo received once, in order").isEqualTo(numbers(n));
        assertThat(listener.events).noneMatch(e -> e.startsWith("disconnected") || e.startsWith("error"));
        assertThat(client.stats().connectAttempts()).isEqualTo(1);
        assertThat(client.stats().welcomes()).isEqualTo(1);
        assertThat(client.isConnected()).isTrue();
        Principal now = tether.session(client.sessionId()).orElseThrow().principal();
        assertThat(((TokenPrincipal) now).exp()).as("the session acts with a refreshed token").isGreaterThan(firstExpiry[0]);
    }

    @Test
    void aRefusedRefreshEndsTheConnectionAtExpiryAndTheClientResumesWithAFreshToken() throws Exception {
        startServer(HANDSHAKE_ONLY);
        RecordingListener listener = new RecordingListener();
        TetherClient client = client(listener, () -> now(token("alice", 1_500)));
        client.connect().get(WAIT, TimeUnit.SECONDS);
        assertThat(listener.next()).isEqualTo("open:false");
        String sessionId = client.sessionId();
        client.send("n", Payload.text("1"));

        assertThat(listener.next("error")).isEqualTo("error:token refresh refused: Token refresh is not supported.");
        assertThat(listener.next("disconnected")).isEqualTo("disconnected:4401");
        assertThat(listener.next("open")).isEqualTo("open:true");
        assertThat(client.sessionId()).isEqualTo(sessionId);
        client.send("n", Payload.text("2"));
        Await.until(() -> listener.messages.size() == 2, Duration.ofSeconds(WAIT), "both echoes");
        assertThat(serverReceived).containsExactly("1", "2");
        assertThat(echoes(listener)).containsExactly("1", "2");
    }

    @Test
    void aReconnectRefusedForAnExpiredTokenAsksTheSupplierOnceMoreAndResumes() throws Exception {
        startServer(REFRESHING);
        RecordingListener listener = new RecordingListener();
        AtomicInteger asked = new AtomicInteger();
        TetherClient client = client(listener, () -> switch (asked.incrementAndGet()) {
            case 2 -> now("alice:" + (System.currentTimeMillis() - 1)); // expired while away
            default -> now(token("alice", 60_000));
        });
        client.connect().get(WAIT, TimeUnit.SECONDS);
        assertThat(listener.next()).isEqualTo("open:false");

        client.disconnectAbruptly();
        assertThat(listener.next()).isEqualTo("disconnected:1006");
        assertThat(listener.next()).isEqualTo("open:true");
        assertThat(asked.get()).isEqualTo(3);
        assertThat(client.stats().connectAttempts()).isEqualTo(3);
        assertThat(client.isClosed()).isFalse();
        client.send("n", Payload.text("after"));
        assertThat(listener.next()).isEqualTo("msg:echo:after");
    }

    @Test
    void aSupplierThatKeepsGivingBadTokensEndsTheClientAndTheListenerIsToldWhy() throws Exception {
        try (LogCapture log = LogCapture.quiet("dev.tether.client", Level.WARNING)) {
            startServer(REFRESHING);
            RecordingListener listener = new RecordingListener();
            AtomicInteger asked = new AtomicInteger();
            TetherClient client = client(listener,
                    () -> now(asked.incrementAndGet() == 1 ? token("alice", 60_000) : "garbage"));
            client.connect().get(WAIT, TimeUnit.SECONDS);
            assertThat(listener.next()).isEqualTo("open:false");

            client.disconnectAbruptly();
            assertThat(listener.next()).isEqualTo("disconnected:1006");
            assertThat(listener.next()).isEqualTo("closed:HandshakeException");
            HandshakeException why = (HandshakeException) listener.closedCause;
            assertThat(why.statusCode()).isEqualTo(401);
            assertThat(why.getMessage()).isEqualTo("unauthorized: Not a token.");
            assertThat(asked.get()).as("the connect's token, then two on the reconnect").isEqualTo(3);
            assertThat(client.isClosed()).isTrue();
            assertThat(log.records()).extracting(r -> r.getMessage().substring(0, 5)).containsExactly("TC002");
        }
    }

    @Test
    void aSupplierThatFailsIsReportedAndTheReconnectIsTriedAgainWithBackoff() throws Exception {
        startServer(REFRESHING);
        RecordingListener listener = new RecordingListener();
        AtomicInteger asked = new AtomicInteger();
        TetherClient client = client(listener, () -> asked.incrementAndGet() == 2
                ? CompletableFuture.failedFuture(new IllegalStateException("identity provider down"))
                : now(token("alice", 60_000)));
        client.connect().get(WAIT, TimeUnit.SECONDS);
        assertThat(listener.next()).isEqualTo("open:false");

        client.disconnectAbruptly();
        assertThat(listener.next()).isEqualTo("disconnected:1006");
        assertThat(listener.next()).isEqualTo("error:no token: identity provider down");
        assertThat(listener.next()).isEqualTo("open:true");
        assertThat(client.stats().connectAttempts()).isEqualTo(3);
    }
}
