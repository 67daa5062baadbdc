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
import dev.tether.core.spi.Authorizer;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The acceptance case of the hardening issue: under hostile input the server's memory stays flat
 * and other connections keep receiving. The server runs in this JVM, so its heap is measured
 * directly: used heap after forced collections, before and after 800 hostile connections, while
 * a well-behaved subscriber keeps receiving a stream of topic messages.
 */
class HostileLoadConformanceIT {

    @RegisterExtension
    static final ConformanceCaseList CASES = new ConformanceCaseList();

    private static final int MAX_MESSAGE_BYTES = 65_536;
    private static final int HOSTILE_EACH = 200;
    private static final int WARM_UP_EACH = 20;
    private static final int MIN_PUBLISHED = 500;
    /** How much more heap than before the attack counts as flat. */
    private static final long HEAP_BOUND_BYTES = 8L << 20;
    /**
     * How much more pooled (direct) memory than before counts as flat for one flooding client, with
     * room for the pool's own churn: Undertow's answer, one pong per ping, pinned each ping's
     * 16 KiB pooled buffer until written, up to 50 of them (800 KiB) before it stopped reading.
     */
    private static final long DIRECT_BOUND_BYTES = 512L << 10;
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int FLOOD_PINGS = 200_000;
    private static final int PINGS_PER_WRITE = 1_000;
    private static final int PING_PAYLOAD_BYTES = 125;
    /** The flooder's receive buffer: small, so that the server's pongs back up at once. */
    private static final int SMALL_RECEIVE_BUFFER = 4_096;
    private static final String HELLO = "{\"t\":\"hello\",\"v\":1}";
    /** A fall in used heap smaller than this counts as settled. */
    private static final long SETTLED_BYTES = 512L << 10;
    private static final String NATIVE = "/tether";
    private static final String SOCKET_IO = "/socket.io/?EIO=4&transport=websocket";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The hostile inputs and the close code each must get. */
    private enum Attack {
        OVERSIZE_FRAME(CloseCodes.MESSAGE_TOO_BIG, frame(MAX_MESSAGE_BYTES + 1)),
        TEN_THOUSAND_FRAGMENTS(CloseCodes.MESSAGE_TOO_BIG, fragments(10_000, 7)),
        HUGE_DECLARED_LENGTH(CloseCodes.MESSAGE_TOO_BIG, RawWebSocket.header64(RawWebSocket.OP_TEXT, Long.MAX_VALUE)),
        GARBAGE(CloseCodes.PROTOCOL_ERROR, garbage());

        final int closeCode;
        final byte[] bytes;

        Attack(int closeCode, byte[] bytes) {
            this.closeCode = closeCode;
            this.bytes = bytes;
        }

        private static byte[] frame(int bytes) {
            byte[] payload = new byte[bytes];
            Arrays.fill(payload, (byte) ' ');
            return RawWebSocket.frame(true, 0, RawWebSocket.OP_TEXT, payload);
        }

        private static byte[] fragments(int count, int bytesEach) {
            byte[] part = new byte[bytesEach];
            Arrays.fill(part, (byte) ' ');
            ByteArrayOutputStream frames = new ByteArrayOutputStream(count * (bytesEach + 6));
            for (int i = 0; i < count; i++) {
                int opcode = i == 0 ? RawWebSocket.OP_BINARY : RawWebSocket.OP_CONTINUATION;
                frames.writeBytes(RawWebSocket.frame(i == count - 1, 0, opcode, part));
            }
            return frames.toByteArray();
        }

        /** Plain HTTP where a frame should be: 'G' reads as a frame with RSV1 set. */
        private static byte[] garbage() {
            return "GET / HTTP/1.1\r\nHost: example\r\n\r\n\u0000\u00ff\u00fe".getBytes(StandardCharsets.ISO_8859_1);
        }
    }

    private final List<Integer> received = new CopyOnWriteArrayList<>();
    private final Semaphore arrivals = new Semaphore(0);
    private final ConcurrentLinkedQueue<Integer> disconnects = new ConcurrentLinkedQueue<>();
    private Tether tether;
    private TetherServer server;
    private TetherClient subscriber;
    private ExecutorService attackers;
    private ExecutorService publishing;
    private ExecutorService reading;

