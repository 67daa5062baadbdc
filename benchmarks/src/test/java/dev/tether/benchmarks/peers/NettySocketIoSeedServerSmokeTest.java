package dev.tether.benchmarks.peers;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Starts {@link NettySocketIoSeedServer} in-process on an ephemeral 127.0.0.1 port and talks raw
 * Engine.IO 4 / Socket.IO 5 frames to it over a WebSocket: {@code message} is answered with
 * {@code response} / {@code Message received!}, and {@code echo} is acked with its argument.
 * Every wait is on a frame, with a timeout that fails the test.
 */
@Timeout(60)
class NettySocketIoSeedServerSmokeTest {

    private NettySocketIoSeedServer server;
    private WebSocket ws;
    private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        server = NettySocketIoSeedServer.start("127.0.0.1", port, false);
        ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/socket.io/?EIO=4&transport=websocket"),
                        new WebSocket.Listener() {
                            private final StringBuilder text = new StringBuilder();

                            @Override
                            public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                                text.append(data);
                                if (last) {
                                    frames.add(text.toString());
                                    text.setLength(0);
                                }
                                socket.request(1);
                                return null;
                            }
                        })
                .get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        if (ws != null) {
            ws.abort();
        }
        if (server != null) {
            server.close();
        }
    }

    /** The next frame that is not an Engine.IO ping (answered), within 10 s. */
    private String next() throws InterruptedException {
        while (true) {
            String frame = frames.poll(10, TimeUnit.SECONDS);
            assertThat(frame).as("a frame from the server within 10 s").isNotNull();
            if (frame.equals("2")) {
                ws.sendText("3", true);
                continue;
            }
            return frame;
        }
    }

    @Test
    void answersMessageWithResponseAndAcksEcho() throws Exception {
        assertThat(next()).as("Engine.IO open packet").startsWith("0{").contains("\"pingInterval\":25000")
                .contains("\"pingTimeout\":20000");
        ws.sendText("40", true).get(10, TimeUnit.SECONDS);
        assertThat(next()).as("namespace connect").startsWith("40");

        ws.sendText("42[\"message\",\"hello\"]", true).get(10, TimeUnit.SECONDS);
        assertThat(next()).isEqualTo("42[\"response\",\"Message received!\"]");

        ws.sendText("427[\"echo\",{\"x\":12345}]", true).get(10, TimeUnit.SECONDS);
        assertThat(next()).isEqualTo("437[{\"x\":12345}]");
    }
}
