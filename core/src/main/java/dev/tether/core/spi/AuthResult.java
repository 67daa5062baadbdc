package dev.tether.core.spi;

import java.security.Principal;
import java.util.Objects;

/**
 * The outcome of {@link Authenticator#authenticate(HandshakeRequest)}: a principal, or a refusal
 * that the transport answers with an HTTP status before the upgrade.
 */
public sealed interface AuthResult permits AuthResult.Accepted, AuthResult.Refused {

    /** Accepts the connection as {@code principal}. */
    static AuthResult accept(Principal principal) {
        return new Accepted(principal);
    }

    /** Refuses with 401: no or invalid credentials. */
    static AuthResult unauthorized(String reason) {
        return new Refused(401, reason);
    }

    /** Refuses with 403: valid credentials, not allowed. */
    static AuthResult forbidden(String reason) {
        return new Refused(403, reason);
    }

    /** An accepted connection. */
    record Accepted(Principal principal) implements AuthResult {
        public Accepted {
            Objects.requireNonNull(principal, "principal");
        }
    }

    /** A refused connection; {@code status} is 401 or 403. */
    record Refused(int status, String reason) implements AuthResult {
        public Refused {
            if (status != 401 && status != 403) {
                throw new IllegalArgumentException("status must be 401 or 403: " + status);
            }
            Objects.requireNonNull(reason, "reason");
        }
    }
}
