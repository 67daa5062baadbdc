/**
 * The session engine: outbound queues, drain, sequence numbers, acknowledgements, replay, the
 * timer wheel and ordered handler dispatch. Not an API: may change in any release.
 */
package dev.tether.core.internal;
