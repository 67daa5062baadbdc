package dev.tether.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerContract;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link RedisBroker} keeps the broker contract, on a real redis-server. */
class RedisBrokerContractTest extends BrokerContract {

    private static final AtomicInteger CLUSTERS = new AtomicInteger();
    private static RedisServerProcess server;

    /** Each test is its own cluster: its own key prefix on the shared server. */
    private final String prefix = "contract" + CLUSTERS.incrementAndGet() + ":";

    @BeforeAll
    static void startRedis() {
        server = RedisServerProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        server.close();
    }

    @Override
    protected Broker newNode(int historyLength) {
        return new RedisBroker(RedisBrokerConfig.builder()
                .uri(server.uri())
                .keyPrefix(prefix)
                .topicMaxLength(historyLength)
                .build());
    }

    @Test
    void eachTestIsItsOwnClusterUnderItsOwnKeyPrefix() throws Exception {
        Broker a = start(newNode(100), new Recorder());
        await(a.create(record("s1", "t1")));
        assertThat(server.command("EXISTS " + prefix + "s:s1")).as("the record under this test's prefix").isEqualTo(":1");
        assertThat(server.command("EXISTS contract0:s:s1")).as("nothing under another's").isEqualTo(":0");
    }
}
