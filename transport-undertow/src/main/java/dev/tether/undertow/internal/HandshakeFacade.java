package dev.tether.undertow.internal;

import io.undertow.server.HttpServerExchange;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.spi.AsyncWebSocketHttpServerExchange;
import java.util.Collections;
import java.util.Set;

/**
 * The exchange as Undertow's {@code Handshake} wants to see it, trimmed of what would outlive the
 * handshake: the channel's URL is built without the query string (which may carry an
 * {@code access_token}), and no peer set tracks the channel (the hub tracks its connections).
 * Created for one call and dropped.
 */
final class HandshakeFacade extends AsyncWebSocketHttpServerExchange {

    private final HttpServerExchange exchange;

    HandshakeFacade(HttpServerExchange exchange) {
        super(exchange, null);
        this.exchange = exchange;
    }

    /** The path only: the channel keeps this string for its lifetime. */
    @Override
    public String getRequestURI() {
        return exchange.getRequestURI();
    }

    /**
     * An empty, immutable set. Undertow only removes the channel from it on close, which an
     * empty set tolerates.
     */
    @Override
    public Set<WebSocketChannel> getPeerConnections() {
        return Collections.emptySet();
    }
}
