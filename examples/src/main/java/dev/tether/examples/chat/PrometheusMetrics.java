package dev.tether.examples.chat;

import dev.tether.micrometer.TetherMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;

/**
 * The chat server's {@code /metrics}: a Prometheus registry with Tether's meters
 * ({@link TetherMetrics}, given to the hub as its metrics listener) and a few cheap JVM ones
 * (memory, threads, processor, uptime), served as Prometheus text.
 */
final class PrometheusMetrics implements HttpHandler {

    /** The content type of the Prometheus text format that {@link PrometheusMeterRegistry#scrape()} writes. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final TetherMetrics tether;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    /** Meters tagged {@code protocol=tether} and {@code endpoint=path}. */
    PrometheusMetrics(String path) {
        tether = new TetherMetrics("tether", path);
        tether.bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** The listener to give the hub ({@code TetherConfig.Builder.metrics}). */
    TetherMetrics listener() {
        return tether;
    }

    /** Answers a GET with the scrape, on a worker thread: writing every meter is no I/O thread's work. */
    @Override
    public void handleRequest(HttpServerExchange exchange) {
        if (exchange.isInIoThread()) {
            exchange.dispatch(this);
            return;
        }
        if (!exchange.getRequestMethod().equals(Methods.GET)) {
            exchange.setStatusCode(405);
            exchange.getResponseHeaders().put(Headers.ALLOW, "GET");
            exchange.endExchange();
            return;
        }
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, CONTENT_TYPE);
        exchange.getResponseSender().send(registry.scrape());
    }

    /** Stops the registry. */
    void close() {
        registry.close();
    }
}
