package dev.tether.auth.jwt;

import static dev.tether.auth.jwt.Tokens.AUDIENCE;
import static dev.tether.auth.jwt.Tokens.ISSUER;
import static dev.tether.auth.jwt.Tokens.claims;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.tether.client.HandshakeException;
import dev.tether.client.TetherClient;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.Await;
import dev.tether.testing.NodeSocketIoClient;
import dev.tether.testing.SocketIoTestServer;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real Tether server on 127.0.0.1 with the {@link JwtAuthenticator} (RS256, fixed key) and the
 * {@link JwtAuthorizer} on a {@code channels} claim: the Java client and a plain
 * {@code java.net.http} WebSocket get in with a valid token and are refused 401 before the
 * upgrade with an expired one or one for another audience; a connected client may subscribe to
 * and publish on its channels only. For Socket.IO, the same authenticator as namespace
 * middleware checks the {@code auth.token} of the stock Node socket.io-client.
 */
class JwtAuthIT {

    private static final long WAIT_S = 20;
    private static final RSAKey KEY = Tokens.rsa("k1");

    private final List<AutoCloseable> open = new ArrayList<>();
    private final BlockingQueue<String> published = new LinkedBlockingQueue<>();

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T resource) {
        open.add(resource);
        return resource;
    }

    private JwtAuthenticator authenticator() throws Exception {
        return closing(JwtAuthenticator.builder().publicKey(KEY.toRSAPublicKey()).issuer(ISSUER).audience(AUDIENCE).build());
    }

    private static String token(String sub, Instant exp, String audience) {
        return Tokens.rs256(KEY, claims(sub, exp).audience(audience).claim("channels", List.of("chat", "news.*")).build());
    }

    private static String valid(String sub) {
        return token(sub, Instant.now().plus(Duration.ofHours(1)), AUDIENCE);
    }

    private URI startTether() throws Exception {
        return startTether(authenticator());
    }

    private URI startTether(JwtAuthenticator authenticator) throws Exception {
        Tether tether = closing(Tether.create(TetherConfig.builder()
                .authenticator(authenticator)
                .authorizer(JwtAuthorizer.channelsClaim("channels"))
                .drainTimeout(Duration.ZERO)
                .build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        published.add("open:" + session.principal().getName());
                    }

                }));
        TetherServer server = closing(TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build()));
        return URI.create("ws://127.0.0.1:" + server.port() + "/tether");
    }

    private TetherClient client(URI uri, String token) {
        return client(uri, token, new TetherClient.Listener() { });
    }

    private TetherClient client(URI uri, String token, TetherClient.Listener listener) {
        return closing(TetherClient.builder(uri).bearerToken(token).listener(listener).build());
    }

    @Test
    void aValidTokenConnectsAndMaySubscribeToItsChannelsOnly() throws Exception {
        URI uri = startTether();
        TetherClient alice = client(uri, valid("alice"));
        alice.connect().get(WAIT_S, TimeUnit.SECONDS);
        assertThat(published.poll(WAIT_S, TimeUnit.SECONDS)).isEqualTo("open:alice");

        alice.subscribe("chat").get(WAIT_S, TimeUnit.SECONDS);
        alice.subscribe("news.sport").get(WAIT_S, TimeUnit.SECONDS);
        ExecutionException refused = assertThrows(ExecutionException.class,
                () -> alice.subscribe("admin").get(WAIT_S, TimeUnit.SECONDS));
        assertThat(refused.getCause()).isInstanceOf(RequestException.class);
        assertThat(((RequestException) refused.getCause()).code()).isEqualTo("forbidden");
        assertThat(alice.topics()).containsExactlyInAnyOrder("chat", "news.sport");
    }

    @Test
    void aValidTokenMayPublishOnItsChannelsOnly() throws Exception {
        URI uri = startTether();
        BlockingQueue<String> bobGot = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> aliceErrors = new LinkedBlockingQueue<>();
        TetherClient bob = client(uri, valid("bob"), new TetherClient.Listener() {
            @Override
            public void onMessage(TetherClient c, Message m) {
                bobGot.add(m.event() + ":" + m.payload().asText());
            }
        });
        TetherClient alice = client(uri, valid("alice"), new TetherClient.Listener() {
            @Override
            public void onError(TetherClient c, Throwable error) {
                aliceErrors.add(error);
            }
        });
        bob.connect().get(WAIT_S, TimeUnit.SECONDS);
        bob.subscribe("chat").get(WAIT_S, TimeUnit.SECONDS);
        alice.connect().get(WAIT_S, TimeUnit.SECONDS);

        alice.publish("admin", "shout", Payload.text("let me in"));
        Throwable error = aliceErrors.poll(WAIT_S, TimeUnit.SECONDS);
        assertThat(error).isInstanceOf(RequestException.class);
        assertThat(((RequestException) error).code()).isEqualTo("forbidden");

        alice.publish("chat", "say", Payload.text("hello"));
        assertThat(bobGot.poll(WAIT_S, TimeUnit.SECONDS)).isEqualTo("say:hello");
    }

    @Test
    void anExpiredTokenOrOneForAnotherAudienceIsRefused401BeforeTheUpgrade() throws Exception {
        URI uri = startTether();
        String expired = token("alice", Instant.now().minus(Duration.ofHours(1)), AUDIENCE);
        String elsewhere = token("alice", Instant.now().plus(Duration.ofHours(1)), "another-service");

        for (String token : List.of(expired, elsewhere)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> client(uri, token).connect().get(WAIT_S, TimeUnit.SECONDS));
            assertThat(e.getCause()).isInstanceOf(HandshakeException.class);
            assertThat(((HandshakeException) e.getCause()).statusCode()).isEqualTo(401);
        }
        assertThat(published).isEmpty();
    }

    @Test
    void aPlainWebSocketUpgradesWithTheTokenAsAQueryParameter() throws Exception {
        URI uri = startTether();
        HttpClient http = HttpClient.newHttpClient();
        URI withToken = URI.create(uri + "?access_token=" + valid("browser"));
        // buildAsync completes only after a 101 with a valid Sec-WebSocket-Accept.
        WebSocket ws = http.newWebSocketBuilder().buildAsync(withToken, new WebSocket.Listener() { })
                .get(WAIT_S, TimeUnit.SECONDS);
        try {
            assertThat(ws.isInputClosed()).isFalse();
        } finally {
            ws.abort();
        }
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> http.newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() { }).get(WAIT_S, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(java.net.http.WebSocketHandshakeException.class);
        assertThat(((java.net.http.WebSocketHandshakeException) e.getCause()).getResponse().statusCode()).isEqualTo(401);
    }

    @Test
    void withAJwksUrlTheFirstHandshakeWaitsForTheKeySetAndARotatedKeyIsFetchedOnce() throws Exception {
        RSAKey first = Tokens.rsa("first");
        RSAKey rotated = Tokens.rsa("rotated");
        JwksServer jwks = closing(new JwksServer(new JWKSet(first)));
        URI uri = startTether(closing(JwtAuthenticator.builder().jwksUrl(jwks.uri())
                .issuer(ISSUER).audience(AUDIENCE).jwksRefetchInterval(Duration.ofMillis(1)).build()));
        Instant inAnHour = Instant.now().plus(Duration.ofHours(1));

        // Nothing cached: the handshake waits (no I/O thread blocked) until the download is released.
        jwks.hold();
        CompletableFuture<TetherClient> waiting = client(uri, Tokens.rs256(first, claims("alice", inAnHour).audience(AUDIENCE).build()))
                .connect();
        Await.until(() -> jwks.fetches() == 1, Duration.ofSeconds(WAIT_S), "the key set download starts");
        assertThat(waiting).isNotDone();
        jwks.release();
        waiting.get(WAIT_S, TimeUnit.SECONDS);
        assertThat(published.poll(WAIT_S, TimeUnit.SECONDS)).isEqualTo("open:alice");

        // The issuer rotates its key: a token with the new kid triggers one download, then connects.
        jwks.publish(new JWKSet(List.of(first, rotated)));
        client(uri, Tokens.rs256(rotated, claims("bob", inAnHour).audience(AUDIENCE).build())).connect()
                .get(WAIT_S, TimeUnit.SECONDS);
        assertThat(published.poll(WAIT_S, TimeUnit.SECONDS)).isEqualTo("open:bob");
        assertThat(jwks.fetches()).isEqualTo(2);

        // Forged tokens are refused before the upgrade: another key under a published kid, no
        // signature at all, and HS256 "signed" with the published RSA public key.
        RSAKey impostor = new RSAKey.Builder(Tokens.rsa("x")).keyID("first").build();
        JWTClaimsSet claims = claims("mallory", inAnHour).audience(AUDIENCE).build();
        List<String> forged = List.of(
                Tokens.rs256(impostor, claims),
                new PlainJWT(claims).serialize(),
                Tokens.sign(new MACSigner(first.toRSAPublicKey().getEncoded()),
                        new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("first").build(), claims));
        for (String token : forged) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> client(uri, token).connect().get(WAIT_S, TimeUnit.SECONDS));
            assertThat(((HandshakeException) e.getCause()).statusCode()).isEqualTo(401);
        }
        assertThat(published).isEmpty();
    }

    @Test
    void aShortLivedTokenIsRefreshedInsideTheLiveSessionFromTheClientsSupplier() throws Exception {
        URI uri = startTether();
        AtomicInteger issued = new AtomicInteger();
        BlockingQueue<Boolean> opens = new LinkedBlockingQueue<>();
        // Tokens valid for 3 s; the server asks for a fresh one before each expires.
        TetherClient alice = closing(TetherClient.builder(uri)
                .tokenSupplier(() -> {
                    issued.incrementAndGet();
                    return CompletableFuture.completedFuture(token("alice", Instant.now().plusSeconds(3), AUDIENCE));
                })
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onOpen(TetherClient client, boolean resumed) {
                        opens.add(resumed);
                    }
                }).build());
        alice.connect().get(WAIT_S, TimeUnit.SECONDS);
        assertThat(opens.poll(WAIT_S, TimeUnit.SECONDS)).isFalse();
        Await.until(() -> issued.get() >= 3, Duration.ofSeconds(WAIT_S), "two refreshes after the first token");
        // Past the first token's expiry the same connection still works: nothing was closed.
        alice.subscribe("chat").get(WAIT_S, TimeUnit.SECONDS);
        assertThat(opens).as("no reconnect happened").isEmpty();
    }

    @Test
    void socketIoMiddlewareChecksTheAuthTokenOfTheStockClient() throws Exception {
        JwtAuthenticator jwt = authenticator();
        SocketIoTestServer sio = closing(SocketIoTestServer.start(TetherConfig.builder(), SocketIoConfig.defaults(),
                TetherUndertowConfig.builder(), s -> s.io().use(jwt)));

        NodeSocketIoClient good = sio.client(1, "{\"reconnection\":false,\"auth\":{\"token\":\"" + valid("dora") + "\"}}");
        good.next("connect", SocketIoTestServer.WAIT);
        Socket socket = sio.nextSocket();
        assertThat(socket.principal()).isInstanceOf(JwtPrincipal.class);
        assertThat(socket.principal().getName()).isEqualTo("dora");

        String expired = token("eve", Instant.now().minus(Duration.ofHours(1)), AUDIENCE);
        NodeSocketIoClient bad = sio.client(1, "{\"reconnection\":false,\"auth\":{\"token\":\"" + expired + "\"}}");
        JsonNode error = bad.next("connect_error", SocketIoTestServer.WAIT);
        assertThat(error.path("message").asText()).isEqualTo("token expired");

        NodeSocketIoClient none = sio.client(1, "{\"reconnection\":false}");
        assertThat(none.next("connect_error", SocketIoTestServer.WAIT).path("message").asText()).isEqualTo("missing token");
    }
}
