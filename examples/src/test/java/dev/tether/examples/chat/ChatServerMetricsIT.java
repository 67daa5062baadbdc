package dev.tether.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.client.TetherClient;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} of the chat server as {@code examples/run chat} starts it: on the WebSocket's
 * port, every Tether meter in Prometheus text, moved by a real client.
 */
class ChatServerMetricsIT {

    /** Every Tether series, as the Prometheus registry names them (timers and the summary by their count). */
    static final List<String> SERIES = List.of(
            "tether_connections", "tether_sessions", "tether_topics", "tether_queued_messages",
            "tether_unacked_messages", "tether_unacked_oldest_age_seconds",
            "tether_received_messages_total", "tether_sent_messages_total", "tether_duplicate_messages_total",
            "tether_dropped_messages_total", "tether_overflowed_messages_total", "tether_replayed_messages_total",
            "tether_acked_messages_total", "tether_resumed_sessions_total", "tether_gaps_total",
            "tether_slow_consumer_closes_total", "tether_protocol_errors_total", "tether_refusals_total",
            "tether_handler_errors_total", "tether_handshake_seconds_count", "tether_handler_seconds_count",
            "tether_publish_fanout_seconds_count", "tether_publish_recipients_sessions_count");

    private ChatServer server;
    private TetherClient client;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of the series {@code name} whose labels contain {@code labels}; fails if none. */
    private static double value(String scrape, String name, String labels) {
        return scrape.lines()
                .filter(l -> l.startsWith(name + "{") && l.contains(labels))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst().orElseThrow(() -> new AssertionError(name + " with " + labels + " not in the scrape"));
    }

    @Test
    void metricsListsEveryTetherMeterAndFollowsAClient() throws Exception {
        server = ChatServer.start(Map.of("PORT", "0", "HOST", "127.0.0.1"));
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        client = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onMessage(TetherClient c, Message m) {
                        events.add(m.event());
                    }
                }).build();
        client.connect().get(10, TimeUnit.SECONDS);
        client.send("message", Payload.text("hello"));
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("response");
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("chat");

        HttpResponse<String> response = get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("text/plain"));
        String scrape = response.body();
        String tags = "endpoint=\"/tether\"";
        for (String series : SERIES) {
            assertThat(scrape.lines().anyMatch(l -> l.startsWith(series + "{") && l.contains(tags)
                    && l.contains("protocol=\"tether\""))).as(series).isTrue();
        }
        assertThat(value(scrape, "tether_connections", tags)).isEqualTo(1);
        assertThat(value(scrape, "tether_sessions", tags)).isEqualTo(1);
        assertThat(value(scrape, "tether_topics", tags)).as("the chat room").isEqualTo(1);
        assertThat(value(scrape, "tether_received_messages_total", tags)).isEqualTo(1);
        assertThat(value(scrape, "tether_sent_messages_total", tags)).isGreaterThanOrEqualTo(2);
        assertThat(value(scrape, "tether_handshake_seconds_count", tags)).isEqualTo(1);
        assertThat(value(scrape, "tether_handler_seconds_count", tags)).isEqualTo(1);
        assertThat(value(scrape, "tether_publish_fanout_seconds_count", tags)).isEqualTo(1);
        assertThat(value(scrape, "tether_refusals_total", "reason=\"subscribe\"")).isZero();
        assertThat(scrape).as("the JVM's meters too").contains("jvm_memory_used_bytes");

        assertThat(get("/metrics/").statusCode()).as("exact path only").isEqualTo(404);
        assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(405);
    }
}
