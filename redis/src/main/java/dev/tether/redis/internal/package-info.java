/**
 * Internals of the Redis broker: the Lua scripts and how they are run, the marker framing of the
 * node channels, and the delivery thread. Not an API; may change in any release.
 */
package dev.tether.redis.internal;
