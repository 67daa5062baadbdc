/**
 * JMH micro-benchmarks of the session engine, driven through the public API and the transport
 * SPI only: a hub made by {@code Tether.create}, connections attached with {@code TransportHub.connect}
 * and fed frames through the returned {@code ConnectionListener}, as a transport would.
 *
 * <p>The connections here have no socket: {@link dev.tether.benchmarks.jmh.BenchConnection}
 * hands each frame to a JMH {@code Blackhole} and counts its bytes without copying, so what is
 * measured is the engine (encode, enqueue, drain, framing, acks), not a network stack. See
 * {@code benchmarks/README.md} for how to build and run them.
 */
package dev.tether.benchmarks.jmh;
