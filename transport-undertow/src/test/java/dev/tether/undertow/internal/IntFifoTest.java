package dev.tether.undertow.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IntFifoTest {

    @Test
    void returnsValuesInInsertionOrderAcrossGrowthAndWrapAround() {
        IntFifo fifo = new IntFifo(4);
        int next = 0;
        int expected = 0;
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < round % 7 + 1; i++) {
                fifo.add(next++);
            }
            for (int i = 0; i < round % 5 && fifo.size() > 0; i++) {
                assertThat(fifo.poll()).isEqualTo(expected++);
            }
        }
        while (fifo.size() > 0) {
            assertThat(fifo.poll()).isEqualTo(expected++);
        }
        assertThat(expected).isEqualTo(next);
    }

    @Test
    void pollOnEmptyReturnsZeroAndClearEmpties() {
        IntFifo fifo = new IntFifo(2);
        assertThat(fifo.poll()).isZero();
        fifo.add(7);
        fifo.add(8);
        fifo.add(9);
        fifo.clear();
        assertThat(fifo.size()).isZero();
        assertThat(fifo.poll()).isZero();
    }
}
