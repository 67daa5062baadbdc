package dev.tether.undertow.internal;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.ConnectorStatistics;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.protocol.http.HttpOpenListener;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CountDownLatch;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.Xnio;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptingChannel;

/**
 * One HTTP listener on an XNIO worker of its own: what {@code Undertow.start()} and
 * {@code Undertow.stop()} do for a single plain HTTP listener, with the same worker, socket and
 * buffer settings, except that the accept step is Tether's.
 *
 * <p>Why: XNIO hands each accepted socket to an I/O thread as a queued task, and queues one task
 * more than it needs when several arrive together; its accept thread may still be handing sockets
 * over when the listener is closed from another thread, and XNIO offers no way to wait for that
 * thread. A task that runs after the close finds the listener closed, and XNIO's own accept step
 * logs that at ERROR with a stack trace, on every stop that races with arriving clients. Here the
 * accept step knows the listener was closed on purpose: a hand-over that finds it closed after
 * {@link #stop()} has nothing to hand over. Any other accept failure is logged (TS032).
 *
 * <p>Undertow gets each socket wrapped in a {@link DetachableConnection}, so that a WebSocket
 * upgrade can take the socket back without Undertow's HTTP connection state.
 */
public final class HttpListener {

    private static final System.Logger LOG = System.getLogger("dev.tether.undertow");

    private final XnioWorker worker;
    private final HttpOpenListener openListener;
    private final AcceptingChannel<StreamConnection> channel;
    private volatile boolean closing;

    private HttpListener(XnioWorker worker, HttpOpenListener openListener, InetSocketAddress address, int backlog)
            throws IOException {
        this.worker = worker;
        this.openListener = openListener;
        OptionMap socketOptions = OptionMap.builder()
                .set(Options.WORKER_IO_THREADS, worker.getIoThreadCount())
                .set(Options.TCP_NODELAY, true)
                .set(Options.REUSE_ADDRESSES, true)
                .set(Options.BALANCING_TOKENS, 1)
                .set(Options.BALANCING_CONNECTIONS, 2)
                .set(Options.BACKLOG, backlog)
                .getMap();
        this.channel = worker.createStreamConnectionServer(address, this::accept, socketOptions);
        channel.resumeAccepts();
    }

    /**
     * Starts listening.
     *
     * @param address       where to listen
     * @param ioThreads     the worker's I/O threads
     * @param workerThreads the worker's task threads (Undertow's blocking handlers only)
     * @param serverOptions Undertow's server options ({@link UndertowOptions})
     * @param backlog       the listen backlog
     * @param root          the handler of every request
     * @return the running listener
     * @throws IOException if the worker cannot start or the address cannot be bound; nothing is
     *                     left running
     */
    public static HttpListener start(InetSocketAddress address, int ioThreads, int workerThreads,
                                     OptionMap serverOptions, int backlog, HttpHandler root) throws IOException {
        return start(address, ioThreads, workerThreads, serverOptions, backlog, root, buffers());
    }

    /**
     * Starts listening, with Undertow's buffers taken from {@code buffers} (a test counts them).
     * The other parameters are {@link #start(InetSocketAddress, int, int, OptionMap, int, HttpHandler)}'s.
     */
    public static HttpListener start(InetSocketAddress address, int ioThreads, int workerThreads,
                                     OptionMap serverOptions, int backlog, HttpHandler root,
                                     ByteBufferPool buffers) throws IOException {
        XnioWorker worker = Xnio.getInstance(Undertow.class.getClassLoader()).createWorker(OptionMap.builder()
                .set(Options.WORKER_IO_THREADS, ioThreads)
                .set(Options.CONNECTION_HIGH_WATER, 1_000_000)
                .set(Options.CONNECTION_LOW_WATER, 1_000_000)
                .set(Options.WORKER_TASK_CORE_THREADS, workerThreads)
                .set(Options.WORKER_TASK_MAX_THREADS, workerThreads)
                .set(Options.TCP_NODELAY, true)
                .set(Options.CORK, true)
                .getMap());
        try {
            HttpOpenListener openListener = new HttpOpenListener(buffers, OptionMap.builder()
                    .set(UndertowOptions.BUFFER_PIPELINED_DATA, true)
                    .addAll(serverOptions)
                    .getMap());
            openListener.setRootHandler(root);
            return new HttpListener(worker, openListener, address, backlog);
        } catch (IOException | RuntimeException e) {
            worker.shutdownNow(); // its threads end on their own
            throw e;
        }
    }

    /** Undertow's default pool: 16 KiB direct buffers, smaller ones when the heap is small. */
    private static ByteBufferPool buffers() {
        long maxMemory = Runtime.getRuntime().maxMemory();
        if (maxMemory < 64L * 1024 * 1024) {
            return new DefaultByteBufferPool(false, 512, -1, 4);
        }
        if (maxMemory < 128L * 1024 * 1024) {
            return new DefaultByteBufferPool(true, 1024, -1, 4);
        }
        // 20 bytes under 16 KiB leave room for protocol headers (UNDERTOW-1209).
        return new DefaultByteBufferPool(true, 16 * 1024 - 20, -1, 4);
    }

    private void accept(AcceptingChannel<StreamConnection> listening) {
        try {
            if (closing) {
                // Hand-overs still queued when the listener closed: drop their sockets, all of
                // this thread's at once, so that XNIO queues no further task on a thread that may
                // be ending (it would log the refusal at ERROR).
                for (StreamConnection late; (late = listening.accept()) != null; ) {
                    IoUtils.safeClose(late);
                }
                return;
            }
            StreamConnection accepted = listening.accept();
            if (accepted != null) {
                openListener.handleEvent(new DetachableConnection(accepted));
            }
        } catch (ClosedChannelException e) {
            if (!closing) {
                LOG.log(System.Logger.Level.WARNING, "TS032 transport.accept: the listener closed unexpectedly", e);
            }
            // else a hand-over queued before stop() whose socket was handed over: nothing to do
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "TS032 transport.accept: accepting a connection failed", e);
        }
    }

    /**
     * {@return Undertow's count of its HTTP connections and requests, or null unless the server
     * options set {@code UndertowOptions.ENABLE_STATISTICS}}
     */
    public ConnectorStatistics statistics() {
        return openListener.getConnectorStatistics();
    }

    /** {@return the address the listener is bound to} */
    public InetSocketAddress address() {
        return channel.getLocalAddress(InetSocketAddress.class);
    }

    /**
     * Closes the listening socket, lets the I/O threads run the hand-overs XNIO queued before
     * that, then stops the worker and waits for its threads to end, which drops every socket
     * still open. Not from one of the worker's threads.
     *
     * @throws InterruptedException if interrupted while waiting; the worker is then stopped at once
     */
    public void stop() throws InterruptedException {
        closing = true;
        IoUtils.safeClose(channel);
        try {
            // Twice: a hand-over the accept thread was queuing as the listener closed lands
            // behind the first round at the latest.
            runOnEveryIoThread();
            runOnEveryIoThread();
        } finally {
            worker.shutdown();
        }
        try {
            worker.awaitTermination();
        } catch (InterruptedException e) {
            worker.shutdownNow();
            throw e;
        }
    }

    /** Waits until every I/O thread has run the tasks queued on it so far. */
    private void runOnEveryIoThread() throws InterruptedException {
        int threads = worker.getIoThreadCount();
        CountDownLatch ran = new CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            worker.getIoThread(i).execute(ran::countDown);
        }
        ran.await();
    }
}
