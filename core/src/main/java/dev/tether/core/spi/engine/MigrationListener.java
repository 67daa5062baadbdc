package dev.tether.core.spi.engine;

/**
 * Implemented by a {@link dev.tether.core.SessionHandler} that keeps per-session state of its own
 * (the Socket.IO layer's sockets): told when a session leaves this node without ending, because
 * another node claimed it or its client must resume through the broker. Its
 * {@link dev.tether.core.SessionHandler#onClose} is not called then, as the session lives on.
 *
 * <p>Threading: called on the session's handler executor, in order with its other callbacks.
 *
 * @since 0.1.0
 */
public interface MigrationListener {

    /**
     * {@code session} no longer lives on this node; drop what refers to it.
     *
     * @param session the session that left
     */
    void onMigrated(EngineSession session);
}
