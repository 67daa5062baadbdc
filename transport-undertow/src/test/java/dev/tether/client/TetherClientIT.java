package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Responder;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Java client against the real hub and Undertow transport on loopback: both directions of
 * messages and requests, topics, and resume after an abrupt disconnect. No sleeps: every wait is a
 * bounded poll or future.
 */
class TetherClientIT {

    private static final long WAIT = 10;
    private static final Principal ALICE = () -> "alice";

    /** What the server application saw, as short strings. */
    private final BlockingQueue<String> serverEvents = new LinkedBlockingQueue<>();
    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    private final SessionHandler handler = new SessionHandler() {
        @Override
        public void onMessage(Session session, Message message) {
            serverEvents.add("msg:" + message.event() + ":" + message.payload().asText());
            if (message.event().equals("echo")) {
                session.send("echoed", message.payload());
            }
        }

        @Override
        public void onRequest(Session session, Message message, Responder responder) {
            switch (message.event()) {
                case "echo" -> responder.reply(message.payload());
                case "refuse" -> responder.fail("nope", "not today");
                case "slow" -> serverEvents.add("slow request received");
                default -> SessionHandler.super.onRequest(session, message, responder);
            }
        }
    };

    @BeforeEach
    void start() {
        startServer(0);
    }

    private void startServer(int port) {
        tether = Tether.create(TetherConfig.builder()
                .authenticator(Authenticator.sync(request -> request.bearerToken().filter("good"::equals)
                        .map(token -> AuthResult.accept(ALICE))
                        .orElse(AuthResult.unauthorized("bad token"))))
                .authorizer(Authorizer.allowAll()) // the clients subscribe and publish themselves
                .build(), handler);
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(port).build());
    }

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        server.close();
        tether.close();
    }

    private URI uri() {
        return URI.create("ws://127.0.0.1:" + server.port() + "/tether");
    }

    private TetherClient client(RecordingListener listener) {
        TetherClient client = TetherClient.builder(uri())
                .bearerToken("good")
                .listener(listener)
                .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(100))
                .ackDelay(Duration.ofMillis(20))
                .build();
        clients.add(client);
        return client;
    }

    private TetherClient connected(RecordingListener listener) throws Exception {
        TetherClient client = client(listener);
        client.connect().get(WAIT, TimeUnit.SECONDS);
        assertThat(listener.next()).isEqualTo("open:false");
        return client;
    }

    private Session sessionOf(TetherClient client) {
        return tether.session(client.sessionId()).orElseThrow();
    }

    private String nextServerEvent() throws InterruptedException {
        String event = serverEvents.poll(WAIT, TimeUnit.SECONDS);
        assertThat(event).as("an event on the server").isNotNull();
        return event;
    }

    private static RequestException requestFailure(CompletableFuture<?> future) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> future.get(WAIT, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(RequestException.class);
        return (RequestException) e.getCause();
    }

    @Test
    void sendsAndReceivesInBothDirections() throws Exception {
        RecordingListener events = new RecordingListener();
        TetherClient client = connected(events);
        assertThat(client.send("hello", Payload.text("from client"))).isEqualTo(SendResult.ENQUEUED);
        assertThat(nextServerEvent()).isEqualTo("msg:hello:from client");

        assertThat(sessionOf(client).send("greet", Payload.text("from server"))).isEqualTo(dev.tether.core.SendResult.ENQUEUED);
        assertThat(events.next()).isEqualTo("msg:greet:from server");

        client.send("echo", Payload.binary(new byte[] {1, 2, 3}));
        assertThat(nextServerEvent()).startsWith("msg:echo:");
        assertThat(events.next()).startsWith("msg:echoed:");
        assertThat(events.messages.get(1).payload()).isEqualTo(Payload.binary(new byte[] {1, 2, 3}));

        for (int i = 0; i < 100; i++) {
            client.send("n", Payload.text(Integer.toString(i)));
        }
        for (int i = 0; i < 100; i++) {
            assertThat(nextServerEvent()).isEqualTo("msg:n:" + i);
        }
    }

    @Test
    void clientRequestsGetRepliesErrorsAndTimeouts() throws Exception {
        TetherClient client = connected(new RecordingListener());
        Payload reply = client.request("echo", Payload.text("ping"), Duration.ofSeconds(5)).get(WAIT, TimeUnit.SECONDS);
        assertThat(reply.asText()).isEqualTo("ping");

        RequestException refused = requestFailure(client.request("refuse", Payload.EMPTY, Duration.ofSeconds(5)));
        assertThat(refused.code()).isEqualTo("nope");
        assertThat(refused.getMessage()).isEqualTo("not today");

        assertThat(requestFailure(client.request("nobody", Payload.EMPTY, Duration.ofSeconds(5))).code())
                .isEqualTo("unhandled");

        CompletableFuture<Payload> slow = client.request("slow", Payload.EMPTY, Duration.ofMillis(200));
        assertThat(nextServerEvent()).isEqualTo("slow request received");
        assertThat(requestFailure(slow).code()).isEqualTo(RequestException.TIMEOUT);
    }

    @Test
    void serverRequestsGetRepliesErrorsAndTimeouts() throws Exception {
        RecordingListener events = new RecordingListener();
        events.requests = (message, responder) -> {
            switch (message.event()) {
                case "ask" -> responder.reply(Payload.text("answer to " + message.payload().asText()));
                case "ignore" -> { }
                default -> responder.fail("unhandled", "no");
            }
        };
        TetherClient client = connected(events);
        Session session = sessionOf(client);

        Payload answer = session.request("ask", Payload.text("q"), Duration.ofSeconds(5)).get(WAIT, TimeUnit.SECONDS);
        assertThat(answer.asText()).isEqualTo("answer to q");

        assertThat(requestFailure(session.request("other", Payload.EMPTY, Duration.ofSeconds(5))).code())
                .isEqualTo("unhandled");

        CompletableFuture<Payload> ignored = session.request("ignore", Payload.EMPTY, Duration.ofMillis(200));
        assertThat(requestFailure(ignored).code()).isEqualTo(RequestException.TIMEOUT);
    }

    @Test
    void subscribersReceivePublishesFromClientsAndFromTheServer() throws Exception {
        RecordingListener aliceEvents = new RecordingListener();
        RecordingListener bobEvents = new RecordingListener();
        TetherClient alice = connected(aliceEvents);
        TetherClient bob = connected(bobEvents);
        alice.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        bob.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        assertThat(tether.subscribers("room")).isEqualTo(2);

        assertThat(alice.publish("room", "chat", Payload.text("hi all"))).isEqualTo(SendResult.ENQUEUED);
        assertThat(aliceEvents.next()).isEqualTo("msg:chat:hi all@room");
        assertThat(bobEvents.next()).isEqualTo("msg:chat:hi all@room");

        assertThat(tether.publish("room", "news", Payload.text("from server"))).isEqualTo(2);
        assertThat(aliceEvents.next()).isEqualTo("msg:news:from server@room");
        assertThat(bobEvents.next()).isEqualTo("msg:news:from server@room");

        bob.unsubscribe("room").get(WAIT, TimeUnit.SECONDS);
        assertThat(tether.subscribers("room")).isEqualTo(1);
        tether.publish("room", "after", Payload.EMPTY);
        assertThat(aliceEvents.next()).startsWith("msg:after:");
        // Bob's next event, whenever it comes, is not that publish.
        bob.send("echo", Payload.text("marker"));
        assertThat(bobEvents.next()).isEqualTo("msg:echoed:marker");
    }

    @Test
    void reconnectsAfterAnAbruptDisconnectResumesAndKeepsSubscriptions() throws Exception {
        RecordingListener events = new RecordingListener();
        TetherClient client = connected(events);
        client.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        String sid = client.sessionId();

        client.disconnectAbruptly();
        assertThat(events.next()).isEqualTo("disconnected:1006");
        // Sent while disconnected: queued, delivered once after the resume.
        client.send("offline", Payload.text("1"));
        assertThat(events.next()).isEqualTo("open:true");
        assertThat(client.sessionId()).isEqualTo(sid);
        assertThat(nextServerEvent()).isEqualTo("msg:offline:1");

        tether.publish("room", "still", Payload.text("here"));
        assertThat(events.next()).isEqualTo("msg:still:here@room");
        assertThat(client.stats().resumes()).isEqualTo(1);
        assertThat(serverEvents.poll(200, TimeUnit.MILLISECONDS)).as("no duplicate on the server").isNull();
    }

    @Test
    void reSubscribesAfterTheServerLostTheSession() throws Exception {
        RecordingListener events = new RecordingListener();
        TetherClient client = connected(events);
        client.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        int port = server.port();

        // A restart without a persistent session store: the new hub never heard of the session.
        server.close();
        tether.close();
        assertThat(events.next()).startsWith("disconnected:");
        startServer(port);

        assertThat(events.next("lost:")).matches("lost:(unknown|expired):\\[\\]");
        assertThat(events.next()).isEqualTo("open:false");
        // Topic operations are answered in order: once this one is, the automatic one is too.
        client.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        assertThat(tether.subscribers("room")).isEqualTo(1);
        tether.publish("room", "again", Payload.EMPTY);
        assertThat(events.next()).startsWith("msg:again:");
    }

    @Test
    void manyClientsShareOneHttpClient() throws Exception {
        int n = 200;
        HttpClient http = HttpClient.newHttpClient();
        CountDownLatch received = new CountDownLatch(n);
        List<CompletableFuture<TetherClient>> connecting = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TetherClient client = TetherClient.builder(uri()).bearerToken("good").httpClient(http)
                    .listener(new TetherClient.Listener() {
                        @Override
                        public void onMessage(TetherClient c, Message message) {
                            if (message.event().equals("all")) {
                                received.countDown();
                            }
                        }
                    }).build();
            clients.add(client);
            connecting.add(client.connect());
        }
        CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        CompletableFuture.allOf(clients.stream().map(c -> c.subscribe("crowd")).toArray(CompletableFuture[]::new))
                .get(30, TimeUnit.SECONDS);
        assertThat(tether.publish("crowd", "all", Payload.text("hello"))).isEqualTo(n);
        assertThat(received.await(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aRefusedHandshakeFailsConnectWithItsStatus() throws Exception {
        TetherClient client = TetherClient.builder(uri()).bearerToken("bad").build();
        clients.add(client);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> client.connect().get(WAIT, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(HandshakeException.class);
        assertThat(((HandshakeException) e.getCause()).statusCode()).isEqualTo(401);
    }
}
