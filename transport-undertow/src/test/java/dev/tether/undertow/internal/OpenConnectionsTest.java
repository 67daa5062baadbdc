package dev.tether.undertow.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The list of open connections, which runs through the connections themselves. */
class OpenConnectionsTest {

    /** Records the closes it is asked for. */
    private static final class Recorded extends OpenConnections.Member {
        final List<String> closes = new ArrayList<>();

        @Override
        public void close(int code, String reason) {
            closes.add(code + " " + reason);
        }
    }

    @Test
    void closeAllClosesExactlyTheConnectionsStillListedWhateverOrderTheyLeftIn() {
        OpenConnections open = new OpenConnections();
        List<Recorded> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Recorded c = new Recorded();
            all.add(c);
            open.add(c);
        }
        open.add(all.get(0)); // twice: still listed once
        open.remove(all.get(2)); // the middle
        open.remove(all.get(4)); // the newest
        open.remove(all.get(0)); // the oldest
        open.remove(all.get(0)); // not listed any more: nothing happens

        open.closeAll(1001, "going away");

        assertThat(all.get(1).closes).containsExactly("1001 going away");
        assertThat(all.get(3).closes).containsExactly("1001 going away");
        assertThat(all.get(0).closes).isEmpty();
        assertThat(all.get(2).closes).isEmpty();
        assertThat(all.get(4).closes).isEmpty();
    }

    @Test
    void aConnectionAddedAfterCloseAllIsClosedAtOnceAndAwaitEmptyEndsWithTheLastRemove() throws Exception {
        OpenConnections open = new OpenConnections();
        Recorded first = new Recorded();
        open.add(first);
        open.closeAll(1012, "restart");
        Recorded late = new Recorded();
        open.add(late);
        assertThat(late.closes).containsExactly("1012 restart");
        assertThat(open.awaitEmpty(0)).as("two still listed").isFalse();

        CompletableFuture<Boolean> emptied = CompletableFuture.supplyAsync(() -> {
            try {
                return open.awaitEmpty(TimeUnit.SECONDS.toNanos(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        open.remove(late);
        open.remove(first);
        assertThat(emptied.get(10, TimeUnit.SECONDS)).isTrue();
    }
}
