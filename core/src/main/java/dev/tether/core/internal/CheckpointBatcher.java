package dev.tether.core.internal;

import dev.tether.core.spi.Broker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Cluster: writes the checkpoints of this node's sessions as a group commit. With no call in
 * flight a checkpoint leaves at once; while one is in flight, the checkpoints that arrive wait
 * and leave together in the next {@link Broker#checkpoints} call (up to {@value #MAX_BATCH}
 * each). So a quiet node adds no delay, and a busy one makes one round trip for many sessions:
 * the broker's round trips for checkpoints do not grow with the number of sessions.
 *
 * <p>Thread-safe; futures complete on broker threads.
 */
final class CheckpointBatcher {

    static final int MAX_BATCH = 512;

    private record Pending(Broker.Checkpoint checkpoint, CompletableFuture<Boolean> known) {
    }

    private final Broker broker;
    /** Told once per failed call (not once per session in it). */
    private final java.util.function.Consumer<Throwable> failed;
    private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean inFlight = new AtomicBoolean();

    CheckpointBatcher(Broker broker, java.util.function.Consumer<Throwable> failed) {
        this.broker = broker;
        this.failed = failed;
    }

    /**
     * Completes with whether the broker knew the session, once the checkpoint is recorded; fails
     * if its call failed (reported once per call to the failure consumer).
     */
    CompletableFuture<Boolean> add(Broker.Checkpoint checkpoint) {
        Pending p = new Pending(checkpoint, new CompletableFuture<>());
        queue.add(p);
        sendIfIdle();
        return p.known();
    }

    private void sendIfIdle() {
        while (!queue.isEmpty() && inFlight.compareAndSet(false, true)) {
            List<Pending> batch = new ArrayList<>();
            Pending p;
            while (batch.size() < MAX_BATCH && (p = queue.poll()) != null) {
                batch.add(p);
            }
            if (batch.isEmpty()) {
                inFlight.set(false);
                continue; // another thread took them; look again
            }
            List<Broker.Checkpoint> checkpoints = new ArrayList<>(batch.size());
            batch.forEach(b -> checkpoints.add(b.checkpoint()));
            broker.checkpoints(checkpoints).whenComplete((known, error) -> {
                inFlight.set(false);
                if (error != null) {
                    failed.accept(error);
                }
                for (int i = 0; i < batch.size(); i++) {
                    if (error != null) {
                        batch.get(i).known().completeExceptionally(error);
                    } else {
                        batch.get(i).known().complete(known.get(i));
                    }
                }
                sendIfIdle();
            });
            return; // the completion sends what gathered meanwhile
        }
    }
}
