package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.client.TetherClient;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.testing.Await;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Forged sequence numbers, acknowledgements and resume tokens over a real socket: each gets its
 * documented close code, while a bystander client receives a stream published meanwhile without
 * loss, duplicate or reordering.
 */
class ForgedInputIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HELLO = "{\"t\":\"hello\",\"v\":1}";
    private static final int STREAM = 300;

    private final ScheduledExecutorService publisher = Executors.newSingleThreadScheduledExecutor();
    private Tether tether;
    private TetherServer server;
    private TetherClient bystander;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder()
                .authenticator(Authenticator.sync(request -> {
                    String name = request.bearerToken().orElseThrow();
                    return AuthResult.accept(() -> name);
                }))
                .authorizer(Authorizer.topics("stream"::equals, topic -> false)) // the bystander subscribes itself
                .build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        publisher.shutdownNow();
        if (bystander != null) {
            bystander.close();
        }
        tether.close();
        server.close();
    }

    @Test
    void forgedInputIsRefusedWithItsCodeWhileABystanderLosesNothing() throws Exception {
        ConcurrentLinkedQueue<Integer> seen = new ConcurrentLinkedQueue<>();
        CountDownLatch all = new CountDownLatch(STREAM);
        List<String> trouble = new ArrayList<>();
        bystander = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                .bearerToken("bob")
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onMessage(TetherClient c, Message message) {
                        seen.add(Integer.parseInt(message.payload().asText()));
                        all.countDown();
                    }

                    @Override
                    public void onDisconnected(TetherClient c, int code, String reason) {
                        synchronized (trouble) {
                            trouble.add("disconnected " + code);
                        }
                    }
                }).build();
        bystander.connect().get(10, TimeUnit.SECONDS);
        bystander.subscribe("stream").get(10, TimeUnit.SECONDS);
        AtomicInteger next = new AtomicInteger();
        publisher.scheduleAtFixedRate(() -> {
            int n = next.getAndIncrement();
            if (n < STREAM) {
                tether.publish("stream", "n", Payload.text(Integer.toString(n)));
            }
        }, 0, 5, TimeUnit.MILLISECONDS);

        // An ack for a message never sent.
        try (RawWebSocket raw = connect("mallory")) {
            hello(raw);
            raw.sendText("{\"t\":\"ack\",\"seq\":99}");
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
        }
        // An ack going backwards.
        try (RawWebSocket raw = connect("mallory")) {
            String sid = hello(raw).path("sid").asText();
            tether.session(sid).orElseThrow().send("a", Payload.EMPTY);
            tether.session(sid).orElseThrow().send("b", Payload.EMPTY);
            readMsg(raw);
            readMsg(raw);
            raw.sendText("{\"t\":\"ack\",\"seq\":2}");
            raw.sendText("{\"t\":\"ack\",\"seq\":1}");
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
        }
        // A client sequence number going backwards on one connection.
        try (RawWebSocket raw = connect("mallory")) {
            hello(raw);
            raw.sendText("{\"t\":\"msg\",\"seq\":1,\"e\":\"x\"}");
            raw.sendText("{\"t\":\"msg\",\"seq\":2,\"e\":\"x\"}");
            raw.sendText("{\"t\":\"msg\",\"seq\":1,\"e\":\"x\"}");
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
        }
        // A resume with another principal's token; the victim's session is untouched.
        try (RawWebSocket victim = connect("alice"); RawWebSocket thief = connect("mallory")) {
            JsonNode welcome = hello(victim);
            thief.sendText(resume(welcome, 0));
            assertThat(thief.readCloseCode()).isEqualTo(CloseCodes.FORBIDDEN);
            tether.session(welcome.path("sid").asText()).orElseThrow().send("still", Payload.text("yours"));
            assertThat(readMsg(victim).path("d").asText()).isEqualTo("yours");
        }
        // A resume with a made-up token for a live session.
        try (RawWebSocket victim = connect("alice"); RawWebSocket forger = connect("alice")) {
            JsonNode welcome = hello(victim);
            forger.sendText("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                    + "\",\"token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"last\":0}");
            assertThat(forger.readCloseCode()).isEqualTo(CloseCodes.FORBIDDEN);
        }
        // A resume from a sequence number the server never sent.
        JsonNode ended;
        try (RawWebSocket first = connect("carol")) {
            ended = hello(first);
        }
        try (RawWebSocket raw = connect("carol")) {
            raw.sendText(resume(ended, 50));
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
        }
        // A resume of a session the client ended with a normal close.
        try (RawWebSocket raw = connect("dave")) {
            ended = hello(raw);
            raw.sendClose(CloseCodes.NORMAL, "bye");
            raw.readCloseCode();
        }
        awaitSessionGone(ended.path("sid").asText());
        try (RawWebSocket raw = connect("dave")) {
            raw.sendText(resume(ended, 0));
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.SESSION_CLOSED);
        }

        assertThat(all.await(30, TimeUnit.SECONDS)).as("the bystander's stream").isTrue();
        List<Integer> expected = new ArrayList<>();
        for (int n = 0; n < STREAM; n++) {
            expected.add(n);
        }
        assertThat(List.copyOf(seen)).isEqualTo(expected);
        synchronized (trouble) {
            assertThat(trouble).isEmpty();
        }
        assertThat(tether.stats().protocolErrors()).isGreaterThanOrEqualTo(4);
    }

    private RawWebSocket connect(String user) throws Exception {
        return RawWebSocket.connect(server.address(), "/tether", Map.of("Authorization", "Bearer " + user));
    }

    private static JsonNode hello(RawWebSocket raw) throws Exception {
        raw.sendText(HELLO);
        JsonNode welcome = JSON.readTree(raw.readText());
        assertThat(welcome.path("t").asText()).isEqualTo("welcome");
        return welcome;
    }

    private static JsonNode readMsg(RawWebSocket raw) throws Exception {
        for (;;) {
            JsonNode frame = JSON.readTree(raw.readText());
            if (frame.path("t").asText().equals("msg")) {
                return frame;
            }
        }
    }

    private static String resume(JsonNode welcome, long last) {
        return "{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                + welcome.path("token").asText() + "\",\"last\":" + last + "}";
    }

    private void awaitSessionGone(String sid) throws InterruptedException {
        Await.until(() -> tether.session(sid).isEmpty(), java.time.Duration.ofSeconds(10), "session " + sid + " ended");
    }
}
