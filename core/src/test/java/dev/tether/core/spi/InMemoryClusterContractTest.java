package dev.tether.core.spi;

import dev.tether.core.InMemoryCluster;

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
}
