package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.util.Headers;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedBinaryMessage;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.CloseMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket server whose every frame a test writes by hand, to drive the client through the
 * protocol's corners (resume, replay, gaps, violations, heartbeats) without the Tether engine.
 * Undertow appears only here, in tests: the client itself uses the JDK WebSocket alone.
 */
final class ScriptedServer implements AutoCloseable {

    static final long WAIT_SECONDS = 10;
    static final ObjectMapper MAPPER = new ObjectMapper();

    private final Undertow undertow;
    private final BlockingQueue<Conn> connections = new LinkedBlockingQueue<>();
    /** Upgrade headers of every attempt, refused ones included. */
    final List<Map<String, List<String>>> upgradeHeaders = new CopyOnWriteArrayList<>();
    /** When each refused upgrade was answered ({@link System#nanoTime()}). */
    final BlockingQueue<Long> refusedAt = new LinkedBlockingQueue<>();
    private volatile int refuseStatus;
    private volatile String retryAfter;

    ScriptedServer() {
        HttpHandler websocket = Handlers.websocket((exchange, channel) -> {
            Conn conn = new Conn(channel);
            channel.getReceiveSetter().set(conn.receiver);
            channel.resumeReceives();
            connections.add(conn);
        });
        HttpHandler gate = exchange -> {
            upgradeHeaders.add(Map.of(
                    "Authorization", listOf(exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION)),
                    "Origin", listOf(exchange.getRequestHeaders().getFirst(Headers.ORIGIN))));
            int status = refuseStatus;
            String retry = retryAfter;
            if (status != 0) {
                exchange.setStatusCode(status);
                if (retry != null) {
                    exchange.getResponseHeaders().put(Headers.RETRY_AFTER, retry);
                }
                refusedAt.add(System.nanoTime());
                exchange.endExchange();
                return;
            }
            websocket.handleRequest(exchange);
        };
        undertow = Undertow.builder().addHttpListener(0, "127.0.0.1").setHandler(gate).build();
        undertow.start();
    }

    private static List<String> listOf(String value) {
        return value == null ? List.of() : List.of(value);
    }

    URI uri() {
        InetSocketAddress address = (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
        return URI.create("ws://127.0.0.1:" + address.getPort() + "/tether");
    }

    /** Refuses upgrades with this status (0: accept again). */
    void refuse(int status, String retryAfterSeconds) {
        this.retryAfter = retryAfterSeconds;
        this.refuseStatus = status;
    }

    /** The next accepted WebSocket. */
    Conn accept() throws InterruptedException {
        Conn conn = connections.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(conn).as("a connection from the client").isNotNull();
        return conn;
    }

    /** Whether another connection arrives within {@code millis}. */
    boolean anotherConnectionWithin(long millis) throws InterruptedException {
        return connections.poll(millis, TimeUnit.MILLISECONDS) != null;
    }

    @Override
    public void close() {
        undertow.stop();
    }

    /** One server-side WebSocket. Frames arrive in a queue: a JsonNode (text) or a byte[] (binary). */
    static final class Conn {
        final WebSocketChannel channel;
        final BlockingQueue<Object> frames = new LinkedBlockingQueue<>();
        /** Every text frame received, in order, skipped ones included. */
        final List<JsonNode> seen = new CopyOnWriteArrayList<>();
        final BlockingQueue<Integer> closeCodes = new LinkedBlockingQueue<>();

        final AbstractReceiveListener receiver = new AbstractReceiveListener() {
            @Override
            protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) throws IOException {
                JsonNode node = MAPPER.readTree(message.getData());
                seen.add(node);
                frames.add(node);
            }

            @Override
            @SuppressWarnings("deprecation")
            protected void onFullBinaryMessage(WebSocketChannel ch, BufferedBinaryMessage message) {
                org.xnio.Pooled<ByteBuffer[]> data = message.getData();
                try {
                    int n = 0;
                    for (ByteBuffer b : data.getResource()) {
                        n += b.remaining();
                    }
                    byte[] bytes = new byte[n];
                    int off = 0;
                    for (ByteBuffer b : data.getResource()) {
                        int len = b.remaining();
                        b.get(bytes, off, len);
                        off += len;
                    }
                    frames.add(bytes);
                } finally {
                    data.free();
                }
            }

            @Override
            protected void onCloseMessage(CloseMessage cm, WebSocketChannel ch) {
                closeCodes.add(cm.getCode());
            }
        };

        Conn(WebSocketChannel channel) {
            this.channel = channel;
        }

        /** The next text frame, whatever its type. */
        JsonNode next() throws InterruptedException {
            Object frame = frames.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(frame).as("a frame from the client").isInstanceOf(JsonNode.class);
            return (JsonNode) frame;
        }

        /** The next text frame of type {@code t}, skipping others (acks, pongs...). */
        JsonNode next(String t) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (System.nanoTime() < deadline) {
                Object frame = frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (frame instanceof JsonNode node && node.path("t").asText().equals(t)) {
                    return node;
                }
            }
            throw new AssertionError("no '" + t + "' frame from the client; saw " + seen);
        }

        /** The next binary frame, skipping text frames. */
        byte[] nextBinary() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (System.nanoTime() < deadline) {
                Object frame = frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (frame instanceof byte[] bytes) {
                    return bytes;
                }
            }
            throw new AssertionError("no binary frame from the client");
        }

        /** Frames of type {@code t} that arrive within {@code millis}, skipping others. */
        List<JsonNode> collect(String t, long millis) throws InterruptedException {
            List<JsonNode> out = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            long left;
            while ((left = deadline - System.nanoTime()) > 0) {
                Object frame = frames.poll(left, TimeUnit.NANOSECONDS);
                if (frame instanceof JsonNode node && node.path("t").asText().equals(t)) {
                    out.add(node);
                }
            }
            return out;
        }

        void send(String json) {
            WebSockets.sendText(json, channel, null);
        }

        void sendBinary(byte[] bytes) {
            WebSockets.sendBinary(ByteBuffer.wrap(bytes), channel, null);
        }

        /** A welcome for a new session. */
        void welcome(String sid, String token) {
            send("{\"t\":\"welcome\",\"v\":1,\"sid\":\"" + sid + "\",\"token\":\"" + token
                    + "\",\"resumed\":false,\"lastClientSeq\":0,\"hb\":25000,\"hbTimeout\":20000,"
                    + "\"maxMessageBytes\":65536}");
        }

        void close(int code, String reason) {
            WebSockets.sendClose(code, reason, channel, null);
        }

        /** Drops the TCP connection without a close frame. */
        void kill() throws IOException {
            channel.close();
        }

        static byte[] binaryFrame(String header, byte[] payload) {
            byte[] h = header.getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(4 + h.length + payload.length).putInt(h.length).put(h).put(payload).array();
        }
    }
}
