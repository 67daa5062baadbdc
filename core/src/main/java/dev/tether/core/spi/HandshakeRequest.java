package dev.tether.core.spi;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * A read-only view of the HTTP upgrade request, given to the {@link Authenticator} before the
 * upgrade. Valid only during the authenticate call: the transport keeps no reference to the
 * request after the handshake.
 */
public interface HandshakeRequest {

    /** The first value of a header, case-insensitive name. */
    Optional<String> header(String name);

    /** The first value of a query parameter. */
    Optional<String> queryParameter(String name);

    /** All values of a header. */
    List<String> headers(String name);

    /** The request path. */
    String path();

    /** The peer's address. */
    InetSocketAddress remoteAddress();

    /**
     * The bearer token: the {@code Authorization: Bearer ...} header, else the
     * {@code access_token} query parameter (browsers cannot set headers on a WebSocket).
     */
    default Optional<String> bearerToken() {
        Optional<String> auth = header("Authorization");
        if (auth.isPresent() && auth.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.of(auth.get().substring(7).trim());
        }
        return queryParameter("access_token");
    }
}
