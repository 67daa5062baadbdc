package dev.tether.undertow.internal;

import dev.tether.core.spi.TransportConnection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The connections one handler attached to the hub whose sockets are still open (WebSockets), or
 * whose client has not yet been handed the close (long-polling sessions), so that a server that
 * stops can close them with a close frame or packet instead of dropping their sockets.
 *
 * <p>Threading: {@link #add} and {@link #remove} run on the connections' I/O threads;
 * {@link #closeAll} and {@link #awaitEmpty} on any other thread, usually the one stopping the
 * server. One lock guards the set: it is taken once when a connection opens and once when its
 * socket closes, never per frame. Once {@link #closeAll} has run, a connection added later is
 * closed as soon as it is added, so that an upgrade completing during the shutdown is not missed.
 */
public final class OpenConnections {

    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private final Set<TransportConnection> open = new HashSet<>();
    /** Guarded by {@link #lock}; {@code null} until {@link #closeAll}. */
    private CloseRequest closing;

    private record CloseRequest(int code, String reason) {
    }

    /** A connection attached to the hub with its socket open. Its I/O thread. */
    void add(TransportConnection connection) {
        CloseRequest request;
        synchronized (lock) {
            open.add(connection);
            request = closing;
        }
        if (request != null) {
            connection.close(request.code(), request.reason());
        }
    }

    /** The connection's socket is closed (or its client was handed the close). Its I/O thread. */
    void remove(TransportConnection connection) {
        synchronized (lock) {
            if (open.remove(connection) && open.isEmpty()) {
                lock.notifyAll();
            }
        }
    }

    /**
     * Closes every open connection with {@code code} and {@code reason}, and every connection
     * added from now on. Never blocks: each close runs on its connection's I/O thread. A
     * connection already closing keeps the code it is closing with. Only the first call counts.
     */
    public void closeAll(int code, String reason) {
        List<TransportConnection> snapshot;
        synchronized (lock) {
            if (closing != null) {
                return;
            }
            closing = new CloseRequest(code, reason);
            snapshot = new ArrayList<>(open);
        }
        for (TransportConnection connection : snapshot) {
            connection.close(code, reason);
        }
    }

    /**
     * Waits until every socket is closed, or for {@code timeoutNs}. Must not be called on an I/O
     * thread, whose work it would wait for.
     *
     * @return whether every socket closed in time
     */
    public boolean awaitEmpty(long timeoutNs) throws InterruptedException {
        long deadlineNs = System.nanoTime() + timeoutNs;
        synchronized (lock) {
            while (!open.isEmpty()) {
                long leftNs = deadlineNs - System.nanoTime();
                if (leftNs <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, leftNs);
            }
            return true;
        }
    }
}
