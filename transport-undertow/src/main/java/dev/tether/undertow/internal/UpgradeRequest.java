package dev.tether.undertow.internal;

import dev.tether.core.spi.HandshakeRequest;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import java.net.InetSocketAddress;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@link HandshakeRequest} view of an upgrade request that the authenticator sees. It reads
 * the exchange directly, copying nothing up front, and is cut off from the exchange by
 * {@link #invalidate()} once the authenticator returns, so that an authenticator that keeps the
 * view cannot keep the request alive.
 *
 * <p>Threading: used by one thread, the one handling the request.
 */
public final class UpgradeRequest implements HandshakeRequest {

    private HttpServerExchange exchange;

    /** A view of {@code exchange}, valid until {@link #invalidate()}. */
    public UpgradeRequest(HttpServerExchange exchange) {
        this.exchange = Objects.requireNonNull(exchange, "exchange");
    }

    /** Drops the reference to the exchange; every later call throws {@link IllegalStateException}. */
    public void invalidate() {
        exchange = null;
    }

    private HttpServerExchange exchange() {
        HttpServerExchange e = exchange;
        if (e == null) {
            throw new IllegalStateException("a HandshakeRequest is only valid during Authenticator.authenticate");
        }
        return e;
    }

    @Override
    public Optional<String> header(String name) {
        return Optional.ofNullable(exchange().getRequestHeaders().getFirst(name));
    }

    @Override
    public Optional<String> queryParameter(String name) {
        Deque<String> values = exchange().getQueryParameters().get(name);
        return values == null ? Optional.empty() : Optional.ofNullable(values.peekFirst());
    }

    @Override
    public List<String> headers(String name) {
        HeaderValues values = exchange().getRequestHeaders().get(name);
        return values == null ? List.of() : List.copyOf(values);
    }

    @Override
    public String path() {
        return exchange().getRequestPath();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return exchange().getSourceAddress();
    }

    @Override
    public String toString() {
        HttpServerExchange e = exchange;
        return e == null ? "UpgradeRequest[invalidated]" : "UpgradeRequest[" + e.getRequestPath() + "]";
    }
}
