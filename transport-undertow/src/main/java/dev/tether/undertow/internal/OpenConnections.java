package dev.tether.undertow.internal;

import dev.tether.core.spi.TransportConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The connections one handler attached to the hub whose sockets are still open (WebSockets), or
 * whose client has not yet been handed the close (long-polling sessions), so that a server that
 * stops can close them with a close frame or packet instead of dropping their sockets.
 *
 * <p>Threading: {@link #add} and {@link #remove} run on the connections' I/O threads;
 * {@link #closeAll} and {@link #awaitEmpty} on any other thread, usually the one stopping the
 * server. One lock guards the list: it is taken once when a connection opens and once when its
 * socket closes, never per frame. Once {@link #closeAll} has run, a connection added later is
 * closed as soon as it is added, so that an upgrade completing during the shutdown is not missed.
 *
 * <p>Memory: the list runs through the connections themselves ({@link Member}), two references
 * each, where a set's entry and its share of the table took about 40 bytes per connection.
 */
public final class OpenConnections {

    /**
     * A connection that can be listed: the links of the list it is on. A connection is on at most
     * one list.
     */
    public abstract static class Member {
        /** Guarded by the list's lock. */
        private Member previousOpen;
        private Member nextOpen;

        /**
         * Closes the connection with a close frame or packet ({@link TransportConnection#close}).
         *
         * @param code   the close code
         * @param reason the close reason
         */
        public abstract void close(int code, String reason);
    }

    private final Object lock = new Object();
    /** The most recently added; guarded by {@link #lock}. */
    private Member newest;
    private int size;
    /** Guarded by {@link #lock}; {@code null} until {@link #closeAll}. */
    private CloseRequest closing;

    private record CloseRequest(int code, String reason) {
    }

    /** A connection attached to the hub with its socket open. Its I/O thread. */
    void add(Member connection) {
        CloseRequest request;
        synchronized (lock) {
            if (!listed(connection)) {
                connection.nextOpen = newest;
                if (newest != null) {
                    newest.previousOpen = connection;
                }
                newest = connection;
                size++;
            }
            request = closing;
        }
        if (request != null) {
            connection.close(request.code(), request.reason());
        }
    }

    /** The connection's socket is closed (or its client was handed the close). Its I/O thread. */
    void remove(Member connection) {
        synchronized (lock) {
            if (!listed(connection)) {
                return;
            }
            Member previous = connection.previousOpen;
            Member next = connection.nextOpen;
            if (previous != null) {
                previous.nextOpen = next;
            } else {
                newest = next;
            }
            if (next != null) {
                next.previousOpen = previous;
            }
            connection.previousOpen = null;
            connection.nextOpen = null;
            if (--size == 0) {
                lock.notifyAll();
            }
        }
    }

    /** Guarded by {@link #lock}. */
    private boolean listed(Member connection) {
        return connection.previousOpen != null || newest == connection;
    }

    /**
     * Closes every open connection with {@code code} and {@code reason}, and every connection
     * added from now on. Never blocks: each close runs on its connection's I/O thread. A
     * connection already closing keeps the code it is closing with. Only the first call counts.
     */
    public void closeAll(int code, String reason) {
        List<Member> snapshot;
        synchronized (lock) {
            if (closing != null) {
                return;
            }
            closing = new CloseRequest(code, reason);
            snapshot = new ArrayList<>(size);
            for (Member m = newest; m != null; m = m.nextOpen) {
                snapshot.add(m);
            }
        }
        for (Member connection : snapshot) {
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
            while (size > 0) {
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
