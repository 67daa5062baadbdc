/**
 * The session engine's SPI for wire-protocol modules: {@link dev.tether.core.spi.engine.Engine}
 * (sessions, admission, the timer, the cluster resume), {@link dev.tether.core.spi.engine.EngineSession},
 * and what a protocol implements, {@link dev.tether.core.spi.engine.SessionLink} and
 * {@link dev.tether.core.spi.engine.EngineConnection}; with the building blocks every protocol
 * shares ({@link dev.tether.core.spi.engine.Heartbeat},
 * {@link dev.tether.core.spi.engine.TokenBucket}, {@link dev.tether.core.spi.engine.AuthAnswers}).
 * {@code tether-socketio} is built on this package alone. Applications and transports do not need
 * it; it may change between minor versions until 1.0.
 *
 * @since 0.1.0
 */
package dev.tether.core.spi.engine;
