/**
 * Authentication of Tether handshakes with signed JSON Web Tokens:
 * {@link dev.tether.auth.jwt.JwtAuthenticator} checks a bearer token against a shared secret, a
 * public key or a JWKS URL and names the connection by its {@code sub} claim as a
 * {@link dev.tether.auth.jwt.JwtPrincipal}; {@link dev.tether.auth.jwt.JwtAuthorizer} lets it
 * subscribe and publish to the topics a claim of the token lists.
 */
package dev.tether.auth.jwt;
