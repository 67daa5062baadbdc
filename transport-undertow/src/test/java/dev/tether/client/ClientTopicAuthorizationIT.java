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
import dev.tether.core.spi.Authorizer;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which topics a client may subscribe to and publish on, over a real server and the Java client:
 * by default none (the server's own subscriptions and publishes still work), and everything once
 * the server opts in with {@link Authorizer#allowAll()}. No sleeps.
 */
class ClientTopicAuthorizationIT {

    private static final long WAIT = 10;

    private final BlockingQueue<String> serverEvents = new LinkedBlockingQueue<>();
    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    private final SessionHandler handler = new SessionHandler() {
        @Override
        public void onMessage(Session session, Message message) {
            serverEvents.add("msg:" + message.event() + ":" + message.payload().asText());
        }

        @Override
        public void onRequest(Session session, Message message, Responder responder) {
            responder.reply(message.payload());
        }
    };

    private void startServer(TetherConfig.Builder config) {
        tether = Tether.create(config.build(), handler);
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        if (server != null) {
            server.close();
        }
        if (tether != null) {
            tether.close();
        }
    }

    private TetherClient connected(RecordingListener listener) throws Exception {
        TetherClient client = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                .listener(listener)
                .ackDelay(Duration.ofMillis(20))
                .build();
        clients.add(client);
        client.connect().get(WAIT, TimeUnit.SECONDS);
        assertThat(listener.next()).isEqualTo("open:false");
        return client;
    }

    private Session sessionOf(TetherClient client) {
        return tether.session(client.sessionId()).orElseThrow();
    }

    @Test
    void byDefaultClientsMayNeitherSubscribeNorPublishButTheServerMay() throws Exception {
        startServer(TetherConfig.builder());
        RecordingListener aliceEvents = new RecordingListener();
        RecordingListener bobEvents = new RecordingListener();
        TetherClient alice = connected(aliceEvents);
        TetherClient bob = connected(bobEvents);
        assertThat(sessionOf(bob).subscribe("room")).isTrue(); // the application subscribes Bob

        ExecutionException subscribe = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> alice.subscribe("room").get(WAIT, TimeUnit.SECONDS));
        assertThat(subscribe.getCause()).isInstanceOf(RequestException.class);
        assertThat(((RequestException) subscribe.getCause()).code()).isEqualTo("forbidden");
        assertThat(alice.topics()).isEmpty();
        assertThat(tether.subscribers("room")).isEqualTo(1);

        assertThat(alice.publish("room", "chat", Payload.text("forged"))).isEqualTo(SendResult.ENQUEUED);
        Throwable refused = aliceEvents.errors.poll(WAIT, TimeUnit.SECONDS);
        assertThat(refused).isInstanceOf(RequestException.class);
        assertThat(((RequestException) refused).code()).isEqualTo("forbidden");
        assertThat(tether.stats().refused()).isEqualTo(2);

        // Bob's first topic message is the application's publish: the client's reached no one.
        assertThat(tether.publish("room", "news", Payload.text("from server"))).isEqualTo(1);
        assertThat(bobEvents.next()).isEqualTo("msg:news:from server@room");

        // Alice's connection carries on: messages, requests, and a subscription the server makes.
        assertThat(alice.isConnected()).isTrue();
        alice.send("hello", Payload.text("still here"));
        assertThat(serverEvents.poll(WAIT, TimeUnit.SECONDS)).isEqualTo("msg:hello:still here");
        assertThat(alice.request("echo", Payload.text("ping"), Duration.ofSeconds(5)).get(WAIT, TimeUnit.SECONDS).asText())
                .isEqualTo("ping");
        assertThat(sessionOf(alice).subscribe("room")).isTrue();
        tether.publish("room", "news", Payload.text("to both"));
        assertThat(aliceEvents.next("msg:")).isEqualTo("msg:news:to both@room");
        assertThat(bobEvents.next()).isEqualTo("msg:news:to both@room");
        assertThat(aliceEvents.events).noneMatch(e -> e.startsWith("disconnected:") || e.startsWith("closed:"));
        assertThat(serverEvents).isEmpty(); // the refused publish never reached the handler either
    }

    @Test
    void withAllowAllClientsSubscribeAndPublishOnAnyTopic() throws Exception {
        startServer(TetherConfig.builder().authorizer(Authorizer.allowAll()));
        RecordingListener aliceEvents = new RecordingListener();
        RecordingListener bobEvents = new RecordingListener();
        TetherClient alice = connected(aliceEvents);
        TetherClient bob = connected(bobEvents);
        alice.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        bob.subscribe("room").get(WAIT, TimeUnit.SECONDS);
        assertThat(tether.subscribers("room")).isEqualTo(2);

        assertThat(bob.publish("room", "chat", Payload.text("hi all"))).isEqualTo(SendResult.ENQUEUED);
        assertThat(aliceEvents.next()).isEqualTo("msg:chat:hi all@room");
        assertThat(bobEvents.next()).isEqualTo("msg:chat:hi all@room");
        assertThat(aliceEvents.errors).isEmpty();
        assertThat(bobEvents.errors).isEmpty();
        assertThat(tether.stats().refused()).isZero();
    }
}
