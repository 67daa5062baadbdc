package dev.tether.core.spi;

import java.security.Principal;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of {@link Authenticator#authenticate(HandshakeRequest)}: a principal, or a refusal
 * that the transport answers with an HTTP status before the upgrade.
 *
 * @since 0.1.0
 */
public sealed interface AuthResult permits AuthResult.Accepted, AuthResult.Refused {

    /**
     * Accepts the connection as {@code principal}, with credentials that do not expire.
     *
     * @param principal who the client is
     * @return an {@link Accepted} without expiry
     */
    static AuthResult accept(Principal principal) {
        return new Accepted(principal, null);
    }

    /**
     * Accepts the connection as {@code principal} with credentials valid until {@code expiresAt}
     * (a token's {@code exp}). Before then the server asks the client for a fresh token, checked
     * with {@link Authenticator#refresh}, and closes the connection if none arrives in time (see
     * PROTOCOL.md, token refresh).
     *
     * @param principal who the client is
     * @param expiresAt when the credentials expire
     * @return an {@link Accepted} that expires
     */
    static AuthResult accept(Principal principal, Instant expiresAt) {
        return new Accepted(principal, Objects.requireNonNull(expiresAt, "expiresAt"));
    }

    /**
     * Refuses with 401: no or invalid credentials.
     *
     * @param reason why; the client gets it with the refusal
     * @return a {@link Refused} with status 401
     */
    static AuthResult unauthorized(String reason) {
        return new Refused(401, reason);
    }

    /**
     * Refuses with 403: valid credentials, not allowed.
     *
     * @param reason why; the client gets it with the refusal
     * @return a {@link Refused} with status 403
     */
    static AuthResult forbidden(String reason) {
        return new Refused(403, reason);
    }

    /**
     * Refuses with 503 and {@code Retry-After}: the credentials could not be checked now (a key
     * set or an introspection endpoint out of reach); the client should retry later.
     *
     * @param reason why; the client gets it with the refusal
     * @return a {@link Refused} with status 503
     */
    static AuthResult unavailable(String reason) {
        return new Refused(503, reason);
    }

    /**
     * An accepted connection.
     *
     * @param principal who the client is
     * @param expiresAt when its credentials expire; {@code null} for never
     */
    record Accepted(Principal principal, Instant expiresAt) implements AuthResult {
        /**
         * Checks that there is a principal.
         *
         * @param principal who the client is
         * @param expiresAt when its credentials expire; {@code null} for never
         */
        public Accepted {
            Objects.requireNonNull(principal, "principal");
        }

        /** {@return when the credentials expire, if they do} */
        public Optional<Instant> expiry() {
            return Optional.ofNullable(expiresAt);
        }
    }

    /** A refused connection; {@code status} is 401, 403 or 503. */
    record Refused(int status, String reason) implements AuthResult {
        /**
         * Validates the components.
         *
         * @param status 401, 403 or 503
         * @param reason why, never null
         */
        public Refused {
            if (status != 401 && status != 403 && status != 503) {
                throw new IllegalArgumentException("status must be 401, 403 or 503: " + status);
            }
            Objects.requireNonNull(reason, "reason");
        }
    }
}
