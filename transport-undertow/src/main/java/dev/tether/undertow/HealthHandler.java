package dev.tether.undertow;

import dev.tether.core.Stats;
import dev.tether.core.Tether;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import java.util.Objects;

/**
 * Answers a load balancer's or orchestrator's health check for one hub, at whatever path the
 * host mounts it:
 *
 * <pre>{@code
 * {"status":"UP","state":"RUNNING","connections":1234,"sessions":1300}
 * }</pre>
 *
 * with 200 while the hub is {@link Tether.State#RUNNING}, and {@code "status":"DOWN"} with 503
 * from the moment its {@link Tether#close() drain} starts ({@code "state":"DRAINING"}, later
 * {@code "CLOSED"}): the balancer stops sending new clients before any connected one is told to
 * go. {@code connections} and {@code sessions} are those of {@link Tether#stats()}. The response
 * is {@code application/json}, never cached; {@code HEAD} gets the same status without a body,
 * other methods 405.
 *
 * <p>Mount it with {@link TetherUndertowConfig.Builder#healthPath(String)} on the standalone
 * {@link TetherServer}, or in a host's own Undertow server:
 * {@code Handlers.path().addExactPath("/health", new HealthHandler(tether))}.
 *
 * <p>Threading: runs on the I/O thread that received the request and never blocks.
 *
 * @since 0.1.0
 */
public final class HealthHandler implements HttpHandler {

    private final Tether tether;

    /**
     * A handler that reports the health of {@code tether}.
     *
     * @param tether the hub
     */
    public HealthHandler(Tether tether) {
        this.tether = Objects.requireNonNull(tether, "tether");
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        boolean head = Methods.HEAD.equals(exchange.getRequestMethod());
        if (!head && !Methods.GET.equals(exchange.getRequestMethod())) {
            exchange.setStatusCode(405);
            exchange.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD");
            exchange.endExchange();
            return;
        }
        Tether.State state = tether.state();
        Stats stats = tether.stats();
        boolean up = state == Tether.State.RUNNING;
        String body = "{\"status\":\"" + (up ? "UP" : "DOWN") + "\",\"state\":\"" + state.name()
                + "\",\"connections\":" + stats.connections() + ",\"sessions\":" + stats.sessions() + "}";
        exchange.setStatusCode(up ? 200 : 503);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-store");
        if (head) {
            exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length());
            exchange.endExchange();
        } else {
            exchange.getResponseSender().send(body);
        }
    }

    @Override
    public String toString() {
        return "HealthHandler[" + tether + "]";
    }
}
