package dev.tether.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.client.TetherClient;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The chat example over a real server and the Java client: the chat works under the default
 * authorizer (its handler subscribes and publishes on the server side), and
 * {@code TETHER_CLIENT_TOPICS} ({@link ChatServer#clientTopics}) grants clients the listed topics and nothing else.
 */
class ChatServerIT {

    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    private void start(TetherConfig.Builder config) {
        ChatHandler handler = new ChatHandler();
        tether = Tether.create(config.build(), handler);
        handler.bind(tether);
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

    private TetherClient connected(BlockingQueue<String> events) throws Exception {
        TetherClient client = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onMessage(TetherClient c, Message m) {
                        events.add(m.event() + ":" + m.payload().asText() + (m.topic() == null ? "" : "@" + m.topic()));
                    }
                }).build();
        clients.add(client);
        client.connect().get(10, TimeUnit.SECONDS);
        return client;
    }

    private static String next(BlockingQueue<String> events) throws InterruptedException {
        String e = events.poll(10, TimeUnit.SECONDS);
        assertThat(e).as("a message from the server").isNotNull();
        return e;
    }

    private static String refusal(java.util.concurrent.CompletableFuture<?> future) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> future.get(10, TimeUnit.SECONDS));
        return ((RequestException) e.getCause()).code();
    }

    @Test
    void theChatNeedsNoClientSubscriptionUnderTheDefaultAuthorizer() throws Exception {
        start(TetherConfig.builder());
        assertThat(TetherConfig.builder().build().authorizer()).isSameAs(Authorizer.SERVER_ONLY);
        BlockingQueue<String> alice = new LinkedBlockingQueue<>();
        BlockingQueue<String> bob = new LinkedBlockingQueue<>();
        TetherClient a = connected(alice);
        connected(bob);
        a.send("message", Payload.text("hello"));
        assertThat(next(alice)).isEqualTo("response:Message received!");
        assertThat(next(alice)).isEqualTo("chat:hello@" + ChatHandler.ROOM);
        assertThat(next(bob)).isEqualTo("chat:hello@" + ChatHandler.ROOM);
    }

    @Test
    void theExampleServesHealthNextToTether() throws Exception {
        try (ChatServer chat = ChatServer.start(Map.of("PORT", "0", "HOST", "127.0.0.1"))) {
            HttpResponse<String> health = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + chat.port() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).startsWith("{\"status\":\"UP\",\"state\":\"RUNNING\",");
        }
    }

    @Test
    void clientTopicsGrantsClientsTheListedTopicsOnly() throws Exception {
        start(TetherConfig.builder().authorizer(ChatServer.clientTopics("room, ")));
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        TetherClient client = connected(events);
        client.subscribe("room").get(10, TimeUnit.SECONDS);
        client.publish("room", "publish", Payload.text("1"));
        assertThat(next(events)).isEqualTo("publish:1@" + "room");

        assertThat(refusal(client.subscribe("other"))).isEqualTo("forbidden");
        assertThat(ChatServer.clientTopics("room, ").canSubscribe(null, ChatHandler.ROOM)).isFalse();
        assertThat(ChatServer.clientTopics("room, ").canPublish(null, ChatHandler.ROOM)).isFalse();
        assertThat(ChatServer.clientTopics(" ")).isSameAs(Authorizer.SERVER_ONLY);
    }
}
