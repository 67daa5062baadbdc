package dev.tether.socketio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.tether.core.CloseCodes;
import dev.tether.core.RequestException;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Engine.IO / Socket.IO state machine and API on an in-memory transport: no sockets. */
class SocketIoEngineTest {

    private static final Principal ALICE = () -> "alice";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BlockingQueue<Socket> connected = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> disconnects = new LinkedBlockingQueue<>();
    private Tether tether;
    private SocketIo io;

    private SocketIo start(TetherConfig.Builder hub, SocketIoConfig config) {
        tether = Tether.create(hub.errorHandler((c, e) -> { }).drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        io = SocketIo.create(tether, config);
        io.on("connection", socket -> {
            socket.on("hello", (args, ack) -> {
                events.add(socket.id() + ":" + args);
                if (ack.requested()) {
                    ack.send("hi " + args.get(0).asText(), 42);
                }
            });
            socket.on("bin", (args, ack) -> ack.send(args.get(0), "tag"));
            socket.onDisconnect(disconnects::add);
            connected.add(socket);
        });
        return io;
    }

    private SocketIo start() {
        return start(TetherConfig.builder(), SocketIoConfig.defaults());
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
    }

    /** A connection with the open packet read and the main namespace connected (its CONNECT answer read). */
    private SioConnection connectedToMain() throws Exception {
        SioConnection c = SioConnection.open(io, ALICE);
        c.next();
        c.send("40");
        c.next();
        return c;
    }

    private Socket nextSocket() throws InterruptedException {
        Socket s = connected.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("connection listener").isNotNull();
        return s;
    }

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void openPacketCarriesSidHeartbeatAndMaxPayloadAndConnectGetsSocketId() throws Exception {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofSeconds(7)).heartbeatTimeout(Duration.ofSeconds(3))
                .maxMessageBytes(5000), SocketIoConfig.defaults());
        SioConnection c = SioConnection.open(io, ALICE);
        String open = c.next();
        assertThat(open).startsWith("0");
        JsonNode o = json(open.substring(1));
        assertThat(o.path("sid").asText()).hasSizeGreaterThanOrEqualTo(20);
        assertThat(o.path("upgrades").isArray()).isTrue();
        assertThat(o.path("pingInterval").asLong()).isEqualTo(7000);
        assertThat(o.path("pingTimeout").asLong()).isEqualTo(3000);
        assertThat(o.path("maxPayload").asLong()).isEqualTo(5000);
        c.send("40");
        String reply = c.next();
        assertThat(reply).startsWith("40{");
        JsonNode r = json(reply.substring(2));
        Socket socket = nextSocket();
        assertThat(r.path("sid").asText()).isEqualTo(socket.id()).isNotEqualTo(o.path("sid").asText());
        assertThat(r.has("pid")).as("no pid without recovery").isFalse();
        assertThat(socket.recovered()).isFalse();
        assertThat(socket.rooms()).containsExactly(socket.id());
        assertThat(tether.stats().connections()).isEqualTo(1);
    }

    @Test
    void eventWithAckRunsTheHandlerAndAnswersWithTheSameId() throws Exception {
        start();
        SioConnection c = connectedToMain();
        Socket socket = nextSocket();
        c.send("427[\"hello\",\"bob\"]");
        assertThat(c.next()).isEqualTo("437[\"hi bob\",42]");
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo(socket.id() + ":[\"bob\"]");
        c.send("42[\"hello\",\"carol\"]");
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo(socket.id() + ":[\"carol\"]");
    }

    /** A value the application emits; its mapper decides the field names. */
    public record Temperature(String roomName, double degreesCelsius) {
    }

    @Test
    void emittedObjectsAreMappedWithTheConfiguredObjectMapperToOneSocketAndToARoom() throws Exception {
        ObjectMapper snake = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        start(TetherConfig.builder(), SocketIoConfig.builder().objectMapper(snake).build());
        SioConnection c = connectedToMain();
        Socket socket = nextSocket();
        socket.emit("reading", new Temperature("lab", 21.5));
        assertThat(c.next()).isEqualTo("42[\"reading\",{\"room_name\":\"lab\",\"degrees_celsius\":21.5}]");
        io.of("/").to(socket.id()).emit("reading", new Temperature("hall", 19.0));
        assertThat(c.next()).isEqualTo("42[\"reading\",{\"room_name\":\"hall\",\"degrees_celsius\":19.0}]");
    }

    @Test
    void withoutAnObjectMapperEmittedObjectsUseJacksonsDefaults() throws Exception {
        start();
        SioConnection c = connectedToMain();
        nextSocket().emit("reading", new Temperature("lab", 21.5));
        assertThat(c.next()).isEqualTo("42[\"reading\",{\"roomName\":\"lab\",\"degreesCelsius\":21.5}]");
    }

    @Test
    void serverEmitWithAckCompletesWithTheClientsAnswerOrTimesOut() throws Exception {
        start();
        SioConnection c = connectedToMain();
        Socket socket = nextSocket();
        CompletableFuture<List<JsonNode>> answered = socket.emitWithAck("question", Duration.ofSeconds(10), "why");
        String asked = c.next();
        assertThat(asked).matches("42(\\d+)\\[\"question\",\"why\"\\]");
        String id = asked.substring(2, asked.indexOf('['));
        c.send("43" + id + "[\"because\",1]");
        assertThat(answered.get(10, TimeUnit.SECONDS)).extracting(JsonNode::toString).containsExactly("\"because\"", "1");

        CompletableFuture<List<JsonNode>> ignored = socket.emitWithAck("question", Duration.ofMillis(200), "again");
        assertThat(c.next()).contains("\"again\"");
        assertThatThrownBy(() -> ignored.get(10, TimeUnit.SECONDS))
                .hasCauseInstanceOf(RequestException.class)
                .cause().extracting(e -> ((RequestException) e).code()).isEqualTo(RequestException.TIMEOUT);
    }

    @Test
    void unknownNamespaceAndRefusingMiddlewareGetConnectErrorAndTheConnectionStays() throws Exception {
        start();
        io.of("/admin").use(Authenticator.sync(request -> request.bearerToken().filter("s3cret"::equals).isPresent()
                ? AuthResult.accept(() -> "admin") : AuthResult.unauthorized("Not authorized")));
        io.of("/admin").on("connection", connected::add);
        SioConnection c = SioConnection.open(io, ALICE);
        c.next();
        c.send("40/nope,");
        assertThat(c.next()).isEqualTo("44/nope,{\"message\":\"Invalid namespace\"}");
        c.send("40/admin,{\"token\":\"wrong\"}");
        assertThat(c.next()).isEqualTo("44/admin,{\"message\":\"Not authorized\"}");
        c.send("40/admin,{\"token\":\"s3cret\"}");
        assertThat(c.next()).startsWith("40/admin,{\"sid\":");
        Socket admin = nextSocket();
        assertThat(admin.principal().getName()).isEqualTo("admin");
        assertThat(admin.namespace().name()).isEqualTo("/admin");
        c.send("40");
        assertThat(c.next()).startsWith("40{\"sid\":");
        assertThat(nextSocket().namespace().name()).isEqualTo("/");
    }

    @Test
    void malformedPacketsCloseOnlyTheirConnection() throws Exception {
        start();
        SioConnection good = connectedToMain();
        Socket socket = nextSocket();
        for (String bad : List.of("4", "49", "42{\"not\":\"array\"}", "42[\"connect\"]", "42[", "43[]", "2", "x",
                "452-[\"a\",{\"_placeholder\":true,\"num\":0}]" /* then a text frame instead of binary */)) {
            SioConnection c = connectedToMain();
            nextSocket();
            c.send(bad);
            if (bad.startsWith("45")) {
                c.send("42[\"x\"]");
            }
            assertThat(c.awaitClose()).as(bad).isEqualTo(CloseCodes.BAD_REQUEST);
        }
        socket.emit("still", "here");
        assertThat(good.next()).isEqualTo("42[\"still\",\"here\"]");
    }

    @Test
    void binaryAttachmentsRoundTrip() throws Exception {
        start();
        SioConnection c = connectedToMain();
        nextSocket();
        c.send("451-3[\"bin\",{\"_placeholder\":true,\"num\":0}]");
        c.sendBinary("abc".getBytes(StandardCharsets.UTF_8));
        assertThat(c.next()).isEqualTo("461-3[{\"_placeholder\":true,\"num\":0},\"tag\"]");
        assertThat(c.next()).isEqualTo("<bin:abc>");
    }

    @Test
    void roomsAndBroadcastReachTheRightSockets() throws Exception {
        start();
        SioConnection a = SioConnection.open(io, ALICE);
        SioConnection b = SioConnection.open(io, ALICE);
        a.next();
        b.next();
        a.send("40");
        a.next();
        Socket sa = nextSocket();
        b.send("40");
        b.next();
        Socket sb = nextSocket();
        sa.join("r");
        sb.join("r");
        assertThat(io.to("r").emit("room", 1)).isEqualTo(2);
        assertThat(a.next()).isEqualTo("42[\"room\",1]");
        assertThat(b.next()).isEqualTo("42[\"room\",1]");
        assertThat(sa.broadcast().emit("others", 2)).isEqualTo(1);
        assertThat(b.next()).isEqualTo("42[\"others\",2]");
        sb.leave("r");
        assertThat(sa.to("r").emit("nobody")).isZero();
        assertThat(io.to(sb.id()).emit("direct")).isEqualTo(1);
        assertThat(b.next()).isEqualTo("42[\"direct\"]");
        assertThat(a.poll(Duration.ofMillis(100))).isNull();
    }

    @Test
    void clientPingIsAnInvalidHeartbeatDirectionAndMissingPongTimesOut() throws Exception {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofMillis(100)),
                SocketIoConfig.defaults());
        SioConnection silent = SioConnection.open(io, ALICE);
        silent.next();
        assertThat(silent.awaitClose()).isEqualTo(CloseCodes.HEARTBEAT_TIMEOUT);
        assertThat(silent.received).contains("2");
        SioConnection pinging = SioConnection.open(io, ALICE);
        pinging.next();
        pinging.send("2");
        assertThat(pinging.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
        assertThat(pinging.closeReason).isEqualTo("invalid heartbeat direction");
    }

    @Test
    void clientDisconnectEndsTheSocketAndTransportLossKeepsItForRecovery() throws Exception {
        start();
        SioConnection c = connectedToMain();
        Socket s = nextSocket();
        c.send("41");
        assertThat(disconnects.poll(10, TimeUnit.SECONDS)).isEqualTo("client namespace disconnect");
        assertThat(s.session().isClosed()).isTrue();
        SioConnection d = connectedToMain();
        Socket t = nextSocket();
        d.drop();
        assertThat(disconnects.poll(10, TimeUnit.SECONDS)).isEqualTo("transport close");
        assertThat(t.session().isClosed()).isFalse();
        assertThat(t.connected()).isFalse();
    }

    @Test
    void nativePublishToARoomTopicIsEncodedForSocketIoSubscribers() throws Exception {
        start();
        SioConnection c = connectedToMain();
        Socket s = nextSocket();
        s.join("shared");
        assertThat(tether.publish("sio:/#shared", "ev", dev.tether.core.Payload.text("x"))).isEqualTo(1);
        assertThat(c.next()).isEqualTo("42[\"ev\",\"x\"]");
        assertThat(s.to("shared").emit("ev", "not to the sender")).isZero();
    }

    @Test
    void hubCloseDoesNotWaitForAcknowledgementsSocketIoClientsNeverSend() throws Exception {
        start(TetherConfig.builder().drainTimeout(Duration.ofSeconds(8)), SocketIoConfig.defaults());
        SioConnection c = connectedToMain();
        Socket s = nextSocket();
        s.emit("n", 1);
        assertThat(c.next()).isEqualTo("42[\"n\",1]");
        long started = System.nanoTime();
        tether.close();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.SERVER_RESTART);
    }

    @Test
    void hubCloseWritesWhatIsQueuedThenClosesEachTransportAtItsOwnTimeInTheDrainWindow() throws Exception {
        tether = Tether.create(TetherConfig.builder().errorHandler((c, e) -> { })
                .drainTimeout(Duration.ofSeconds(30))
                .drainReconnectWindow(Duration.ofMillis(200), Duration.ofMillis(1200))
                .build(), new SessionHandler() { });
        io = SocketIo.create(tether, SocketIoConfig.defaults());
        io.on("connection", socket -> {
            socket.onDisconnect(disconnects::add);
            connected.add(socket);
        });
        List<SioConnection> clients = new java.util.ArrayList<>();
        List<Long> closedAtNs = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < 20; i++) {
            SioConnection c = connectedToMain();
            nextSocket();
            c.closeCode.thenRun(() -> closedAtNs.add(System.nanoTime()));
            clients.add(c);
        }
        SioConnection blocked = clients.get(0);
        blocked.writable = false; // its client does not read: the broadcast waits in its queue
        io.emit("last", "words");
        long started = System.nanoTime();
        CompletableFuture<Void> closing = CompletableFuture.runAsync(tether::close);
        for (SioConnection c : clients.subList(1, clients.size())) {
            assertThat(c.next()).isEqualTo("42[\"last\",\"words\"]");
            assertThat(c.awaitClose()).isEqualTo(CloseCodes.SERVER_RESTART);
        }
        assertThat(closing).as("the hub waits for the blocked transport").isNotDone();
        assertThat(blocked.closeCode).isNotDone();
        blocked.setWritable();
        assertThat(blocked.next()).as("written before the close").isEqualTo("42[\"last\",\"words\"]");
        assertThat(blocked.awaitClose()).isEqualTo(CloseCodes.SERVER_RESTART);
        closing.get(10, TimeUnit.SECONDS);

        List<Long> afterMs = closedAtNs.stream().map(t -> TimeUnit.NANOSECONDS.toMillis(t - started)).sorted().toList();
        assertThat(afterMs).hasSize(20).allSatisfy(ms -> assertThat(ms).isGreaterThanOrEqualTo(200));
        assertThat(afterMs.get(18) - afterMs.get(0)).as("closes spread over the window, not at once: " + afterMs)
                .isGreaterThanOrEqualTo(300);
        for (int i = 0; i < 20; i++) {
            assertThat(disconnects.poll(10, TimeUnit.SECONDS)).as("disconnect listener " + i)
                    .isEqualTo("server shutting down");
        }
    }

    // ------------------------------------------------------------ connection state recovery

    private SocketIo startWithRecovery(int replayMessages) {
        return start(TetherConfig.builder().replayBufferMessages(replayMessages),
                SocketIoConfig.builder().connectionStateRecovery(true).build());
    }

    @Test
    void recoveryReplaysWhatTheClientMissedWithTheSameIds() throws Exception {
        startWithRecovery(16);
        SioConnection c = SioConnection.open(io, ALICE);
        c.next();
        c.send("40");
        JsonNode first = json(c.next().substring(2));
        Socket s = nextSocket();
        s.join("r");
        s.emit("n", 1);
        assertThat(c.next()).isEqualTo("42[\"n\",1,\"1\"]");
        c.drop();
        assertThat(disconnects.poll(10, TimeUnit.SECONDS)).isEqualTo("transport close");
        io.to("r").emit("n", 2);
        s.emit("n", 3);

        SioConnection again = SioConnection.open(io, ALICE);
        again.next();
        again.send("40{\"pid\":\"" + first.path("pid").asText() + "\",\"offset\":\"1\"}");
        JsonNode reply = json(again.next().substring(2));
        assertThat(reply.path("sid").asText()).isEqualTo(first.path("sid").asText());
        assertThat(reply.path("pid").asText()).isEqualTo(first.path("pid").asText());
        assertThat(again.next()).isEqualTo("42[\"n\",2,\"2\"]");
        assertThat(again.next()).isEqualTo("42[\"n\",3,\"3\"]");
        Socket recovered = nextSocket();
        assertThat(recovered).isSameAs(s);
        assertThat(recovered.recovered()).isTrue();
        assertThat(recovered.rooms()).contains("r");
        again.send("42[\"hello\",\"back\"]");
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo(s.id() + ":[\"back\"]");
    }

    @Test
    void evictedOffsetForgedPidOrUnknownOffsetGetANewSession() throws Exception {
        startWithRecovery(4);
        SioConnection c = SioConnection.open(io, ALICE);
        c.next();
        c.send("40");
        JsonNode first = json(c.next().substring(2));
        Socket s = nextSocket();
        for (int i = 1; i <= 10; i++) {
            s.emit("n", i);
        }
        for (int i = 1; i <= 10; i++) {
            assertThat(c.next()).isEqualTo("42[\"n\"," + i + ",\"" + i + "\"]");
        }
        c.drop();
        String pid = first.path("pid").asText();
        for (String auth : List.of(
                "{\"pid\":\"" + pid + "x\",\"offset\":\"9\"}",          // forged token
                "{\"pid\":\"" + pid + "\",\"offset\":\"99\"}",          // beyond what was sent
                "{\"pid\":\"" + pid + "\",\"offset\":\"abc\"}")) {      // not one of ours
            SioConnection d = SioConnection.open(io, ALICE);
            d.next();
            d.send("40" + auth);
            JsonNode reply = json(d.next().substring(2));
            assertThat(reply.path("sid").asText()).as(auth).isNotEqualTo(first.path("sid").asText());
            assertThat(nextSocket().recovered()).isFalse();
            d.drop();
        }
        SioConnection old = SioConnection.open(io, ALICE);
        old.next();
        old.send("40{\"pid\":\"" + pid + "\",\"offset\":\"2\"}"); // 3..6 were evicted
        JsonNode reply = json(old.next().substring(2));
        assertThat(reply.path("sid").asText()).isNotEqualTo(first.path("sid").asText());
        assertThat(nextSocket().recovered()).isFalse();
        assertThat(s.session().isClosed()).as("the unrecoverable session ends").isTrue();
    }

    @Test
    void recoveryAfterTheRetentionWindowGetsANewSession() throws Exception {
        start(TetherConfig.builder().sessionRetention(Duration.ofMillis(100)),
                SocketIoConfig.builder().connectionStateRecovery(true).build());
        SioConnection c = SioConnection.open(io, ALICE);
        c.next();
        c.send("40");
        JsonNode first = json(c.next().substring(2));
        Socket s = nextSocket();
        s.emit("n", 1);
        c.next();
        c.drop();
        assertThat(disconnects.poll(10, TimeUnit.SECONDS)).isEqualTo("transport close");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!s.session().isClosed() && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // bounded poll of a state with no event
        }
        assertThat(s.session().isClosed()).isTrue();
        SioConnection d = SioConnection.open(io, ALICE);
        d.next();
        d.send("40{\"pid\":\"" + first.path("pid").asText() + "\",\"offset\":\"1\"}");
        assertThat(json(d.next().substring(2)).path("sid").asText()).isNotEqualTo(first.path("sid").asText());
        assertThat(nextSocket().recovered()).isFalse();
    }

    @Test
    void slowConsumerOverflowClosesTheTransportAndMakesTheSessionUnrecoverable() throws Exception {
        start(TetherConfig.builder().outboundQueueCapacity(8).volatileQueueLimit(4),
                SocketIoConfig.builder().connectionStateRecovery(true).build());
        SioConnection c = SioConnection.open(io, ALICE);
        c.next();
        c.send("40");
        JsonNode first = json(c.next().substring(2));
        Socket s = nextSocket();
        c.writable = false;
        for (int i = 0; i < 20; i++) {
            s.emit("n", i);
        }
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.SLOW_CONSUMER);
        assertThat(tether.stats().slowConsumerCloses()).isEqualTo(1);
        SioConnection d = SioConnection.open(io, ALICE);
        d.next();
        d.send("40{\"pid\":\"" + first.path("pid").asText() + "\",\"offset\":\"0\"}");
        assertThat(json(d.next().substring(2)).path("sid").asText()).isNotEqualTo(first.path("sid").asText());
        assertThat(nextSocket().recovered()).isFalse();
    }
}
