package dev.tether.examples.chat;

import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.examples.ShutdownLogManager;
import dev.tether.examples.Startup;
import dev.tether.redis.RedisBroker;
import dev.tether.redis.RedisBrokerConfig;
import dev.tether.undertow.HealthHandler;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A runnable chat/echo server on the embedded, in-memory default. Environment: {@code PORT}
 * (default 8080), {@code HOST} (default 0.0.0.0; the benchmarks use 127.0.0.1) and
 * {@code TETHER_INBOUND_RATE}, messages per second per connection (default 1000; 0 turns the
 * limit off, as a benchmark publisher needs) and {@code TETHER_HANDLERS_ON_IO_THREAD=1}, which runs
 * the handler on the connection's I/O thread (it never blocks, so it may: one thread hand-off
 * less per message; a blocking handler must not) and {@code TETHER_IO_THREADS}, the number of I/O
 * threads (default 0: one per available processor) and {@code TETHER_REDIS_URL} ({@code redis://host:port},
 * unset by default): join the cluster of every node started with the same URL (docs/CLUSTER.md).
 * {@code TETHER_CLIENT_TOPICS}, a comma-separated list of topics clients may subscribe to and
 * publish on by themselves (unset by default: none, {@link Authorizer#SERVER_ONLY}; the chat needs
 * none, since {@link ChatHandler} subscribes sessions and publishes on the server side; the
 * benchmarks set {@code room}, the topic of the load generator's broadcast scenarios).
 * WebSocket path {@code /tether}; a chat page for browsers at {@code /} (it loads the browser client,
 * {@code client-js}, from {@code /tether-client.js}); health at {@code /health} ({@link HealthHandler}: 200 while
 * running, 503 once the drain starts); {@code GET /metrics} on the same port answers Tether's
 * meters and a few JVM ones in Prometheus text ({@link PrometheusMetrics}). Stops cleanly on
 * SIGTERM or Ctrl-C: connections are closed with 4012 so clients resume elsewhere, and the drain
 * is logged ({@link ShutdownLogManager}). A busy port is reported in one line, with exit status 1.
 *
 * <p>Run it with {@code examples/run chat}.
 */
public final class ChatServer implements AutoCloseable {

    /** The chat page, served at {@code /}. */
    static final String PAGE = "dev/tether/examples/chat/index.html";
    /** The browser client's file name; the page imports {@code ./tether-client.js}. */
    static final String CLIENT_FILE = "tether-client.js";
    /** The browser client (client-js's single-file ESM build, in the tether-client-js jar). */
    static final String CLIENT = "tether-client-js/" + CLIENT_FILE;

    private final Tether tether;
    private final TetherServer server;
    private final PrometheusMetrics metrics;

    private ChatServer(Tether tether, TetherServer server, PrometheusMetrics metrics) {
        this.tether = tether;
        this.server = server;
        this.metrics = metrics;
    }

    /**
     * Starts the server exactly as {@code examples/run chat} does, with the settings read from
     * {@code env} (the variables above; {@code PORT} 0 picks a free port).
     */
    public static ChatServer start(Map<String, String> env) {
        int port = Integer.parseInt(env.getOrDefault("PORT", "8080"));
        String host = env.getOrDefault("HOST", TetherUndertowConfig.DEFAULT_HOST);
        int inboundRate = Integer.parseInt(env.getOrDefault("TETHER_INBOUND_RATE",
                Integer.toString(TetherConfig.DEFAULT_INBOUND_MESSAGES_PER_SECOND)));
        ChatHandler handler = new ChatHandler();
        PrometheusMetrics metrics = new PrometheusMetrics(TetherUndertowConfig.DEFAULT_PATH);
        TetherConfig.Builder config = TetherConfig.builder()
                .metrics(metrics.listener())
                .inboundRateLimit(inboundRate, TetherConfig.DEFAULT_INBOUND_BURST)
                .authorizer(clientTopics(env.getOrDefault("TETHER_CLIENT_TOPICS", "")));
        String redis = env.get("TETHER_REDIS_URL");
        if (redis != null && !redis.isBlank()) {
            config.broker(new RedisBroker(RedisBrokerConfig.of(redis)));
        }
        if ("1".equals(env.get("TETHER_HANDLERS_ON_IO_THREAD"))) {
            config.handlerExecutor(Runnable::run);
        }
        Tether tether = Tether.create(config.build(), handler);
        handler.bind(tether);
        int ioThreads = Integer.parseInt(env.getOrDefault("TETHER_IO_THREADS", "0"));
        try {
            return new ChatServer(tether, TetherServer.start(tether,
                    TetherUndertowConfig.builder().host(host).port(port).ioThreads(ioThreads)
                            .route("/health", new HealthHandler(tether))
                            .route("/metrics", metrics)
                            .route("/", StaticResource.of(ChatServer.class, PAGE, "text/html; charset=utf-8"))
                            .route("/" + CLIENT_FILE, StaticResource.of(ChatServer.class, CLIENT, "text/javascript; charset=utf-8"))
                            .build()), metrics);
        } catch (RuntimeException e) {
            tether.close();
            throw e;
        }
    }

    /** The port the server listens on. */
    public int port() {
        return server.port();
    }

    /** Drains the hub (clients are told to reconnect), then stops the server. */
    @Override
    public void close() {
        tether.close();
        server.close();
        metrics.close();
    }

    /** The authorizer granting clients exactly the listed topics; an empty list grants nothing. */
    static Authorizer clientTopics(String list) {
        Set<String> topics = Arrays.stream(list.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
        return topics.isEmpty() ? Authorizer.SERVER_ONLY : Authorizer.topics(topics::contains, topics::contains);
    }

    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        ChatServer server = Startup.orExit(() -> start(env));
        ShutdownLogManager.addShutdownHook("tether-shutdown", server::close);
        String redis = env.get("TETHER_REDIS_URL");
        System.out.println("Tether chat server listening on ws://" + env.getOrDefault("HOST", TetherUndertowConfig.DEFAULT_HOST)
                + ":" + server.port() + "/tether" + (redis == null || redis.isBlank() ? "" : ", in a cluster on Redis"));
        System.out.println("Chat page: http://localhost:" + server.port() + "/");
    }
}
