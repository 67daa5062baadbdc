package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import io.undertow.Undertow;
import io.undertow.server.DefaultByteBufferPool;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every pooled buffer the transport takes from Undertow's pool goes back, whatever way a
 * connection ends: frames written and read, frames still queued when the peer vanishes, messages
 * assembled across pooled buffers, messages cut off for being too large.
 *
 * <p>"Goes back" is checked on the I/O thread, and not only once: when the close is reported,
 * Undertow may still hold its read buffer, with frames read before the close that it discards in
 * tasks it queues on the I/O thread one frame at a time; the buffer returns when the last one runs.
 */
class PooledBufferAccountingIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final CountingPool pool = new CountingPool(new DefaultByteBufferPool(true, 4096, 64, 4));
    private final RecordingTether tether = new RecordingTether(TetherConfig.builder().maxMessageBytes(20_000).build());
    private Undertow undertow;
    private InetSocketAddress address;

    @BeforeEach
    void start() {
        undertow = Undertow.builder()
                .addHttpListener(0, "127.0.0.1")
                .setIoThreads(1)
                .setByteBufferPool(pool)
                .setHandler(new TetherHandler(tether))
                .build();
        undertow.start();
        address = (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
    }

    @AfterEach
    void stop() {
        undertow.stop();
    }

    private static <T> T onIoThread(TransportConnection c, java.util.concurrent.Callable<T> task) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        c.execute(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Waits, each check a task on the I/O thread, until every pooled buffer is back. */
    private void assertEveryBufferComesBack(TransportConnection c) throws Exception {
        long deadlineNs = System.nanoTime() + WAIT.toNanos();
        int outstanding;
        while ((outstanding = onIoThread(c, pool.outstanding::get)) != 0 && System.nanoTime() < deadlineNs) {
            Thread.onSpinWait();
        }
        assertThat(outstanding).as("pooled buffers not returned").isZero();
    }

    private static void writeBatch(TransportConnection c, int frames, int bytes) {
        byte[] payload = new byte[bytes];
        for (int i = 0; i < frames; i++) {
            c.write(Frame.binary(ByteBuffer.wrap(payload).asReadOnlyBuffer()));
        }
        c.flush();
    }

    @Test
    void buffersComeBackAfterFramesAreWrittenAndReadAndTheConnectionCloses() throws Exception {
        RecordingTether.Attached a;
        try (RawWebSocket raw = RawWebSocket.connect(address, "/tether")) {
            a = tether.nextConnection(WAIT);
            onIoThread(a.connection, () -> {
                writeBatch(a.connection, 300, 100);   // slabs shared by many frames
                writeBatch(a.connection, 3, 4095);    // one frame per slab, almost full
                writeBatch(a.connection, 2, 10_000);  // larger than a pooled buffer: heap
                return null;
            });
            for (int i = 0; i < 305; i++) {
                raw.readFrame();
            }
            raw.sendFragmented(RawWebSocket.OP_TEXT, "x".repeat(15_000).getBytes(StandardCharsets.UTF_8), 1000);
            assertThat(a.nextFrame(WAIT)).hasSize("text:".length() + 15_000);
            raw.sendClose(1000, "");
            raw.readClose();
        }
        assertThat(a.nextClose(WAIT)).isEqualTo(1000);
        assertEveryBufferComesBack(a.connection);
    }

    @Test
    void buffersOfFramesStillQueuedComeBackWhenThePeerVanishes() throws Exception {
        RecordingTether.Attached a;
        try (RawWebSocket raw = RawWebSocket.connect(address, "/tether")) {
            a = tether.nextConnection(WAIT);
            // Far more than the socket buffers take while the client reads nothing.
            int written = onIoThread(a.connection, () -> {
                int n = 0;
                while (a.connection.isWritable() && n < 100_000) {
                    writeBatch(a.connection, 10, 1000);
                    n += 10;
                }
                return n;
            });
            assertThat(written).isLessThan(100_000);
            // Held back: up to the 256 KiB high water mark of 1000-byte frames, four to a 4 KiB
            // slab, about 70 buffers; one pooled buffer per frame would be about 270.
            assertThat(onIoThread(a.connection, pool.outstanding::get)).isLessThan(100);
            assertThat(raw.handshakeResponse().status()).isEqualTo(101);
        }
        assertThat(a.nextClose(WAIT)).isEqualTo(1006);
        assertEveryBufferComesBack(a.connection);
    }

    @Test
    void buffersOfAMessageCutOffForSizeComeBack() throws Exception {
        RecordingTether.Attached a;
        try (RawWebSocket raw = RawWebSocket.connect(address, "/tether")) {
            a = tether.nextConnection(WAIT);
            raw.sendFragmented(RawWebSocket.OP_BINARY, new byte[30_000], 700);
            assertThat(raw.readCloseCode()).isEqualTo(1009);
            raw.sendClose(1009, "");
            assertThat(raw.awaitEndOfStream()).isTrue(); // the server closed its socket
        }
        assertThat(a.nextClose(WAIT)).isEqualTo(1009);
        assertEveryBufferComesBack(a.connection);
    }
}
