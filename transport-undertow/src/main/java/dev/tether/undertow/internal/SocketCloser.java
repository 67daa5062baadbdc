package dev.tether.undertow.internal;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;

/**
 * Closes upgraded sockets off their I/O thread. XNIO closing a socket on its own I/O thread
 * cancels its selection key and then calls {@code selectNow()} ({@code WorkerThread.cancelKey}),
 * which gathers every ready key of that selector: when thousands of peers vanish at once (a
 * reconnect storm, a proxy restart) each close pays for all the others, quadratic in their number,
 * and the handshakes of the clients coming back wait behind it. From any other thread XNIO only
 * cancels the key and wakes the selector, in constant time.
 *
 * <p>One daemon thread does the closing; it exists only while there is work and ends after a
 * second without any, so an embedding application never has a thread of ours left over. The
 * socket's close listeners run on that thread: {@link UndertowConnection} moves its own back to
 * the I/O thread.
 */
final class SocketCloser {

    private static final ThreadPoolExecutor CLOSER = new ThreadPoolExecutor(0, 1, 1, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), task -> {
                Thread thread = new Thread(task, "tether-socket-closer");
                thread.setDaemon(true);
                return thread;
            });

    private SocketCloser() {
    }

    /** Closes {@code socket} soon, from the closer thread; at once if that cannot be. Any thread. */
    static void close(StreamConnection socket) {
        try {
            CLOSER.execute(() -> IoUtils.safeClose(socket));
        } catch (RejectedExecutionException e) {
            IoUtils.safeClose(socket);
        }
    }
}
