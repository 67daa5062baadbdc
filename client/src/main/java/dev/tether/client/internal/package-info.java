/**
 * Implementation of {@link dev.tether.client.TetherClient}; not API, may change at any time.
 *
 * <p>{@link dev.tether.client.internal.ClientEngine} owns a client's protocol state on a
 * {@link dev.tether.client.internal.OrderedExecutor}; a
 * {@link dev.tether.client.internal.Connection} adapts one JDK WebSocket to it; the small
 * single-threaded parts ({@link dev.tether.client.internal.InboundSequence},
 * {@link dev.tether.client.internal.UnackedBuffer}, {@link dev.tether.client.internal.Backoff},
 * {@link dev.tether.client.internal.ClientCodec}) are unit-tested on their own.
 */
package dev.tether.client.internal;
