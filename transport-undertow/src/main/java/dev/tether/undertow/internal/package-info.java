/**
 * Adapters between Undertow and the Tether engine: the WebSocket connection on the socket
 * Undertow upgraded (its own RFC 6455 framing: batched writes, writability, message assembly,
 * closing), the upgrade that creates it, and the view of an upgrade request the authenticator
 * sees. Not an API: may change in any release.
 */
package dev.tether.undertow.internal;
