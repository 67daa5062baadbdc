package dev.tether.undertow.internal;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** Engine.IO's HTTP error answers. */
public final class SocketIoErrors {

    private SocketIoErrors() {
    }

    /** 400 with {@code {"code":N,"message":"..."}}; {@code message} is a constant text. */
    public static void badRequest(HttpServerExchange exchange, int code, String message) {
        exchange.setStatusCode(400);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseSender().send("{\"code\":" + code + ",\"message\":\"" + message + "\"}");
    }
}
