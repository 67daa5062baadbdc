package dev.tether.core.spi;

import java.security.Principal;

/**
 * Decides whether a principal may subscribe to or publish on a topic. A refusal is answered with
 * an error frame ({@code forbidden}); the connection stays open.
 *
 * <p>Threading: called on I/O threads; must be fast, non-blocking and thread-safe.
 */
public interface Authorizer {

    /** Allows everything. The default. */
    Authorizer ALLOW_ALL = new Authorizer() { };

    /** Whether {@code principal} may subscribe to {@code topic}. */
    default boolean canSubscribe(Principal principal, String topic) {
        return true;
    }

    /** Whether {@code principal} may publish on {@code topic} from a client. */
    default boolean canPublish(Principal principal, String topic) {
        return true;
    }
}
