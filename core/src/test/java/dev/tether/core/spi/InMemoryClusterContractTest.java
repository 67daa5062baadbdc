package dev.tether.core.spi;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.InMemoryCluster;
import org.junit.jupiter.api.Test;

/** {@link InMemoryCluster} keeps the broker contract. */
class InMemoryClusterContractTest extends BrokerContract {

    private InMemoryCluster cluster;

    @Override
    protected Broker newNode(int historyLength) {
        if (cluster == null) {
            cluster = new InMemoryCluster(historyLength);
        }
        return cluster.node();
    }

    @Test
    void onlyItsOwnNodesCanBeCutOff() {
        Broker other = new InMemoryCluster().node();
        newNode(100);
        assertThatThrownBy(() -> cluster.setReachable(other, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a node of this cluster");
    }
}
