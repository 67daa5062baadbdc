package dev.tether.spring.boot;

import dev.tether.core.Tether;
import dev.tether.undertow.TetherServer;
import org.springframework.context.SmartLifecycle;

/**
 * Drains the hub, then stops its listener, when the application context closes.
 *
 * <p>Spring stops lifecycles from the highest phase down. Spring Boot 4.0 stops the web server in
 * two phases: {@code WebServerGracefulShutdownLifecycle} at
 * {@code SmartLifecycle.DEFAULT_PHASE - 1024} (its graceful shutdown) and
 * {@code WebServerStartStopLifecycle} at {@code DEFAULT_PHASE - 2048} (the stop). {@link #PHASE}
 * is above both, so the drain runs first, while the application's HTTP endpoints (a health probe
 * that must read DOWN, anything the handler calls) still answer; and it is below
 * {@code DEFAULT_PHASE}, where lifecycles without a phase stop, so that an application component
 * in the default phase (a message consumer feeding the hub) stops before the hub does.
 * Stopping blocks for up to {@code tether.drain-timeout}, within the context's close. Both closes
 * are idempotent: the beans' own destroy methods, run later, do nothing more.
 */
final class TetherDrain implements SmartLifecycle {

    /** {@code DEFAULT_PHASE - 512}: after the default phase, before the web server's shutdown. */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private final Tether tether;
    private final TetherServer server;
    private volatile boolean running;

    TetherDrain(Tether tether, TetherServer server) {
        this.tether = tether;
        this.server = server;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        try {
            tether.close();
        } finally {
            server.close();
            running = false;
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
