package dev.tether.examples;

import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * A {@link LogManager} that keeps its handlers until the application's shutdown hook is done, so
 * that what the hook logs (the hub's drain: its start, its end, its counts) reaches the console
 * on SIGTERM or Ctrl-C.
 *
 * <p>Why: the JDK's log manager registers a shutdown hook of its own (its {@code Cleaner}) that
 * resets every logger, closing and removing their handlers. Shutdown hooks run concurrently, in
 * no order, so an application hook that drains for seconds logs into loggers that have already
 * lost their handlers: nothing is printed. This manager defers that reset while hooks added by
 * {@link #addShutdownHook} run, and performs it when the last of them has finished. Every other
 * reset (such as {@link LogManager#readConfiguration()}) happens at once, as usual.
 *
 * <p>Install it before anything logs, with the system property
 * {@code -Djava.util.logging.manager=dev.tether.examples.ShutdownLogManager} (what
 * {@code examples/run} does); the class must be on the class path of the JVM. Without it the
 * examples run the same, and the drain is logged only when the JDK's hook happens to run last.
 *
 * <p>The JDK's hook is recognised by the class of its thread, {@code java.util.logging.LogManager$Cleaner},
 * the same since JDK 1.4; if a JDK ever named it differently, the reset would simply not be
 * deferred.
 *
 * <p>Threading: every method may be called from any thread.
 */
public final class ShutdownLogManager extends LogManager {

    private static final String JDK_CLEANER = "java.util.logging.LogManager$Cleaner";

    private final Object lock = new Object();
    /** Hooks of {@link #addShutdownHook} still running or not started; guarded by {@link #lock}. */
    private int hooksPending;
    /** The JDK's hook asked for a reset while hooks were pending; guarded by {@link #lock}. */
    private boolean resetDeferred;

    /** Called by the JDK when the system property names this class. */
    public ShutdownLogManager() {
    }

    @Override
    public void reset() {
        if (Thread.currentThread().getClass().getName().equals(JDK_CLEANER)) {
            synchronized (lock) {
                if (hooksPending > 0) {
                    resetDeferred = true;
                    return;
                }
            }
        }
        super.reset();
    }

    private void hookAdded() {
        synchronized (lock) {
            hooksPending++;
        }
    }

    private void hookDone() {
        boolean reset;
        synchronized (lock) {
            hooksPending--;
            reset = hooksPending == 0 && resetDeferred;
            if (reset) {
                resetDeferred = false;
            }
        }
        if (reset) {
            super.reset(); // flushes and closes the handlers, as the JDK's hook would have
        }
    }

    /**
     * Runs {@code hook} when the JVM shuts down, with the log still open while it runs when this
     * manager is installed. Also makes sure the root logger's handlers exist now: the JDK's hook
     * forbids creating them once shutdown has begun, and a program that logged nothing before
     * would otherwise lose what the hook logs.
     */
    public static void addShutdownHook(String threadName, Runnable hook) {
        Logger.getLogger("").getHandlers();
        ShutdownLogManager manager = LogManager.getLogManager() instanceof ShutdownLogManager m ? m : null;
        if (manager != null) {
            manager.hookAdded();
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                hook.run();
            } finally {
                if (manager != null) {
                    manager.hookDone();
                }
            }
        }, threadName));
    }
}
