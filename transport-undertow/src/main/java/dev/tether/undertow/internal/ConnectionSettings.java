package dev.tether.undertow.internal;

import dev.tether.core.TetherConfig;
import dev.tether.core.spi.ErrorHandler;
import dev.tether.undertow.TetherUndertowConfig;
import dev.tether.undertow.WriteWaterMark;
import java.util.Objects;

/**
 * The per-connection limits a {@link UndertowConnection} needs, and where its failures go,
 * resolved once per handler and shared by its connections.
 *
 * @param maxMessageBytes the largest inbound message; larger ones close with 1009
 * @param idleTimeoutMs   the socket idle timeout
 * @param closeTimeoutMs  how long to wait for the peer's close frame after sending ours
 * @param lowWaterBytes   backlog below which a connection is writable again
 * @param highWaterBytes  backlog above which a connection is unwritable
 * @param messageReadTimeoutMs how long one inbound message may take to arrive whole
 * @param maxPingsPerMinute    pings allowed in one minute; more close with 1008; 0 means no limit
 * @param errorHandler         the hub's, for failures of the application's listeners
 */
public record ConnectionSettings(int maxMessageBytes, long idleTimeoutMs, long closeTimeoutMs,
                                 int lowWaterBytes, int highWaterBytes, long messageReadTimeoutMs,
                                 int maxPingsPerMinute, ErrorHandler errorHandler) {

    /**
     * The settings of a handler mounted with {@code config} on a hub configured with {@code hub}.
     * An idle timeout of zero means the heartbeat interval and timeout plus a margin.
     *
     * @throws IllegalArgumentException if an explicit idle timeout does not exceed the hub's
     *                                  heartbeat interval
     */
    public static ConnectionSettings resolve(TetherConfig hub, TetherUndertowConfig config) {
        long idleTimeoutMs;
        if (config.idleTimeout().isZero()) {
            idleTimeoutMs = hub.heartbeatInterval().plus(hub.heartbeatTimeout())
                    .plus(TetherUndertowConfig.IDLE_TIMEOUT_MARGIN).toMillis();
        } else {
            if (config.idleTimeout().compareTo(hub.heartbeatInterval()) <= 0) {
                throw new IllegalArgumentException("idleTimeout must exceed the hub's heartbeatInterval ("
                        + hub.heartbeatInterval() + "): " + config.idleTimeout());
            }
            idleTimeoutMs = config.idleTimeout().toMillis();
        }
        WriteWaterMark marks = config.writeWaterMark();
        return new ConnectionSettings(hub.maxMessageBytes(), idleTimeoutMs, config.closeTimeout().toMillis(),
                marks.lowBytes(), marks.highBytes(), config.messageReadTimeout().toMillis(),
                config.maxPingsPerMinute(), hub.errorHandler());
    }

    /**
     * @throws IllegalArgumentException if a value is out of range
     */
    public ConnectionSettings {
        if (maxMessageBytes < 1) {
            throw new IllegalArgumentException("maxMessageBytes must be positive: " + maxMessageBytes);
        }
        if (idleTimeoutMs < 1 || closeTimeoutMs < 1 || messageReadTimeoutMs < 1) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        if (lowWaterBytes < 0 || highWaterBytes <= lowWaterBytes) {
            throw new IllegalArgumentException("water marks out of order: " + lowWaterBytes + ", " + highWaterBytes);
        }
        Objects.requireNonNull(errorHandler, "errorHandler");
        if (maxPingsPerMinute < 0) {
            throw new IllegalArgumentException("maxPingsPerMinute must not be negative: " + maxPingsPerMinute);
        }
    }
}
