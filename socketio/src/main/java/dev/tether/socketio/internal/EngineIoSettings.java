package dev.tether.socketio.internal;

import java.time.Duration;
import java.util.function.Function;

/**
 * What every Engine.IO connection of one Socket.IO server shares.
 *
 * @param namespaces     the namespace of a name, or {@code null} for an unknown one
 * @param maxAttachments the most binary attachments one packet may carry
 * @param connectTimeout how long a connection may stay without any namespace connected
 */
public record EngineIoSettings(Function<String, NamespaceEndpoint> namespaces, int maxAttachments,
                               Duration connectTimeout) {
}
