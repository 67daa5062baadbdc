package dev.tether.core.spi;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * A read-only view of the HTTP upgrade request, given to the {@link Authenticator} before the
 * upgrade. Valid only during the authenticate call: the transport keeps no reference to the
 * request after the handshake.
 *
 * @since 0.1.0
 */
public interface HandshakeRequest {

    /**
     * The first value of a header.
     *
     * @param name the header name, in any case
     * @return its first value, if the request has it
     */
    Optional<String> header(String name);

    /**
     * The first value of a query parameter.
     *
     * @param name the parameter name
     * @return its first value, if the request has it
     */
    Optional<String> queryParameter(String name);

    /**
     * All values of a header.
     *
     * @param name the header name, in any case
     * @return its values, empty if none
     */
    List<String> headers(String name);

    /** {@return the request path} */
    String path();

    /** {@return the peer's address} */
    InetSocketAddress remoteAddress();

    /**
     * The bearer token: the {@code Authorization: Bearer ...} header, else the
     * {@code access_token} query parameter (browsers cannot set headers on a WebSocket).
     *
     * @return the token, if the request carries one
     */
    default Optional<String> bearerToken() {
        Optional<String> auth = header("Authorization");
        if (auth.isPresent() && auth.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.of(auth.get().substring(7).trim());
        }
        return queryParameter("access_token");
    }
}
