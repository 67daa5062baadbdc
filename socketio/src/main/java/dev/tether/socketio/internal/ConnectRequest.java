package dev.tether.socketio.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.spi.HandshakeRequest;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * A namespace CONNECT as the {@link dev.tether.core.spi.Authenticator} SPI sees it: the
 * {@code auth} object of the client ({@code io(url, {auth: {token: "..."}})}) stands in for the
 * query parameters, its {@code token} field is the bearer token, the namespace is the path.
 * Headers are not available (the HTTP request is long gone; the transport authenticated it).
 */
final class ConnectRequest implements HandshakeRequest {

    private final ObjectNode auth;
    private final String namespace;
    private final InetSocketAddress remoteAddress;

    ConnectRequest(ObjectNode auth, String namespace, InetSocketAddress remoteAddress) {
        this.auth = auth;
        this.namespace = namespace;
        this.remoteAddress = remoteAddress;
    }

    @Override
    public Optional<String> header(String name) {
        return Optional.empty();
    }

    @Override
    public Optional<String> queryParameter(String name) {
        JsonNode value = auth == null ? null : auth.get(name);
        return value == null || value.isNull() || value.isContainerNode() ? Optional.empty() : Optional.of(value.asText());
    }

    @Override
    public List<String> headers(String name) {
        return List.of();
    }

    @Override
    public String path() {
        return namespace;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remoteAddress;
    }

    @Override
    public Optional<String> bearerToken() {
        return queryParameter("token");
    }
}
