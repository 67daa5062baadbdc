package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.TetherConfig;
import dev.tether.testing.Await;
import dev.tether.undertow.internal.DetachableConnection;
import dev.tether.undertow.internal.HttpListener;
import io.undertow.UndertowOptions;
import io.undertow.server.ConnectorStatistics;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.ServerConnection;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xnio.OptionMap;
import org.xnio.StreamConnection;

/**
 * The standalone server's accept step ({@link HttpListener}) gives Undertow each socket in a
 * {@link DetachableConnection}, and the upgrade takes the socket back: here with Undertow's
 * listener counting its connections and its pooled buffers, over real sockets, so that what
 * Undertow lets go of can be seen.
 */
class DetachedUpgradeIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final CountingPool pool = new CountingPool(new DefaultByteBufferPool(true, 4096, 64, 4));
    private final RecordingTether tether = new RecordingTether(TetherConfig.defaults());
    private HttpListener listener;
    private boolean stopped;
    private ConnectorStatistics statistics;
    private InetSocketAddress address;

    /** The standalone server's listener, on one I/O thread, counting its connections and buffers. */
    @BeforeEach
    void start() throws IOException {
        listener = HttpListener.start(new InetSocketAddress("127.0.0.1", 0), 1, 1,
                OptionMap.create(UndertowOptions.ENABLE_STATISTICS, true), 128, new TetherHandler(tether), pool);
        statistics = listener.statistics();
        address = listener.address();
    }

    @AfterEach
    void stop() throws InterruptedException {
        stopListener();
    }

    private void stopListener() throws InterruptedException {
        if (!stopped) {
            stopped = true;
            listener.stop();
        }
    }

    @Test
    void upgradeLetsGoOfUndertowsConnectionAndKeepsWhatTheClientSentEarly() throws Exception {
        byte[] early = RawWebSocket.frame(true, 0, RawWebSocket.OP_TEXT, "early".getBytes(StandardCharsets.UTF_8));
        try (RawWebSocket raw = RawWebSocket.startUpgradeWith(address, "/", early).upgraded()) {
            RecordingTether.Attached a = tether.nextConnection(WAIT);
            // Read with the request by Undertow, handed over with the socket, parsed first.
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:early");
            raw.sendText("later");
            assertThat(a.nextFrame(WAIT)).isEqualTo("text:later");

            // Undertow counted the connection out and has every pooled buffer back (the one that
            // held the early frame among them) while the WebSocket stays open...
            Await.until(() -> statistics.getActiveConnections() == 0, WAIT, "Undertow's connection closed");
            Await.until(() -> pool.outstanding.get() == 0, WAIT, "pooled buffers back");
            // ...and nothing of its connection, nor the wrapper it saw, is reachable from ours.
            assertThat(Reachability.instances(a.connection, ServerConnection.class)).isEmpty();
            assertThat(Reachability.instances(a.connection, StreamConnection.class))
                    .singleElement().isNotInstanceOf(DetachableConnection.class);

            raw.sendClose(1000, "");
            assertThat(raw.readCloseCode()).isEqualTo(1000);
            assertThat(a.nextClose(WAIT)).isEqualTo(1000);
        }
    }

    @Test
    void aConnectionThatEndsBeforeAnyUpgradeClosesTheSocketAndUndertowsConnection() throws Exception {
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.ISO_8859_1)); // never finished
            out.flush();
            Await.until(() -> statistics.getActiveConnections() == 1, WAIT, "Undertow's connection open");
        }
        Await.until(() -> statistics.getActiveConnections() == 0, WAIT, "Undertow's connection closed");
        Await.until(() -> pool.outstanding.get() == 0, WAIT, "pooled buffers back");
        assertThat(tether.nextConnection(Duration.ofMillis(1))).isNull();
    }

    @Test
    void aSocketClosedUnderneathClosesUndertowsConnectionToo() throws Exception {
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.ISO_8859_1));
            Await.until(() -> statistics.getActiveConnections() == 1, WAIT, "Undertow's connection open");
            // A worker that stops closes its sockets itself, not through the wrapper Undertow has.
            stopListener();
            assertThat(statistics.getActiveConnections()).isZero();
        }
    }
}
