/**
 * Cluster benchmarks on Redis, run by {@code benchmarks/run cluster}:
 * {@link dev.tether.benchmarks.cluster.BrokerPublishThroughput} publishes through a
 * {@link dev.tether.redis.RedisBroker} as fast as its bounded queue allows, so that its rate can be
 * compared with a bare loop of the same Lua script ({@code redis-benchmark EVALSHA}) on the same
 * Redis. The multi-node scenarios (commands per publish, cross-node latency, node kill, 100,000
 * connections) use the load generator of {@code dev.tether.benchmarks.load} against separate node
 * processes; {@code benchmarks/scripts/cluster.py} orchestrates them.
 */
package dev.tether.benchmarks.cluster;
