/**
 * The Java client of Tether: {@link dev.tether.client.TetherClient}, built with
 * {@link dev.tether.client.TetherClient#builder(java.net.URI)}, speaks the {@code tether-json} (version 3)
 * wire protocol (PROTOCOL.md) over the JDK's {@link java.net.http.WebSocket}. It resumes its
 * session after a lost connection, resends what the server did not acknowledge, de-duplicates what
 * the server replays, and reports every loss it cannot repair to its
 * {@link dev.tether.client.TetherClient.Listener}.
 *
 * <p>The implementation lives in {@code dev.tether.client.internal}, which is not API.
 */
package dev.tether.client;
