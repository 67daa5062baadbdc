/**
 * Internals of the JWT authenticator: key sources (a fixed key, a cached JWKS fetched off the
 * I/O thread) and the token and claims checks. Not an API; may change in any release.
 */
package dev.tether.auth.jwt.internal;
