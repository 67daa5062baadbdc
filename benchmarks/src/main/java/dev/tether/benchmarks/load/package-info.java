/**
 * The load generator: {@link dev.tether.benchmarks.load.LoadGenerator} drives up to about 19,000
 * WebSocket connections from one process over plain {@code java.nio} (one or two selector threads,
 * no thread per connection), speaking Tether's native protocol or Socket.IO v4 (Engine.IO v4 over
 * WebSocket), so that the same generator measures Tether and a Node.js Socket.IO server.
 * Scenarios: {@code hold}, {@code echo}, {@code broadcast} (one publisher, N subscribers, optionally
 * some that stop reading), {@code storm} (every subscriber cut at once, then back: Tether's
 * resume, or socket.io-client's reconnect with a fresh session) and {@code failover} (broadcast
 * over the nodes of a cluster, {@code --targets}; the subscribers of a node that dies resume on
 * the next one).
 *
 * <p>Loopback only: the server must be on 127.0.0.0/8, and connections are spread over the source
 * addresses 127.0.0.2, 127.0.0.3, ... so that the ephemeral-port range is not the limit.
 */
package dev.tether.benchmarks.load;
