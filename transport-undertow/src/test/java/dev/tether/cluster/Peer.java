package dev.tether.cluster;

import dev.tether.client.TetherClient;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test client of {@link ClusterNodeMain}'s application that records what it sends and gets:
 * its echoes, the ticks of each publisher, how its connections opened and every loss it was told
 * of. Callbacks of one client run one at a time, in order.
 */
final class Peer implements TetherClient.Listener, AutoCloseable {

    final String name;
    final TetherClient client;
    /** Echo numbers sent (reliable sends the client accepted), 1, 2, 3, … . */
    final AtomicInteger echoesSent = new AtomicInteger();
    /** Ticks sent as publisher of its own topic. */
    final AtomicInteger ticksSent = new AtomicInteger();
    final List<Integer> echoes = new CopyOnWriteArrayList<>();
    /** Publisher name → the tick numbers received from it, in order. */
    final Map<String, List<Integer>> ticks = new ConcurrentHashMap<>();
    /** In {@link #tickOrder}: the client was told that messages were lost here. */
    static final String LOSS = "LOSS";

    /** Every tick as received, {@code publisher:n}, in order, and a {@link #LOSS} where one was reported. */
    final List<String> tickOrder = new CopyOnWriteArrayList<>();
    /** One entry per open: whether it resumed the session. */
    final List<Boolean> opens = new CopyOnWriteArrayList<>();
    /** Every gap and session loss, with the number of ticks received before it. */
    final List<String> losses = new CopyOnWriteArrayList<>();
    /** Connections lost, for any reason. */
    final AtomicInteger disconnects = new AtomicInteger();
    /** The topics {@link #join} subscribed; joined again when the session is lost. */
    private final List<String> joined = new CopyOnWriteArrayList<>();

    Peer(String name, URI uri, HttpClient http) {
        this.name = name;
        this.client = TetherClient.builder(uri)
                .bearerToken(name)
                .httpClient(http)
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1))
                .listener(this)
                .build();
    }

    @Override
    public void onOpen(TetherClient c, boolean resumed) {
        if (!resumed && !opens.isEmpty()) {
            // A new session: the server-side subscriptions of the lost one are gone with it.
            joined.forEach(topic -> c.request("join", Payload.text(topic), Duration.ofSeconds(20)));
        }
        opens.add(resumed);
    }

    @Override
    public void onDisconnected(TetherClient c, int code, String reason) {
        disconnects.incrementAndGet();
    }

    @Override
    public void onMessage(TetherClient c, Message message) {
        String text = message.payload().asText();
        switch (message.event()) {
            case "echo" -> echoes.add(Integer.parseInt(text));
            case "tick" -> {
                tickOrder.add(text);
                int colon = text.indexOf(':');
                ticks.computeIfAbsent(text.substring(0, colon), k -> new CopyOnWriteArrayList<>())
                        .add(Integer.parseInt(text.substring(colon + 1)));
            }
            default -> losses.add("unexpected event " + message.event());
        }
    }

    @Override
    public void onGap(TetherClient c, long fromSeq, long toSeq, String reason) {
        losses.add("gap " + fromSeq + ".." + toSeq + " " + reason + " after " + tickCounts());
        tickOrder.add(LOSS);
    }

    @Override
    public void onSessionLost(TetherClient c, String reason, List<Message> unacknowledged) {
        losses.add("session lost (" + reason + ", " + unacknowledged.size() + " unacknowledged) after " + tickCounts());
        tickOrder.add(LOSS);
    }

    private Map<String, Integer> tickCounts() {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        ticks.forEach((k, v) -> counts.put(k, v.size()));
        return counts;
    }

    /** Subscribes this client's session to {@code topic} on the server side. */
    void join(String topic) throws Exception {
        joined.add(topic);
        client.request("join", Payload.text(topic), Duration.ofSeconds(20)).get();
    }

    /** Sends the next echo number; counts it only if the client took it. */
    void sendEcho() {
        int n = echoesSent.get() + 1;
        if (client.send("echo", Payload.text(Integer.toString(n))) == SendResult.ENQUEUED) {
            echoesSent.set(n);
        }
    }

    /** Publishes the next tick of this client as publisher on {@code topic}. */
    void sendTick(String topic) {
        int n = ticksSent.get() + 1;
        if (client.send("pub", Payload.text(topic + "|" + name + ":" + n)) == SendResult.ENQUEUED) {
            ticksSent.set(n);
        }
    }

    /** Everything sent is acknowledged and the connection is up. */
    boolean settled() {
        return client.isConnected() && client.stats().unacknowledged() == 0;
    }

    List<Integer> ticksFrom(String publisher) {
        return ticks.getOrDefault(publisher, List.of());
    }

    static List<Integer> upTo(int n) {
        List<Integer> all = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            all.add(i);
        }
        return all;
    }

    @Override
    public void close() {
        client.close();
    }

    @Override
    public String toString() {
        return name + " " + client.stats();
    }
}
