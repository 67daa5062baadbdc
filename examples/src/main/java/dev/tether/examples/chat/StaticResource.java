package dev.tether.examples.chat;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Answers {@code GET} with one class-path resource, read once when the server starts: the chat
 * page and the browser client it loads. {@code HEAD} gets the headers alone; any other method 405.
 */
final class StaticResource implements HttpHandler {

    private final ByteBuffer body;
    private final String contentType;

    private StaticResource(byte[] body, String contentType) {
        this.body = ByteBuffer.wrap(body).asReadOnlyBuffer();
        this.contentType = contentType;
    }

    /**
     * The resource {@code name} of {@code owner}'s class loader.
     *
     * @throws IllegalStateException if there is no such resource (a build that skipped it)
     */
    static StaticResource of(Class<?> owner, String name, String contentType) {
        try (InputStream in = owner.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("class-path resource " + name + " is missing: build with"
                        + " `mvn -pl examples -am package` (examples/run does), which builds the browser client");
            }
            return new StaticResource(in.readAllBytes(), Objects.requireNonNull(contentType, "contentType"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read class-path resource " + name, e);
        }
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        boolean head = exchange.getRequestMethod().equals(Methods.HEAD);
        if (!head && !exchange.getRequestMethod().equals(Methods.GET)) {
            exchange.setStatusCode(405);
            exchange.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD");
            exchange.endExchange();
            return;
        }
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-cache");
        exchange.setResponseContentLength(body.remaining());
        if (head) {
            exchange.endExchange();
        } else {
            exchange.getResponseSender().send(body.duplicate());
        }
    }
}
