/**
 * The Engine.IO v4 / Socket.IO v5 wire protocol over the Tether engine: the packet codec, the
 * per-connection state machine ({@link dev.tether.socketio.internal.EngineIoConnection}) and the
 * per-socket link a session is attached to. Transport-agnostic: it sees only the core SPI
 * ({@link dev.tether.core.spi.TransportConnection}, {@link dev.tether.core.spi.Frame}). Not an API.
 */
package dev.tether.socketio.internal;
