/**
 * Tether's public API: the {@link dev.tether.core.Tether} hub, {@link dev.tether.core.Session}s,
 * messages, payloads, configuration and statistics.
 */
package dev.tether.core;