    @BeforeEach
    void start() {
        // A heartbeat slower than any test here: a flooder that never reads must not be closed
        // for a missed heartbeat while its pongs are being counted.
        tether = Tether.create(TetherConfig.builder().maxMessageBytes(MAX_MESSAGE_BYTES)
                .heartbeatInterval(Duration.ofMinutes(2)).heartbeatTimeout(Duration.ofMinutes(1))
                .authorizer(Authorizer.topics("news"::equals, topic -> false)) // the subscriber asks; the server publishes
                .drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        attackers = Executors.newFixedThreadPool(8);
        publishing = Executors.newSingleThreadExecutor();
        reading = Executors.newSingleThreadExecutor();
    }

    @AfterEach
    void stop() throws InterruptedException {
        attackers.shutdownNow();
        publishing.shutdownNow();
        reading.shutdownNow();
        assertThat(attackers.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(publishing.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(reading.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        if (subscriber != null) {
            subscriber.close();
        }
        tether.close();
        if (server != null) {
            server.close();
        }
    }

    private void startServer(int maxPingsPerMinute) {
        server = TetherServer.start(tether, serverConfig(maxPingsPerMinute));
    }

    private static TetherUndertowConfig serverConfig(int maxPingsPerMinute) {
        return TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .messageReadTimeout(Duration.ofSeconds(2)).maxPingsPerMinute(maxPingsPerMinute).build();
    }

    @Test
    @DisplayName("§10.4 800 hostile connections to /tether (over-size frame, 10,000 fragments, 2^63−1 header → "
            + "1009; garbage → 1002) → heap within 8 MiB of before, a subscriber gets every message in order")
    void underHostileInputMemoryStaysFlatAndOthersKeepReceiving() throws Exception {
        startServer(TetherUndertowConfig.DEFAULT_MAX_PINGS_PER_MINUTE);
        subscribe();
        hostileMixLeavesTheHeapFlat(NATIVE, n -> tether.publish("news", "tick", Payload.text(Integer.toString(n))));
    }

    @Test
    @DisplayName("§10.4 800 hostile connections to the Socket.IO WebSocket transport (the same mix, the same codes) → "
            + "heap within 8 MiB of before, a Socket.IO client gets every event in order")
    void underHostileInputTheSocketIoEndpointStaysFlatAndItsClientsKeepReceiving() throws Exception {
        SocketIo io = SocketIo.create(tether, SocketIoConfig.defaults());
        server = TetherServer.start(io, serverConfig(TetherUndertowConfig.DEFAULT_MAX_PINGS_PER_MINUTE));
        try (RawWebSocket client = RawWebSocket.connect(server.address(), SOCKET_IO)) {
            // Idle while the heap settles before the attack: up to 20 s.
            client.timeout(WAIT);
            assertThat(client.readText()).startsWith("0{");
            client.sendText("40");
            assertThat(client.readText()).startsWith("40{");
            Future<?> reader = reading.submit(() -> readEvents(client));
            hostileMixLeavesTheHeapFlat(SOCKET_IO, n -> io.emit("tick", n));
            assertThat(reader).as("the Socket.IO client still reading").isNotDone();
        }
    }

    /**
     * Attacks {@code path} with {@link #HOSTILE_EACH} connections of each {@link Attack} while
     * {@code publish} sends 0, 1, 2… to the well-behaved client; asserts every close code, that
     * the client got every message in order, and that the heap is back within
     * {@link #HEAP_BOUND_BYTES} of before.
     */
    private void hostileMixLeavesTheHeapFlat(String path, IntUnaryOperator publish) throws Exception {
        // Warm-up: load the classes and fill the pools and caches that every connection uses
        // once, so that the baseline is the steady state rather than a cold server.
        attack(path, WARM_UP_EACH);
        long heapBefore = settledUsedHeap();
        long directBefore = directBytes();

        AtomicBoolean attackDone = new AtomicBoolean();
        Future<Integer> publisher = publishUntil(attackDone, publish);
        long attackStart = System.nanoTime();
        Map<Attack, List<Integer>> codes = attack(path, HOSTILE_EACH);
        long attackMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - attackStart);
        attackDone.set(true);
        int published = publisher.get(WAIT.toSeconds(), TimeUnit.SECONDS);

        for (Attack kind : Attack.values()) {
            assertThat(codes.get(kind)).as("close codes for %s", kind)
                    .hasSize(HOSTILE_EACH).containsOnly(kind.closeCode);
        }
        assertSubscriberGotEverything(published);

        Await.until(() -> tether.stats().connections() == 1, WAIT, "only the subscriber left connected");
        long heapAfter = settledUsedHeap();
        long directAfter = directBytes();
        System.out.printf("%nHostile load on %s: %d connections in %d ms while %d messages were published%n"
                        + "  used heap after GC: before %,d B, after %,d B, difference %+,d B (bound %,d B)%n"
                        + "  direct buffers:     before %,d B, after %,d B%n",
                path, HOSTILE_EACH * Attack.values().length, attackMs, published,
                heapBefore, heapAfter, heapAfter - heapBefore, HEAP_BOUND_BYTES, directBefore, directAfter);
        assertThat(heapAfter - heapBefore).as("heap growth after the attack").isLessThan(HEAP_BOUND_BYTES);
    }

    /**
     * Reads the Socket.IO client's {@code 42["tick",n]} events into {@link #received} until its
     * socket is closed by the test; a close frame from the server counts as a disconnect.
     */
    private Void readEvents(RawWebSocket client) {
        try {
            for (;;) {
                RawWebSocket.WireFrame frame = client.readFrame();
                if (frame.isClose()) {
                    disconnects.add(frame.closeCode());
                    return null;
                }
                if (frame.opcode() == RawWebSocket.OP_TEXT && frame.text().equals("2")) {
                    client.sendText("3"); // the Engine.IO heartbeat, should the test outlast its interval
                } else if (frame.opcode() == RawWebSocket.OP_TEXT) {
                    assertThat(frame.text()).startsWith("42");
                    JsonNode event = JSON.readTree(frame.text().substring(2));
                    assertThat(event.path(0).asText()).isEqualTo("tick");
                    received.add(event.path(1).asInt());
                    arrivals.release();
                }
            }
        } catch (IOException e) {
            return null; // closed by the test, or idle past the read timeout
        }
    }

    @Test
    @DisplayName("§5.5.3 200,000 pings from a client that never reads (ping limit off) → at most one pong "
            + "pending: the server keeps reading it, heap within 8 MiB and pooled memory within 512 KiB "
            + "of before while it is connected, the last ping answered, a subscriber gets every message in order")
    void aPingFloodThatNeverReadsHoldsAtMostOnePongAndTheLastPingIsAnswered() throws Exception {
        startServer(0);
        subscribe();
        // Warm-up: the same flood, small and read at once, loads the classes a flood uses.
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            sendPings(raw, 1_000);
            readPongsUntil(raw, 999);
        }
        long heapBefore = settledUsedHeap();
        long directBefore = directBytes();

        AtomicBoolean floodDone = new AtomicBoolean();
        Future<Integer> publisher = publishUntil(floodDone);
        long heapDuring;
        long directDuring;
        int pongs;
        int receiveBuffer;
        long floodMs;
        try (RawWebSocket raw = RawWebSocket.connectWithReceiveBuffer(server.address(), "/tether", SMALL_RECEIVE_BUFFER)) {
            receiveBuffer = raw.receiveBufferBytes();
            long floodStart = System.nanoTime();
            Future<?> flood = attackers.submit(() -> {
                sendPings(raw, FLOOD_PINGS);
                raw.sendText(HELLO);
                return null;
            });
            // Undertow stops reading a connection with more than 50 frames queued for it: were
            // the pongs queued, the writes would stall here, and the hello would never be read.
            assertThat(flood).as("the server reads all the pings and the hello").succeedsWithin(WAIT);
            floodMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - floodStart);
            // Frames are read in order: once the hello has opened a session, every ping before
            // it has been read and answered or kept.
            Await.until(() -> tether.stats().sessions() == 2, WAIT, "the flooder's hello, sent after its pings");
            heapDuring = settledUsedHeap();
            directDuring = directBytes();
            pongs = readPongsUntil(raw, FLOOD_PINGS - 1);
        }
        floodDone.set(true);
        int published = publisher.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertSubscriberGotEverything(published);

        System.out.printf("%nPing flood: %,d pings of %d B in %d ms from a client with a %,d B receive buffer, "
                        + "never read until measured; then %,d pongs arrived, the last answering the last ping%n"
                        + "  used heap after GC: before %,d B, during %,d B, difference %+,d B (bound %,d B)%n"
                        + "  direct buffers:     before %,d B, during %,d B, difference %+,d B (bound %,d B)%n",
                FLOOD_PINGS, PING_PAYLOAD_BYTES, floodMs, receiveBuffer, pongs,
                heapBefore, heapDuring, heapDuring - heapBefore, HEAP_BOUND_BYTES,
                directBefore, directDuring, directDuring - directBefore, DIRECT_BOUND_BYTES);
        assertThat(heapDuring - heapBefore).as("heap growth while the flooder is connected").isLessThan(HEAP_BOUND_BYTES);
        assertThat(directDuring - directBefore).as("pooled (direct) memory growth while the flooder is connected")
                .isLessThan(DIRECT_BOUND_BYTES);
        assertThat(pongs).as("pongs for %,d pings", FLOOD_PINGS).isLessThan(FLOOD_PINGS);
    }

    @Test
    @DisplayName("§5.5.2 200,000 pings from a client that never reads (default limit, 300 a minute) → "
            + "1008 \"too many pings\" after at most 300 pongs, a subscriber gets every message in order")
    void aPingFloodOverTheLimitIsClosedWith1008() throws Exception {
        startServer(TetherUndertowConfig.DEFAULT_MAX_PINGS_PER_MINUTE);
        subscribe();
        AtomicBoolean floodDone = new AtomicBoolean();
        Future<Integer> publisher = publishUntil(floodDone);
        int pongs = 0;
        RawWebSocket.WireFrame close;
        try (RawWebSocket raw = RawWebSocket.connectWithReceiveBuffer(server.address(), "/tether", SMALL_RECEIVE_BUFFER)) {
            try {
                sendPings(raw, FLOOD_PINGS);
            } catch (IOException e) {
                // closed before we finished writing: the close frame is still there to read
            }
            for (RawWebSocket.WireFrame frame = raw.readFrame(); ; frame = raw.readFrame()) {
                if (frame.isClose()) {
                    close = frame;
                    break;
                }
                assertThat(frame.opcode()).isEqualTo(RawWebSocket.OP_PONG);
                pongs++;
            }
        }
        floodDone.set(true);
        int published = publisher.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertSubscriberGotEverything(published);
        System.out.printf("%nPing flood over the limit: %,d pongs, then close %d \"%s\"%n",
                pongs, close.closeCode(), close.closeReason());
        assertThat(close.closeCode()).isEqualTo(CloseCodes.POLICY_VIOLATION);
        assertThat(close.closeReason()).isEqualTo("too many pings");
        assertThat(pongs).isLessThanOrEqualTo(TetherUndertowConfig.DEFAULT_MAX_PINGS_PER_MINUTE);
        Await.until(() -> tether.stats().connections() == 1, WAIT, "only the subscriber left connected");
    }

    /**
     * Sends {@code count} pings, many per write, each with the largest payload a control frame
     * may carry (125 bytes), which starts with its index: 200,000 pongs are then 25 MB, far more
     * than the kernel buffers of a loopback connection hold (up to 4 MiB on the sending side).
     */
    private static void sendPings(RawWebSocket raw, int count) throws IOException {
        int frameBytes = 2 + 4 + PING_PAYLOAD_BYTES;
        ByteArrayOutputStream batch = new ByteArrayOutputStream(PINGS_PER_WRITE * frameBytes);
        byte[] payload = new byte[PING_PAYLOAD_BYTES];
        for (int i = 0; i < count; i++) {
            ByteBuffer.wrap(payload).putInt(i);
            batch.writeBytes(RawWebSocket.frame(true, 0, RawWebSocket.OP_PING, payload));
            if (batch.size() >= PINGS_PER_WRITE * frameBytes || i == count - 1) {
                raw.sendRaw(batch.toByteArray());
                batch.reset();
            }
        }
    }

    /**
     * Reads until the pong that answers ping {@code last}, skipping data frames; returns how many
     * pongs arrived. Each answers a later ping than the one before, since a pong may only be
     * dropped in favour of a later one.
     */
    private static int readPongsUntil(RawWebSocket raw, int last) throws IOException {
        int pongs = 0;
        int answered = -1;
        while (answered != last) {
            RawWebSocket.WireFrame frame = raw.readFrame();
            assertThat(frame.isClose()).as("closed with %d %s", frame.closeCode(), frame.closeReason()).isFalse();
            if (frame.opcode() == RawWebSocket.OP_PONG) {
                assertThat(frame.payload()).hasSize(PING_PAYLOAD_BYTES);
                int ping = ByteBuffer.wrap(frame.payload()).getInt();
                assertThat(ping).as("the ping a pong answers").isGreaterThan(answered).isLessThanOrEqualTo(last);
                answered = ping;
                pongs++;
            }
        }
        return pongs;
    }

    /** Connects the well-behaved subscriber to "news"; what it receives goes to {@link #received}. */
    private void subscribe() throws Exception {
        subscriber = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onMessage(TetherClient c, Message message) {
                        received.add(Integer.parseInt(message.payload().asText()));
                        arrivals.release();
                    }

                    @Override
                    public void onDisconnected(TetherClient c, int code, String reason) {
                        disconnects.add(code);
                    }
                }).build();
        subscriber.connect().thenCompose(c -> c.subscribe("news")).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Publishes 0, 1, 2… to "news" until {@code done} and at least {@link #MIN_PUBLISHED}; the count. */
    private Future<Integer> publishUntil(AtomicBoolean done) {
        return publishUntil(done, n -> tether.publish("news", "tick", Payload.text(Integer.toString(n))));
    }

    /**
     * Publishes 0, 1, 2… with {@code publish} (which returns how many it reached, 1: the
     * subscriber) until {@code done} and at least {@link #MIN_PUBLISHED}; the count.
     */
    private Future<Integer> publishUntil(AtomicBoolean done, IntUnaryOperator publish) {
        return publishing.submit(() -> {
            int n = 0;
            while (!done.get() || n < MIN_PUBLISHED) {
                assertThat(publish.applyAsInt(n)).isEqualTo(1);
                n++;
                TimeUnit.MILLISECONDS.sleep(2); // the publishing rate, not synchronisation
            }
            return n;
        });
    }

    private void assertSubscriberGotEverything(int published) throws InterruptedException {
        assertThat(arrivals.tryAcquire(published, WAIT.toSeconds(), TimeUnit.SECONDS))
                .as("all %d messages reach the subscriber", published).isTrue();
        assertThat(received).containsExactlyElementsOf(IntStream.range(0, published).boxed().toList());
        assertThat(disconnects).as("the subscriber's connection never dropped").isEmpty();
    }

    /** Runs {@code each} connections of every kind to {@code path} at once, interleaved; the close code each got. */
    private Map<Attack, List<Integer>> attack(String path, int each) throws Exception {
        List<Attack> plan = new ArrayList<>();
        for (int i = 0; i < each; i++) {
            plan.addAll(List.of(Attack.values()));
        }
        Map<Attack, List<Integer>> codes = new ConcurrentHashMap<>();
        List<Future<?>> done = new ArrayList<>();
        for (Attack kind : plan) {
            done.add(attackers.submit(() -> {
                codes.computeIfAbsent(kind, k -> new CopyOnWriteArrayList<>()).add(hostile(path, kind));
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        return codes;
    }

    /** One hostile connection: sends its bytes and returns the close code the server answered. */
    private int hostile(String path, Attack kind) throws IOException {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), path)) {
            try {
                raw.sendRaw(kind.bytes);
            } catch (IOException e) {
                // refused before we finished writing: the close frame is still there to read
            }
            return raw.readCloseCode();
        }
    }

    /**
     * Used heap after full collections once it has not fallen for 4 s. Other tests in this JVM may
     * still be releasing memory in the background: the JDK's HTTP client lets go of everything it
     * holds only when its selector thread notices, up to 3 s after the client became unreachable
     * (seen here: 85 MB left by the 1,000-client fan-out test, gone 2 s later). A baseline taken
     * before that would be inflated and could hide a leak.
     */
    private static long settledUsedHeap() throws InterruptedException {
        long lowest = usedHeapAfterGc();
        int quiet = 0;
        for (int i = 0; i < 40 && quiet < 8; i++) {
            TimeUnit.MILLISECONDS.sleep(500); // room for background releases: a bounded retry, not synchronisation
            long used = usedHeapAfterGc();
            quiet = lowest - used > SETTLED_BYTES ? 0 : quiet + 1;
            lowest = Math.min(lowest, used);
        }
        return lowest;
    }

    /** Used heap after full collections, repeated until two readings agree within 256 KiB. */
    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long lowest = Long.MAX_VALUE;
        long previous = -1;
        for (int i = 0; i < 20; i++) {
            System.gc();
            long used = memory.getHeapMemoryUsage().getUsed();
            lowest = Math.min(lowest, used);
            if (previous >= 0 && Math.abs(used - previous) < 256 * 1024) {
                break;
            }
            previous = used;
        }
        return lowest;
    }

    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct"))
                .mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }
}
