package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xnio.StreamConnection;

/**
 * The transport's side of the SPI over real sockets: what the Undertow connection does with the
 * frames, flushes, closes and reads the engine asks for or is fed. The hub is a
 * {@link RecordingTether}, so every assertion is about the transport alone; the engine's
 * behaviour over this transport is covered by {@link TetherHandlerIT}.
 */
class UndertowConnectionIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Duration SHORT = Duration.ofMillis(300);
    private static final int MAX_MESSAGE_BYTES = 4096;

    private RecordingTether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        start(TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    private void start(TetherUndertowConfig config) {
        if (server != null) {
            server.close();
        }
        tether = new RecordingTether(TetherConfig.builder()
                .maxMessageBytes(MAX_MESSAGE_BYTES)
                .authenticator(Authenticator.sync(request -> {
                    String name = request.bearerToken().isPresent() ? "user" : "anonymous";
                    return AuthResult.accept(() -> name);
                }))
                .build());
        server = TetherServer.start(tether, config);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private RecordingTether.Attached attached() throws InterruptedException {
        RecordingTether.Attached a = tether.nextConnection(WAIT);
        assertThat(a).as("connection attached to the hub").isNotNull();
        return a;
    }

    private static <T> T onIoThread(TransportConnection connection, Callable<T> task) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        connection.execute(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static Frame text(String s) {
        return Frame.text(ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)).asReadOnlyBuffer());
    }

    @Test
    void writtenFrameIsNotOnTheWireUntilFlush() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            TransportConnection c = a.connection;

            assertThat(onIoThread(c, () -> c.write(text("one")) && c.write(text("two")))).isTrue();

            raw.timeout(SHORT);
            assertThatThrownBy(raw::readFrame).isInstanceOf(SocketTimeoutException.class);
            raw.timeout(WAIT);

            onIoThread(c, () -> {
                c.write(text("three"));
                c.flush();
                return null;
            });
            assertThat(raw.readFrame().text()).isEqualTo("one");
            assertThat(raw.readFrame().text()).isEqualTo("two");
            assertThat(raw.readFrame().text()).isEqualTo("three");
        }
    }

    @Test
    void framesSplitAcrossPartsArriveAsOneMessageOfTheRightType() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            TransportConnection c = attached().connection;
            onIoThread(c, () -> {
                c.write(Frame.text(ByteBuffer.wrap("{\"t\":".getBytes(StandardCharsets.UTF_8)),
                        ByteBuffer.wrap("\"x\"}".getBytes(StandardCharsets.UTF_8))));
                c.write(Frame.binary(ByteBuffer.wrap(new byte[] {1, 2}), ByteBuffer.wrap(new byte[] {3})));
                c.flush();
                return null;
            });
            RawWebSocket.WireFrame first = raw.readFrame();
            assertThat(first.opcode()).isEqualTo(RawWebSocket.OP_TEXT);
            assertThat(first.fin()).isTrue();
            assertThat(first.text()).isEqualTo("{\"t\":\"x\"}");
            RawWebSocket.WireFrame second = raw.readFrame();
            assertThat(second.opcode()).isEqualTo(RawWebSocket.OP_BINARY);
            assertThat(second.payload()).containsExactly(1, 2, 3);
        }
    }

    @Test
    void framesAroundAndAbovePooledBufferSizeArriveWholeInOneFrame() throws Exception {
        int[] sizes = {0, 125, 126, 65535, 65536, 16 * 1024 - 21, 16 * 1024 - 20, 16 * 1024 - 19, 16 * 1024, 300_000};
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            TransportConnection c = attached().connection;
            onIoThread(c, () -> {
                for (int size : sizes) {
                    byte[] bytes = new byte[size];
                    Arrays.fill(bytes, (byte) ('a' + size % 26));
                    // A shared read-only view with a non-zero position, as a topic publish hands over.
                    ByteBuffer shared = ByteBuffer.allocate(size + 3).position(3).put(bytes).position(3).asReadOnlyBuffer();
                    c.write(Frame.binary(shared));
                }
                c.flush();
                return null;
            });
            for (int size : sizes) {
                RawWebSocket.WireFrame frame = raw.readFrame();
                assertThat(frame.fin()).as("FIN of a %d byte frame", size).isTrue();
                assertThat(frame.opcode()).isEqualTo(RawWebSocket.OP_BINARY);
                assertThat(frame.payload()).hasSize(size);
                if (size > 0) {
                    assertThat(frame.payload()[size - 1]).isEqualTo((byte) ('a' + size % 26));
                }
            }
        }
    }

    @Test
    void closeFlushesQueuedFramesThenSendsCodeAndReportsOnce() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            TransportConnection c = a.connection;
            onIoThread(c, () -> c.write(text("last words")));

            c.close(4009, "slow consumer"); // from a thread that is not the I/O thread
            c.close(1000, "ignored: close is idempotent");

            assertThat(raw.readFrame().text()).isEqualTo("last words");
            RawWebSocket.WireFrame close = raw.readClose();
            assertThat(close.closeCode()).isEqualTo(4009);
            assertThat(close.closeReason()).isEqualTo("slow consumer");
            assertThat(a.nextClose(WAIT)).isEqualTo(4009);

            raw.sendClose(4009, "");
            assertThat(raw.awaitEndOfStream()).isTrue();
            assertThat(a.closedCalls.get()).isEqualTo(1);
            assertThat(a.offIoThreadCalls.get()).isZero();
            assertThat(onIoThread(c, () -> c.write(text("too late")))).isFalse();
        }
    }

    @Test
    void everyCloseCodeTheHubUsesReachesTheClient() throws Exception {
        int[] codes = {1000, 1001, 1009, 1011, 4002, 4003, 4008, 4009, 4010, 4012, 4013, 4500, 4501, 4502, 4505, 4506};
        for (int code : codes) {
            try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
                RecordingTether.Attached a = attached();
                a.connection.close(code, "code " + code);
                assertThat(raw.readCloseCode()).as("close code").isEqualTo(code);
                assertThat(a.nextClose(WAIT)).isEqualTo(code);
            }
        }
    }

    @Test
    void closeReasonIsCutTo123BytesWithoutSplittingACharacter() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            a.connection.close(4500, "x" + "é".repeat(100)); // 201 bytes of UTF-8
            RawWebSocket.WireFrame close = raw.readClose();
            assertThat(close.closeCode()).isEqualTo(4500);
            assertThat(close.payload().length - 2).isLessThanOrEqualTo(123);
            assertThat(close.closeReason()).isEqualTo("x" + "é".repeat(61));
            assertThat(a.nextClose(WAIT)).isEqualTo(4500);
            assertThat(a.closeReason).isEqualTo("x" + "é".repeat(61));
        }
    }

    @Test
    void peerCloseIsReportedWithItsCodeAndEchoed() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            raw.sendClose(4321, "bye");
            assertThat(a.nextClose(WAIT)).isEqualTo(4321);
            assertThat(a.closeReason).isEqualTo("bye");
            assertThat(raw.readCloseCode()).isEqualTo(4321);
            assertThat(raw.awaitEndOfStream()).isTrue();
            assertThat(a.closedCalls.get()).isEqualTo(1);
        }
    }

    @Test
    void closeFrameWithoutStatusIsReportedAs1005() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            raw.sendFrame(true, RawWebSocket.OP_CLOSE, new byte[0]);
            assertThat(a.nextClose(WAIT)).isEqualTo(1005);
            assertThat(raw.readCloseCode()).isEqualTo(1000);
        }
    }

    @Test
    void socketDeathWithoutCloseFrameIsReportedAs1006() throws Exception {
        RecordingTether.Attached a;
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            a = attached();
            raw.sendText("hello");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:hello");
        }
        assertThat(a.nextClose(WAIT)).isEqualTo(1006);
        assertThat(a.closedCalls.get()).isEqualTo(1);
    }

    @Test
    void socketDeathInTheMiddleOfAMessageIsReportedAs1006NotAsTooBig() throws Exception {
        byte[] payload = new byte[1000];
        byte[][] partial = {
            Arrays.copyOf(RawWebSocket.frame(true, 0, RawWebSocket.OP_BINARY, payload), 500),
            Arrays.copyOf(RawWebSocket.frame(false, 0, RawWebSocket.OP_BINARY, payload), 500),
        };
        for (byte[] bytes : partial) {
            for (boolean reset : new boolean[] {false, true}) {
                RecordingTether.Attached a;
                try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
                    a = attached();
                    raw.sendRaw(bytes);
                    if (reset) {
                        raw.resetOnClose();
                    }
                }
                assertThat(a.nextClose(WAIT)).as("fin %s, reset %s", (bytes[0] & 0x80) != 0, reset).isEqualTo(1006);
                assertThat(a.frames).isEmpty();
            }
        }
    }

    @Test
    void fragmentedMessagesAreDeliveredWhole() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            String text = "ü".repeat(1500); // 3000 bytes; fragments split characters
            raw.sendFragmented(RawWebSocket.OP_TEXT, text.getBytes(StandardCharsets.UTF_8), 7);
            raw.sendFrame(true, RawWebSocket.OP_PING, "p".getBytes(StandardCharsets.UTF_8));
            raw.sendFragmented(RawWebSocket.OP_BINARY, "abcdef".getBytes(StandardCharsets.UTF_8), 2);
            raw.sendText("");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:" + text);
            assertThat(a.nextFrame(WAIT)).isEqualTo("binary:abcdef");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:");
            assertThat(a.offIoThreadCalls.get()).isZero();
        }
    }

    @Test
    void messageAsLargeAsTheLimitIsDeliveredAndOneByteMoreClosesWith1009() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            raw.sendBinary(new byte[MAX_MESSAGE_BYTES]);
            assertThat(a.nextFrame(WAIT)).hasSize("binary:".length() + MAX_MESSAGE_BYTES);
            raw.sendFragmented(RawWebSocket.OP_TEXT, "a".repeat(MAX_MESSAGE_BYTES + 1).getBytes(StandardCharsets.UTF_8), 100);
            assertThat(raw.readCloseCode()).isEqualTo(1009);
            assertThat(a.nextClose(WAIT)).isEqualTo(1009);
            assertThat(a.frames).isEmpty();
        }
    }

    @Test
    void pingIsAnsweredWithPongEvenThoughWritesAreBatched() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            attached();
            raw.sendFrame(true, RawWebSocket.OP_PING, "are you there".getBytes(StandardCharsets.UTF_8));
            RawWebSocket.WireFrame pong = raw.readFrame();
            assertThat(pong.opcode()).isEqualTo(RawWebSocket.OP_PONG);
            assertThat(pong.text()).isEqualTo("are you there");
        }
    }

    @Test
    void invalidUtf8TextClosesWith1007() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            raw.sendFrame(true, RawWebSocket.OP_TEXT, new byte[] {'o', 'k', (byte) 0xC3, (byte) 0x28});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
            assertThat(a.nextClose(WAIT)).isEqualTo(1007);
            assertThat(a.frames).isEmpty();
        }
    }

    @Test
    void reservedOpcodeClosesWith1002() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            raw.sendFrame(true, 0x3, new byte[] {1});
            assertThat(raw.readCloseCode()).isEqualTo(1002);
            assertThat(a.nextClose(WAIT)).isEqualTo(1002);
        }
    }

    @Test
    void suspendedReadsDeliverNothingUntilResumed() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            TransportConnection c = a.connection;
            onIoThread(c, () -> {
                c.suspendReads();
                return null;
            });
            raw.sendText("held back");
            assertThat(a.nextFrame(SHORT)).isNull();
            onIoThread(c, () -> {
                c.resumeReads();
                return null;
            });
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:held back");
        }
    }

    @Test
    void becomesUnwritableAboveHighWaterMarkAndSignalsWritableOnceBelowLowWaterMark() throws Exception {
        start(TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .writeWaterMark(new WriteWaterMark(16 * 1024, 64 * 1024)).build());
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            TransportConnection c = a.connection;
            byte[] payload = new byte[8 * 1024];
            // The client reads nothing, so the socket buffers fill and Undertow starts holding frames.
            int written = onIoThread(c, () -> {
                int n = 0;
                while (c.isWritable()) {
                    if (n == 20_000) {
                        throw new AssertionError("still writable after " + n + " frames");
                    }
                    c.write(Frame.binary(ByteBuffer.wrap(payload)));
                    c.flush();
                    n++;
                }
                return n;
            });
            assertThat(a.writableCalls.get()).isZero();
            assertThat(onIoThread(c, c::isWritable)).isFalse();

            for (int i = 0; i < written; i++) {
                assertThat(raw.readFrame().payload()).hasSize(payload.length);
            }
            a.firstWritable.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(onIoThread(c, c::isWritable)).isTrue();
            assertThat(a.writableCalls.get()).isEqualTo(1);
            assertThat(a.offIoThreadCalls.get()).isZero();
        }
    }

    @Test
    void requestHeadersAndQueryAreNotReachableFromTheConnectionAfterTheUpgrade() throws Exception {
        String secret = "SECRET-" + UUID.randomUUID();
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether?access_token=" + secret + "-query",
                Map.of("Authorization", "Bearer " + secret + "-header", "X-Probe", secret + "-probe"))) {
            RecordingTether.Attached a = attached();
            assertThat(a.principal.getName()).isEqualTo("user");
            assertThat(raw.handshakeResponse().status()).isEqualTo(101);
            // Let the connection settle: one round trip through the I/O thread after the upgrade.
            onIoThread(a.connection, () -> null);

            // The walk does go through the socket (one: the wrapper Undertow saw is gone too)...
            assertThat(Reachability.instances(a.connection, StreamConnection.class)).hasSize(1);
            // ...and finds nothing of the request, and (the standalone server took the socket back
            // from Undertow) nothing of Undertow's HTTP connection either.
            assertThat(Reachability.instances(a.connection, HttpServerExchange.class)).isEmpty();
            assertThat(Reachability.strings(a.connection, s -> s.contains(secret))).isEmpty();
            assertThat(Reachability.instances(a.connection, HttpServerConnection.class)).isEmpty();
            assertThat(Reachability.instances(a.connection, ServerConnection.class)).isEmpty();
            // It still reads and writes.
            raw.sendText("after");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:after");
        }
    }

    /** Restarts the server with a 500 ms idle timeout (it must exceed the hub's heartbeat interval, here 400 ms). */
    private void restartWithIdleTimeoutOfHalfASecond() {
        server.close();
        tether = new RecordingTether(TetherConfig.builder()
                .heartbeatInterval(Duration.ofMillis(400))
                .heartbeatTimeout(Duration.ofMillis(200))
                .build());
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .idleTimeout(Duration.ofMillis(500)).build());
    }

    @Test
    void idleConnectionIsClosedAfterTheIdleTimeout() throws Exception {
        restartWithIdleTimeoutOfHalfASecond();
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            assertThat(raw.readCloseCode()).isEqualTo(1001);
            raw.sendClose(1001, "");
            assertThat(a.nextClose(WAIT)).isEqualTo(1001);
            assertThat(raw.awaitEndOfStream()).isTrue();
        }
    }

    /**
     * The idle timeout is swept per I/O thread, not timed per connection: a connection that keeps
     * sending outlives several timeouts while a silent one beside it is closed, and it is closed
     * in its turn once it falls silent.
     */
    @Test
    void onlyConnectionsIdleForTheTimeoutAreClosed() throws Exception {
        restartWithIdleTimeoutOfHalfASecond();
        try (RawWebSocket active = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached open = attached();
            try (RawWebSocket silent = RawWebSocket.connect(server.address(), "/tether")) {
                RecordingTether.Attached closed = attached();
                long start = System.nanoTime();
                // Three timeouts of traffic, a frame every 100 ms (the load, not a synchronisation).
                for (int i = 0; i < 15; i++) {
                    active.sendText("tick " + i);
                    Thread.sleep(100);
                }
                long activeForMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(silent.readCloseCode()).isEqualTo(1001);
                silent.sendClose(1001, "");
                assertThat(closed.nextClose(WAIT)).isEqualTo(1001);
                assertThat(activeForMs).isGreaterThanOrEqualTo(1_500);
                assertThat(open.closes).as("the connection that kept sending").isEmpty();
                assertThat(open.nextFrame(WAIT)).isEqualTo("text:tick 0");
            }
            assertThat(active.readCloseCode()).isEqualTo(1001);
            assertThat(open.nextClose(WAIT)).isEqualTo(1001);
        }
    }

    @Test
    void upgradedConnectionOutlivesTheHandshakeTimeouts() throws Exception {
        start(TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .requestParseTimeout(Duration.ofMillis(200)).build());
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            RecordingTether.Attached a = attached();
            raw.timeout(Duration.ofMillis(1000)); // five times the request parse timeout
            assertThatThrownBy(raw::readFrame).isInstanceOf(SocketTimeoutException.class);
            raw.sendText("still open");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:still open");
            assertThat(a.closes).isEmpty();
        }
    }
}
