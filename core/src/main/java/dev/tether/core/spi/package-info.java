/**
 * Extension points of Tether: the transport connection, the wire protocol, authentication,
 * authorisation, metrics and error reporting. Each has a safe default.
 */
package dev.tether.core.spi;
