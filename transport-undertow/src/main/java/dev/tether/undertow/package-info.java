/**
 * Tether on Undertow: {@link dev.tether.undertow.TetherHandler}, the handler a host mounts in its
 * own Undertow server; {@link dev.tether.undertow.TetherServer}, a standalone server for
 * applications that have none; and their configuration,
 * {@link dev.tether.undertow.TetherUndertowConfig}.
 *
 * <p>The handler checks the origin (same-origin by default) and authenticates every upgrade
 * request before upgrading, then adapts each WebSocket to the hub's
 * {@link dev.tether.core.spi.TransportConnection} SPI.
 * No Undertow or XNIO type appears in the hub's API.
 */
package dev.tether.undertow;
