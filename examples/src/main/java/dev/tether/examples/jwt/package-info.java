/** The chat example for clients that present a JWT: the README's "Authentication with JWT". */
package dev.tether.examples.jwt;
