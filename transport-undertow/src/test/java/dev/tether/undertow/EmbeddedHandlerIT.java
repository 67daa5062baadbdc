package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.TetherConfig;
import dev.tether.testing.Await;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.net.InetSocketAddress;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The handler mounted in a host's own Undertow server, as an application with a server does it. */
class EmbeddedHandlerIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final RecordingTether tether = new RecordingTether(TetherConfig.defaults());
    private Undertow undertow;

    private InetSocketAddress start(HttpHandler root) {
        undertow = Undertow.builder().addHttpListener(0, "127.0.0.1").setHandler(root).build();
        undertow.start();
        return (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
    }

    @AfterEach
    void stop() {
        undertow.stop();
    }

    @Test
    void mountedAtAnyPathWithNonUpgradesPassedToTheNextHandler() throws Exception {
        HttpHandler page = exchange -> exchange.getResponseSender().send("the page");
        TetherHandler handler = new TetherHandler(tether, TetherUndertowConfig.defaults(), page);
        InetSocketAddress address = start(Handlers.path().addExactPath("/live/socket", handler));

        RawWebSocket.HttpHead plain = RawWebSocket.exchange(address, "GET /live/socket HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(plain.status()).isEqualTo(200);
        assertThat(plain.body()).isEqualTo("the page");

        try (RawWebSocket raw = RawWebSocket.connect(address, "/live/socket")) {
            RecordingTether.Attached a = tether.nextConnection(WAIT);
            assertThat(a).isNotNull();
            assertThat(a.connectedOnIoThread).isTrue();
            raw.sendText("ping");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:ping");
        }
    }

    @Test
    void inTheHostsServerUndertowKeepsItsConnectionButNothingOfTheRequest() throws Exception {
        String secret = "SECRET-" + UUID.randomUUID();
        InetSocketAddress address = start(new TetherHandler(tether));
        try (RawWebSocket raw = RawWebSocket.connect(address, "/?access_token=" + secret)) {
            RecordingTether.Attached a = tether.nextConnection(WAIT);
            // The host's listener gave Undertow the socket itself: its HTTP connection stays with
            // the socket (XNIO cannot remove a close listener); the request does not.
            assertThat(Reachability.instances(a.connection, HttpServerConnection.class)).hasSize(1);
            assertThat(Reachability.instances(a.connection, HttpServerExchange.class)).isEmpty();
            assertThat(Reachability.strings(a.connection, s -> s.contains(secret))).isEmpty();
            raw.sendText("still here");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:still here");
        }
    }

    @Test
    void theHostsConnectionCountGoesBackToZeroWhenAnUpgradedConnectionCloses() throws Exception {
        undertow = Undertow.builder().addHttpListener(0, "127.0.0.1").setServerOption(UndertowOptions.ENABLE_STATISTICS, true)
                .setHandler(new TetherHandler(tether)).build();
        undertow.start();
        Undertow.ListenerInfo listener = undertow.getListenerInfo().get(0);
        RecordingTether.Attached a;
        try (RawWebSocket raw = RawWebSocket.connect((InetSocketAddress) listener.getAddress(), "/")) {
            a = tether.nextConnection(WAIT);
            assertThat(listener.getConnectorStatistics().getActiveConnections()).isEqualTo(1);
            raw.sendClose(1000, "");
            raw.readClose();
        }
        assertThat(a.nextClose(WAIT)).isEqualTo(1000);
        // Undertow's close listener counts it out, once (it ran twice when the transport chained it
        // as well as XNIO: -1). The socket may close a little after the session hears of it.
        Await.until(() -> listener.getConnectorStatistics().getActiveConnections() != 1, WAIT, "the socket counted out");
        assertThat(listener.getConnectorStatistics().getActiveConnections()).isZero();
    }

    @Test
    void hostThatDispatchesToWorkersStillAttachesOnTheIoThread() throws Exception {
        TetherHandler handler = new TetherHandler(tether);
        InetSocketAddress address = start(exchange -> exchange.dispatch(handler));
        try (RawWebSocket raw = RawWebSocket.connect(address, "/anything", Map.of())) {
            RecordingTether.Attached a = tether.nextConnection(WAIT);
            assertThat(a).isNotNull();
            assertThat(a.connectedOnIoThread).isTrue();
            raw.sendText("hello");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:hello");
            assertThat(a.offIoThreadCalls.get()).isZero();
        }
    }

    @Test
    void theCredentialsExpiryReachesTheHubWithThePrincipal() throws Exception {
        Instant expiresAt = Instant.parse("2030-01-01T00:00:00Z");
        Principal alice = () -> "alice";
        RecordingTether expiring = new RecordingTether(TetherConfig.builder()
                .authenticator(Authenticator.sync(request -> AuthResult.accept(alice, expiresAt)))
                .build());
        InetSocketAddress address = start(new TetherHandler(expiring));
        try (RawWebSocket raw = RawWebSocket.connect(address, "/")) {
            RecordingTether.Attached a = expiring.nextConnection(WAIT);
            assertThat(a).isNotNull();
            assertThat(a.principal).isSameAs(alice);
            assertThat(a.expiresAt).isEqualTo(expiresAt);
            raw.sendText("hello");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:hello");
        }
    }

    @Test
    void hostThatDispatchesToWorkersCanWaitForALaterAnswerAndStillAttachesOnTheIoThread() throws Exception {
        HeldAuthenticator held = new HeldAuthenticator();
        RecordingTether hub = new RecordingTether(TetherConfig.builder().authenticator(held).build());
        InetSocketAddress address = start(exchange -> exchange.dispatch(new TetherHandler(hub)));
        try (RawWebSocket.PendingUpgrade pending = RawWebSocket.startUpgrade(address, "/anything", Map.of())) {
            held.next().answerElsewhere(AuthResult.accept(() -> "late"));
            RawWebSocket raw = pending.upgraded();
            RecordingTether.Attached a = hub.nextConnection(WAIT);
            assertThat(a).isNotNull();
            assertThat(a.principal.getName()).isEqualTo("late");
            assertThat(a.connectedOnIoThread).isTrue();
            raw.sendText("hello");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:hello");
            assertThat(a.offIoThreadCalls.get()).isZero();
        }
    }
}
