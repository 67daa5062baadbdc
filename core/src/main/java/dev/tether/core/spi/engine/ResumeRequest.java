package dev.tether.core.spi.engine;

import dev.tether.core.SessionHandler;
import dev.tether.core.spi.Protocol;
import java.security.Principal;
import java.util.Objects;

/**
 * What a connection presents to resume a session through the broker
 * ({@link Engine#resumeFromBroker}).
 *
 * @param sessionId the session's public id
 * @param token     the resume token the client presented (compared through its hash)
 * @param principal whom the connection authenticated as: must be the session's principal
 * @param last      the client's last received sequence number (a Socket.IO offset)
 * @param attempt   the client's resume attempt number, 0 if it sent none
 * @param protocol  the connection's wire protocol: its name must be the session's
 * @param handler   the callbacks of the session once resumed here
 * @param ackless   whether the client never acknowledges; such a client cannot retry with another
 *                  {@code last}, so a session it cannot resume is ended
 * @since 0.1.0
 */
public record ResumeRequest(String sessionId, String token, Principal principal, long last, long attempt,
                            Protocol protocol, SessionHandler handler, boolean ackless) {

    /**
     * Checks that nothing but the numbers is missing.
     *
     * @param sessionId the session's public id
     * @param token     the resume token the client presented
     * @param principal whom the connection authenticated as
     * @param last      the client's last received sequence number
     * @param attempt   the client's resume attempt number, 0 if it sent none
     * @param protocol  the connection's wire protocol
     * @param handler   the callbacks of the session once resumed here
     * @param ackless   whether the client never acknowledges
     * @throws NullPointerException if an id, token, principal, protocol or handler is null
     */
    public ResumeRequest {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(handler, "handler");
    }
}
