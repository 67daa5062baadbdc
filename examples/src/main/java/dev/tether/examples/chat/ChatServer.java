package dev.tether.examples.chat;

import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.redis.RedisBroker;
import dev.tether.redis.RedisBrokerConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;

/**
 * A runnable chat/echo server on the embedded, in-memory default. Environment: {@code PORT}
 * (default 8080), {@code HOST} (default 0.0.0.0; the benchmarks use 127.0.0.1) and
 * {@code TETHER_INBOUND_RATE}, messages per second per connection (default 1000; 0 turns the
 * limit off, as a benchmark publisher needs) and {@code TETHER_HANDLERS_ON_IO_THREAD=1}, which runs
 * the handler on the connection's I/O thread (it never blocks, so it may: one thread hand-off
 * less per message; a blocking handler must not) and {@code TETHER_IO_THREADS}, the number of I/O
 * threads (default 0: one per available processor) and {@code TETHER_REDIS_URL} ({@code redis://host:port},
 * unset by default): join the cluster of every node started with the same URL (docs/CLUSTER.md).
 * WebSocket path {@code /tether}. Clients may subscribe to and publish on the topic
 * {@value #LOAD_TOPIC} only, which the load generator's broadcast scenarios use; the chat room is
 * joined and published to by the server ({@link ChatHandler}). Stops cleanly on
 * SIGTERM or Ctrl-C: connections are closed with 4012 so clients resume elsewhere.
 *
 * <p>Run it with {@code examples/run chat}.
 */
public final class ChatServer {

    /**
     * The topic the load generator's {@code broadcast}, {@code storm} and {@code failover}
     * scenarios subscribe clients to and publish on from a client (benchmarks/README.md).
     */
    public static final String LOAD_TOPIC = "room";

    /**
     * What this server lets clients do by themselves: subscribe to and publish on
     * {@link #LOAD_TOPIC}, nothing else. This server is the one {@code benchmarks/run} and
     * {@code benchmarks/scripts/cluster.py} measure, and their broadcast scenarios subscribe
     * clients to that topic and publish on it from a client, which the default authorizer
     * ({@link Authorizer#SERVER_ONLY}) refuses; granting that one topic keeps the benchmarks
     * measuring what they always did. The chat itself needs nothing: {@link ChatHandler} subscribes
     * sessions and publishes on the server side.
     */
    public static final Authorizer AUTHORIZER = Authorizer.topics(LOAD_TOPIC::equals, LOAD_TOPIC::equals);

    private ChatServer() {
    }

    public static void main(String[] args) {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        String host = System.getenv().getOrDefault("HOST", TetherUndertowConfig.DEFAULT_HOST);
        int inboundRate = Integer.parseInt(System.getenv().getOrDefault("TETHER_INBOUND_RATE",
                Integer.toString(TetherConfig.DEFAULT_INBOUND_MESSAGES_PER_SECOND)));
        ChatHandler handler = new ChatHandler();
        TetherConfig.Builder config = TetherConfig.builder()
                .inboundRateLimit(inboundRate, TetherConfig.DEFAULT_INBOUND_BURST)
                .authorizer(AUTHORIZER); // the benchmarks' clients subscribe and publish on LOAD_TOPIC
        String redis = System.getenv("TETHER_REDIS_URL");
        if (redis != null && !redis.isBlank()) {
            config.broker(new RedisBroker(RedisBrokerConfig.of(redis)));
        }
        if ("1".equals(System.getenv("TETHER_HANDLERS_ON_IO_THREAD"))) {
            config.handlerExecutor(Runnable::run);
        }
        Tether tether = Tether.create(config.build(), handler);
        handler.bind(tether);
        int ioThreads = Integer.parseInt(System.getenv().getOrDefault("TETHER_IO_THREADS", "0"));
        TetherServer server = TetherServer.start(tether,
                TetherUndertowConfig.builder().host(host).port(port).ioThreads(ioThreads).build());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            tether.close();
            server.close();
        }, "tether-shutdown"));
        System.out.println("Tether chat server listening on ws://" + host + ":" + server.port() + "/tether"
                + (redis == null || redis.isBlank() ? "" : ", in a cluster on Redis"));
    }
}
