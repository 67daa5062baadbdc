package dev.tether.core.spi;

import java.security.Principal;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * Turns the credentials of an upgrade request into a principal, before the upgrade. A refusal is
 * answered with its HTTP status (401, 403 or 503) and no WebSocket is opened.
 *
 * <p>Asynchronous: {@link #authenticate} returns a stage that may complete later, on any thread
 * (after a key-set download or a call to an introspection endpoint). The transport waits without
 * blocking an I/O thread, keeps the connection's admission slot while it waits (so
 * {@link dev.tether.core.TetherConfig#maxConnections()} bounds waiting handshakes too), and
 * answers {@code 503} with {@code Retry-After} if the stage has not completed within
 * {@link dev.tether.core.TetherConfig#authenticationTimeout()}. An answer that comes after that,
 * or after the client went away, is ignored. A stage that is already complete when
 * {@code authenticate} returns is used at once, with no hop to another thread: a fast check that
 * needs no I/O can be written with {@link #sync}.
 *
 * <p>As Socket.IO middleware ({@code Namespace.use}) the contract is the same, per CONNECT: a
 * refusal's reason becomes the {@code connect_error} message, and a chain that has not finished
 * within the timeout gets "Authentication timed out".
 *
 * <p>The {@link HandshakeRequest} is valid only during the {@code authenticate} call itself: read
 * what you need (usually {@link HandshakeRequest#bearerToken()}) before returning, never from
 * the continuation.
 *
 * <p>Threading: {@code authenticate} is called on an I/O thread, so it must return quickly and
 * must not block; do slow work on your own executor. Must be thread-safe.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface Authenticator {

    /** The principal every anonymous connection gets from {@link #ANONYMOUS}. */
    Principal ANONYMOUS_PRINCIPAL = () -> "anonymous";

    /**
     * Accepts every connection as {@link #ANONYMOUS_PRINCIPAL}. The default: who may subscribe and
     * publish is then the {@link Authorizer}'s decision, which by default allows nothing.
     */
    Authenticator ANONYMOUS = sync(request -> AuthResult.accept(ANONYMOUS_PRINCIPAL));

    /**
     * Authenticates a handshake. A stage completed exceptionally, a {@code null} result or a thrown
     * exception is reported to the error handler under {@code "authenticate"} and answered 401.
     *
     * @param request the upgrade request, valid during this call only
     * @return the answer, now or later
     */
    CompletionStage<AuthResult> authenticate(HandshakeRequest request);

    /**
     * Authenticates a fresh token sent by a client inside a live session, because the credentials
     * its connection was accepted with expire ({@link AuthResult#accept(Principal, java.time.Instant)}).
     * The engine keeps the session only if the result is accepted for a principal of the same
     * name. The default refuses: an authenticator whose results never expire needs no refresh.
     *
     * <p>Threading: as {@link #authenticate}.
     *
     * @param current the principal the session has now
     * @param token   the token the client sent
     * @return the answer, now or later
     */
    default CompletionStage<AuthResult> refresh(Principal current, String token) {
        return CompletableFuture.completedFuture(AuthResult.unauthorized("Token refresh is not supported."));
    }

    /**
     * An authenticator from a fast, non-blocking check that answers at once (verify a signed
     * token with a key already in memory; never call a remote service from it).
     *
     * @param check answers a handshake at once
     * @return an authenticator whose stages are complete on return
     */
    static Authenticator sync(Function<HandshakeRequest, AuthResult> check) {
        Objects.requireNonNull(check, "check");
        return request -> CompletableFuture.completedFuture(check.apply(request));
    }
}
