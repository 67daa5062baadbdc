/**
 * Tether's cluster broker on Redis: {@link dev.tether.redis.RedisBroker}, configured by
 * {@link dev.tether.redis.RedisBrokerConfig}. Give one broker to each node's hub; all nodes on
 * one Redis (and one key prefix) form a cluster in which a client resumes on any node.
 *
 * <p>One Redis is one shard: Redis Cluster and sharding over several Redis instances are not
 * supported yet.
 */
package dev.tether.redis;
