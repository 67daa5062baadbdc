package dev.tether.spring.boot;

import dev.tether.core.Tether;
import dev.tether.undertow.TetherServer;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Supplier;
import org.springframework.context.SmartLifecycle;

/**
 * Tether's own Undertow listener as a part of the application context's lifecycle: it starts
 * listening when the context has created every bean (so handlers the application registers while
 * its beans are created, such as Socket.IO {@code connection} listeners, are in place before the
 * first client arrives), and when the context closes it drains the hub, then stops listening.
 *
 * <p>Spring stops lifecycles from the highest phase down. Spring Boot 4.0 stops the web server in
 * two phases: its graceful shutdown at {@code SmartLifecycle.DEFAULT_PHASE - 1024} and the stop at
 * {@code DEFAULT_PHASE - 2048}. {@link #PHASE} is above both, so the drain runs first, while the
 * application's HTTP endpoints (a health probe that must read DOWN, anything the handler calls)
 * still answer; and it is below {@code DEFAULT_PHASE}, where lifecycles without a phase stop, so
 * that an application component in the default phase (a consumer feeding the hub) stops before
 * the hub does. Stopping blocks for up to {@code tether.drain-timeout}, inside the context's close.
 * A hub, once drained, stays closed: a stopped listener is not started again.
 *
 * <p>Threading: Spring calls {@link #start()} and {@link #stop()} from the thread that refreshes or
 * closes the context; {@link #port()} and {@link #address()} may be called from any thread.
 *
 * @since 0.1.0
 */
public final class TetherListener implements SmartLifecycle {

    /** {@code DEFAULT_PHASE - 512}: after the default phase, before the web server's shutdown. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private final Tether tether;
    private final Supplier<TetherServer> starter;
    private volatile TetherServer server;
    private boolean stopped;

    TetherListener(Tether tether, Supplier<TetherServer> starter) {
        this.tether = Objects.requireNonNull(tether, "tether");
        this.starter = Objects.requireNonNull(starter, "starter");
    }

    @Override
    public synchronized void start() {
        if (server == null && !stopped) {
            server = starter.get();
        }
    }

    @Override
    public synchronized void stop() {
        stopped = true;
        TetherServer s = server;
        try {
            tether.close();
        } finally {
            server = null;
            if (s != null) {
                s.close();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /**
     * The port the listener is bound to, the one to read when {@code tether.port} is {@code 0}.
     *
     * @return the bound port
     * @throws IllegalStateException if the listener is not running (before the context has
     *                               started, or after it has closed)
     */
    public int port() {
        return running().port();
    }

    /**
     * The address the listener is bound to.
     *
     * @return the bound address
     * @throws IllegalStateException if the listener is not running
     */
    public InetSocketAddress address() {
        return running().address();
    }

    private TetherServer running() {
        TetherServer s = server;
        if (s == null) {
            throw new IllegalStateException("Tether's listener is not running: it starts with the application context"
                    + " and stops when the context closes");
        }
        return s;
    }

    @Override
    public String toString() {
        TetherServer s = server;
        return "TetherListener[" + (s == null ? "not running" : s.address()) + "]";
    }
}
