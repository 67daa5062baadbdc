package dev.tether.core.spi;

import java.security.Principal;

/**
 * Turns the credentials of an upgrade request into a principal, before the upgrade. A refusal is
 * answered with HTTP 401 or 403 and no WebSocket is opened.
 *
 * <p>Threading: called on an I/O thread for every handshake, so it must be fast and must not
 * block (verify a signed token; do not call a remote service). Must be thread-safe.
 */
@FunctionalInterface
public interface Authenticator {

    /** The principal every anonymous connection gets from {@link #ANONYMOUS}. */
    Principal ANONYMOUS_PRINCIPAL = () -> "anonymous";

    /** Accepts every connection as {@link #ANONYMOUS_PRINCIPAL}. The default. */
    Authenticator ANONYMOUS = request -> AuthResult.accept(ANONYMOUS_PRINCIPAL);

    /**
     * Authenticates a handshake. A thrown exception is reported to the error handler and answered
     * as 401.
     */
    AuthResult authenticate(HandshakeRequest request);
}
