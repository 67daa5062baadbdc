package dev.tether.core.internal;

/**
 * Implemented by a {@link dev.tether.core.SessionHandler} that keeps per-session state of its own
 * (the Socket.IO layer's sockets): told when a session leaves this node without ending, because
 * another node claimed it or its client must resume through the broker. Its
 * {@link dev.tether.core.SessionHandler#onClose} is not called then, as the session lives on.
 * Public only for the Socket.IO layer; not an API.
 *
 * <p>Threading: called on the session's handler executor, in order with its other callbacks.
 */
public interface MigrationListener {

    /** {@code session} no longer lives on this node; drop what refers to it. */
    void onMigrated(ServerSession session);
}
