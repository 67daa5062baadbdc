package dev.tether.core.spi;

import dev.tether.core.Tether;
import java.security.Principal;
import java.util.Objects;

/**
 * What a transport does with a hub, apart from what the application sees in {@link Tether}:
 * admission before the upgrade, and attaching upgraded connections. A transport gets it with
 * {@link #of(Tether)}; an application never needs it.
 *
 * <p>Threading: every method may be called from any thread unless it says otherwise.
 *
 * @since 0.1.0
 */
public interface TransportHub {

    /**
     * The transport side of {@code tether}: every hub {@link Tether#create} makes has one (a hub
     * of one's own, such as a test double, implements this interface too).
     *
     * @param tether the hub
     * @return its transport side
     * @throws IllegalArgumentException if {@code tether} has none
     */
    static TransportHub of(Tether tether) {
        Objects.requireNonNull(tether, "tether");
        if (tether instanceof TransportHub hub) {
            return hub;
        }
        throw new IllegalArgumentException("a hub without a transport side: " + tether.getClass().getName()
                + " does not implement TransportHub");
    }

    /** {@link #admit()}: a connection slot is reserved. */
    int ADMITTED = 0;

    /**
     * For transports, before the upgrade: reserves a slot for one more connection if the hub is
     * under {@link dev.tether.core.TetherConfig#maxConnections()} and {@link dev.tether.core.TetherConfig#maxHandshakesPerSecond()}
     * (with its {@link dev.tether.core.TetherConfig#handshakeBurst()}) and not closing. Cheap: nothing is created. The slot is taken by the {@link #connect(TransportConnection, AuthResult.Accepted)} of
     * the same handshake, or given back with {@link #cancelAdmission()} if the upgrade does not
     * happen. A refusal is counted in {@link dev.tether.core.Stats#refused()}.
     *
     * @return {@link #ADMITTED}, or the whole seconds the client should wait before retrying
     *     (the transport answers HTTP 503 with that {@code Retry-After})
     */
    int admit();

    /**
     * For transports, before the upgrade: as {@link #admit()}, but a handshake over
     * {@link dev.tether.core.TetherConfig#maxHandshakesPerSecond()} is given the next free turn if it
     * comes within {@link dev.tether.core.TetherConfig#handshakeMaxDelay()}, instead of being refused.
     * The slot is reserved either way; the transport waits the returned time without a thread (and
     * gives the slot back with {@link #cancelAdmission()} if the client leaves meanwhile), then goes
     * on with the handshake as after {@link #admit()}. A hub that only implements {@link #admit()}
     * never delays.
     *
     * @return the nanoseconds to wait before going on with the handshake ({@code 0}: at once); or,
     *     negative, the refusal: minus the whole seconds of its {@code Retry-After}
     */
    default long admitOrDelay() {
        int retryAfter = admit();
        return retryAfter == ADMITTED ? 0 : -retryAfter;
    }

    /** For transports: gives back a slot {@link #admit()} reserved when the upgrade failed. */
    void cancelAdmission();

    /**
     * For transports: attaches a newly upgraded connection, authenticated as {@code principal}
     * with credentials that do not expire. As {@link #connect(TransportConnection, AuthResult.Accepted)}.
     *
     * @param connection the upgraded connection
     * @param principal who the authenticator said the client is
     * @return the listener the transport feeds every event of the connection
     */
    default ConnectionListener connect(TransportConnection connection, Principal principal) {
        return connect(connection, new AuthResult.Accepted(principal, null));
    }

    /**
     * For transports: attaches a newly upgraded connection, authenticated as the authenticator
     * said, into the slot {@link #admit()} reserved for it. The engine expects a hello frame next
     * (see PROTOCOL.md). Call on the connection's I/O thread; the returned listener must be fed
     * every event of the connection.
     *
     * <p>If the credentials expire ({@link AuthResult.Accepted#expiresAt()}), the engine asks a
     * client that speaks protocol version 2 for a fresh token before then, and closes the
     * connection with {@link dev.tether.core.CloseCodes#CREDENTIALS_EXPIRED} when none was accepted in time; the
     * session stays resumable.
     *
     * @param connection the upgraded connection
     * @param credentials the authenticator's answer: the principal and when its credentials expire
     * @return the listener the transport feeds every event of the connection
     */
    ConnectionListener connect(TransportConnection connection, AuthResult.Accepted credentials);
}
