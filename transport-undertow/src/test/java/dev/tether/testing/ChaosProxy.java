package dev.tether.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * A TCP proxy on loopback that forwards bytes between its clients and one upstream address and
 * injects faults on command: abrupt resets, stalls, latency, refused connections, and resets at
 * seeded random intervals. Built for chaos tests of reconnecting clients; plain NIO, no
 * dependencies.
 *
 * <p>Threading: one daemon thread named {@code chaos-proxy} owns every socket, buffer and
 * counter it writes. Every public method may be called from any thread. Commands are queued to
 * that thread and the call returns once the thread has applied them, so that when
 * {@link #cut(int)} returns the reset has been sent and when {@link #stall(boolean) stall(true)}
 * returns no further byte is forwarded. A command waits at most {@value #COMMAND_TIMEOUT_MS} ms
 * for the thread and then throws {@link IllegalStateException}; so does any command after
 * {@link #close()}. The counters ({@link #connections()}, {@link #cuts()}, {@link #refused()})
 * are read without queueing.
 *
 * <p>Forwarding: each direction of a connection has its own {@value #BUFFER_BYTES}-byte buffer.
 * When a buffer is full the proxy stops reading from the side that fills it, so a slow reader
 * pushes back on the writer just as a direct connection would; the proxy never busy-waits. An
 * end-of-stream from one side is passed on as a shutdown of output to the other side once the
 * bytes read before it have been written, so half-closed connections keep working. A reset or
 * error on one side resets the other side as well.
 *
 * <p>A connection is <em>live</em> from the moment the proxy accepts it until it is cut, reset
 * or closed by both ends, including while the connection to upstream is still being opened.
 * Live connections are indexed from 0 in the order they were accepted, oldest first.
 */
public final class ChaosProxy implements AutoCloseable {

    /** Bytes buffered per direction per connection. */
    public static final int BUFFER_BYTES = 64 * 1024;

    /** Passed to {@link #cutAfterBytes(long)} to switch the byte limit off (the default). */
    public static final long NO_BYTE_LIMIT = Long.MAX_VALUE;

    /** How long a command waits for the selector thread before giving up. */
    public static final long COMMAND_TIMEOUT_MS = 5_000;

    private static final long CLOSE_JOIN_MS = 5_000;
    private static final System.Logger LOG = System.getLogger(ChaosProxy.class.getName());

    private volatile List<InetSocketAddress> upstreams;
    /** Round-robin index into upstreams. Selector thread only. */
    private int nextUpstream;
    private final Selector selector;
    private final ServerSocketChannel listener;
    private final InetSocketAddress address;
    private final Thread thread;

    // Guards the closed flag together with the command queue, so that no command is queued after
    // the selector thread's final drain and left waiting for its timeout.
    private final Object lifecycle = new Object();
    private final ArrayDeque<Command<?>> commands = new ArrayDeque<>();
    private boolean closed;
    private volatile boolean closing;
    private volatile Throwable failure;

    // Monitor for awaitConnections(); the selector thread notifies it on every change of count.
    private final Object countChanged = new Object();
    private volatile int connections;
    private volatile long cuts;
    private volatile long refused;

    // Selector-thread state: no other thread reads or writes these.
    private final List<Pair> pairs = new ArrayList<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private boolean stalled;
    private boolean refuseNew;
    private long delayNs;
    private long byteLimit = NO_BYTE_LIMIT;
    private Timer randomCuts;

    private ChaosProxy(InetSocketAddress upstream) throws IOException {
        this.upstreams = List.of(upstream);
        this.selector = Selector.open();
        try {
            this.listener = ServerSocketChannel.open();
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            listener.configureBlocking(false);
            listener.register(selector, SelectionKey.OP_ACCEPT);
            this.address = (InetSocketAddress) listener.getLocalAddress();
        } catch (IOException | RuntimeException e) {
            // Closing the selector also closes a listener that was already registered with it.
            selector.close();
            throw e;
        }
        this.thread = new Thread(this::run, "chaos-proxy");
        thread.setDaemon(true);
    }

    /**
     * Starts a proxy listening on an ephemeral port of 127.0.0.1 that forwards every accepted
     * connection to {@code upstream}.
     *
     * @param upstream where to forward connections; it need not be listening yet, in which case
     *     each client connection is reset once the upstream connection fails
     * @return the running proxy; close it when done
     * @throws IOException if the listening socket or the selector cannot be opened
     */
    public static ChaosProxy start(InetSocketAddress upstream) throws IOException {
        Objects.requireNonNull(upstream, "upstream");
        if (upstream.isUnresolved()) {
            throw new IllegalArgumentException("upstream is unresolved: " + upstream);
        }
        ChaosProxy proxy = new ChaosProxy(upstream);
        proxy.thread.start();
        return proxy;
    }

    /**
     * Forwards connections accepted from now on to {@code upstream} (a load balancer moving its
     * clients to another node); connections already open stay where they are.
     */
    public void retarget(InetSocketAddress upstream) {
        retarget(List.of(upstream));
    }

    /**
     * Forwards connections accepted from now on to {@code upstreams} in turn, round robin (a load
     * balancer in front of several nodes); connections already open stay where they are.
     */
    public void retarget(List<InetSocketAddress> upstreams) {
        if (upstreams.isEmpty()) {
            throw new IllegalArgumentException("no upstream");
        }
        this.upstreams = List.copyOf(upstreams);
    }

    /** The port the proxy listens on, on 127.0.0.1. */
    public int port() {
        return address.getPort();
    }

    /** The address clients should connect to instead of the upstream address. */
    public InetSocketAddress address() {
        return address;
    }

    /** The address connections are forwarded to. */
    public InetSocketAddress upstream() {
        return upstreams.get(0);
    }

    /** The number of live connections (see the class comment); read without queueing. */
    public int connections() {
        return connections;
    }

    /**
     * The number of connections reset by a cut so far: {@link #cut}, {@link #cutAll},
     * {@link #cutRandom}, random cuts and the byte limit. Resets of refused connections and
     * resets mirrored from a peer are not counted.
     */
    public long cuts() {
        return cuts;
    }

    /** The number of connections reset on arrival while {@link #refuseNew(boolean)} was on. */
    public long refused() {
        return refused;
    }

    /**
     * Waits until exactly {@code expected} connections are live, for at most {@code timeout}.
     * Useful because a client's connect completes in the kernel before the proxy has accepted,
     * and a peer's close reaches the proxy some time after the peer returns.
     *
     * @return {@code true} if the count was reached, {@code false} on timeout
     * @throws InterruptedException if interrupted while waiting
     */
    public boolean awaitConnections(int expected, Duration timeout) throws InterruptedException {
        if (expected < 0) {
            throw new IllegalArgumentException("expected must be >= 0: " + expected);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (countChanged) {
            while (connections != expected) {
                long leftNs = deadline - System.nanoTime();
                if (leftNs <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(countChanged, leftNs);
            }
            return true;
        }
    }

    /**
     * Resets both sides of every live connection: each socket is closed with {@code SO_LINGER}
     * 0, so both peers see a TCP reset rather than an orderly end of stream.
     *
     * @return the number of connections cut
     */
    public int cutAll() {
        return call(() -> {
            List<Pair> victims = new ArrayList<>(pairs);
            victims.forEach(p -> reset(p, true));
            return victims.size();
        });
    }

    /**
     * Resets both sides of the live connection at {@code connectionIndex} (0 is the oldest live
     * connection), as {@link #cutAll()} does.
     *
     * @return {@code false} if there is no live connection at that index
     * @throws IllegalArgumentException if {@code connectionIndex} is negative
     */
    public boolean cut(int connectionIndex) {
        if (connectionIndex < 0) {
            throw new IllegalArgumentException("connectionIndex must be >= 0: " + connectionIndex);
        }
        return call(() -> {
            if (connectionIndex >= pairs.size()) {
                return false;
            }
            reset(pairs.get(connectionIndex), true);
            return true;
        });
    }

    /**
     * Resets both sides of one live connection chosen with {@code random}, as {@link #cutAll()}
     * does.
     *
     * @return {@code false} if no connection was live
     */
    public boolean cutRandom(Random random) {
        Objects.requireNonNull(random, "random");
        return call(() -> cutRandomNow(random));
    }

    /**
     * Stops or resumes forwarding in both directions of every connection. While stalled, bytes
     * are still read until the buffers are full (then the peers are pushed back on) and
     * ends-of-stream are held; sockets stay open, and new connections are still accepted. On
     * resume everything held is delivered in order.
     */
    public void stall(boolean stall) {
        call(() -> {
            stalled = stall;
            if (!stall) {
                for (Pair p : new ArrayList<>(pairs)) {
                    flushBoth(p);
                }
            }
            return null;
        });
    }

    /**
     * Delays forwarding: each chunk read from either side is written no earlier than
     * {@code delay} after it was read. Applies to chunks read after this call; chunks already
     * buffered keep the delay they were read with. Bytes stay in order, and the buffer size
     * still applies, so throughput is at most {@value #BUFFER_BYTES} bytes per delay per
     * direction. {@link Duration#ZERO} switches the delay off.
     *
     * @throws IllegalArgumentException if {@code delay} is negative
     */
    public void delay(Duration delay) {
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0: " + delay);
        }
        long ns = delay.toNanos();
        call(() -> {
            delayNs = ns;
            return null;
        });
    }

    /**
     * While on, each new connection is accepted and at once reset, and upstream is never
     * contacted, which is what a client sees of a server that is going away. Connections
     * already live are not affected.
     */
    public void refuseNew(boolean refuse) {
        call(() -> {
            refuseNew = refuse;
            return null;
        });
    }

    /**
     * Cuts each connection, as {@link #cutAll()} does, as soon as exactly {@code bytes} bytes
     * have been forwarded from upstream to its client since the connection was accepted.
     * Applies to live connections too: one that has already forwarded that many is cut now.
     * {@link #NO_BYTE_LIMIT} switches the limit off.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    public void cutAfterBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0: " + bytes);
        }
        call(() -> {
            byteLimit = bytes;
            for (Pair p : new ArrayList<>(pairs)) {
                if (p.down.forwarded >= bytes) {
                    reset(p, true);
                }
            }
            return null;
        });
    }

    /**
     * Starts cutting one random live connection at random intervals, replacing random cuts
     * already running. Intervals are exponentially distributed with the given mean (cuts form
     * a Poisson process). Both the intervals and the victims are drawn from
     * {@code new Random(seed)}; the seed is printed to {@code System.out} as
     * {@code ChaosProxy seed=<seed>} so a failing run can be repeated. A draw that finds no
     * live connection cuts nothing.
     *
     * @throws IllegalArgumentException if {@code meanInterval} is not positive
     */
    public void startRandomCuts(long seed, Duration meanInterval) {
        if (meanInterval.isNegative() || meanInterval.isZero()) {
            throw new IllegalArgumentException("meanInterval must be > 0: " + meanInterval);
        }
        long meanNs = meanInterval.toNanos();
        System.out.println("ChaosProxy seed=" + seed);
        call(() -> {
            cancelRandomCuts();
            Random random = new Random(seed);
            Timer timer = new Timer(nextInterval(random, meanNs), null);
            timer.action = () -> {
                cutRandomNow(random);
                // Re-armed only from here, after poll(): a timer must not change while queued.
                timer.atNs = nextInterval(random, meanNs);
                timers.add(timer);
            };
            randomCuts = timer;
            timers.add(randomCuts);
            return null;
        });
    }

    /** Stops random cuts; does nothing if none are running. */
    public void stopRandomCuts() {
        call(() -> {
            cancelRandomCuts();
            return null;
        });
    }

    /**
     * Stops the selector thread and closes the listening socket and every connection (orderly,
     * not reset). Idempotent; waits at most five seconds for the thread. When it
     * returns the port is free again.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            closed = true;
        }
        closing = true;
        selector.wakeup();
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(CLOSE_JOIN_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.log(System.Logger.Level.WARNING, "chaos-proxy thread did not stop within "
                    + CLOSE_JOIN_MS + " ms");
        }
    }

    @Override
    public String toString() {
        return "ChaosProxy[" + address + " -> " + upstreams + ", connections=" + connections
                + ", cuts=" + cuts + "]";
    }

    // ---------------------------------------------------------------- commands

    private <T> T call(Supplier<T> body) {
        Command<T> command = new Command<>(body);
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("ChaosProxy is closed");
            }
            commands.add(command);
        }
        selector.wakeup();
        try {
            return command.result.get(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for chaos-proxy", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new IllegalStateException(cause);
        } catch (TimeoutException e) {
            throw new IllegalStateException("chaos-proxy did not run a command within "
                    + COMMAND_TIMEOUT_MS + " ms" + (failure == null ? "" : "; it died"), failure);
        }
    }

    private void runCommands() throws IOException {
        List<Command<?>> batch;
        synchronized (lifecycle) {
            if (commands.isEmpty()) {
                return;
            }
            batch = new ArrayList<>(commands);
            commands.clear();
        }
        List<Runnable> completions = new ArrayList<>(batch.size());
        for (Command<?> command : batch) {
            completions.add(command.run());
        }
        // A channel closed while registered is only really closed (and, with SO_LINGER 0, the
        // reset only sent) when the selector next deregisters it; do that before telling the
        // caller the command is done, so the peer sees the reset as soon as cut() returns.
        selector.selectNow();
        processSelectedKeys();
        completions.forEach(Runnable::run);
    }

    private void failCommands(Throwable why) {
        List<Command<?>> left;
        synchronized (lifecycle) {
            closed = true;
            left = new ArrayList<>(commands);
            commands.clear();
        }
        IllegalStateException e = new IllegalStateException("ChaosProxy is closed", why);
        left.forEach(c -> c.result.completeExceptionally(e));
    }

    private static final class Command<T> {
        final Supplier<T> body;
        final CompletableFuture<T> result = new CompletableFuture<>();

        Command(Supplier<T> body) {
            this.body = body;
        }

        /** Runs the body now and returns what completes the caller's future later. */
        Runnable run() {
            try {
                T value = body.get();
                return () -> result.complete(value);
            } catch (RuntimeException | Error e) {
                return () -> result.completeExceptionally(e);
            }
        }
    }

    // ---------------------------------------------------------------- selector thread

    private void run() {
        Throwable why = null;
        try {
            while (!closing) {
                select();
                processSelectedKeys();
                runDueTimers();
                runCommands();
            }
        } catch (Throwable t) {
            why = t;
            failure = t;
            LOG.log(System.Logger.Level.ERROR, "chaos-proxy thread failed", t);
        } finally {
            shutdown(why);
        }
    }

    private void select() throws IOException {
        Timer next = timers.peek();
        if (next == null) {
            selector.select();
            return;
        }
        long leftNs = next.atNs - System.nanoTime();
        if (leftNs <= 0) {
            selector.selectNow();
        } else {
            // Round up: rounding down would wake early and spin on selectNow until the deadline.
            selector.select(TimeUnit.NANOSECONDS.toMillis(leftNs + 999_999));
        }
    }

    private void processSelectedKeys() {
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey key = it.next();
            it.remove();
            // An earlier key in this batch may have cut the connection this key belongs to.
            if (!key.isValid()) {
                continue;
            }
            if (key.isAcceptable()) {
                accept();
            } else {
                handle(key);
            }
        }
    }

    private void runDueTimers() {
        long now = System.nanoTime();
        while (!timers.isEmpty() && timers.peek().atNs - now <= 0) {
            Timer timer = timers.poll();
            if (!timer.cancelled) {
                timer.action.run();
            }
        }
    }

    private void accept() {
        while (true) {
            SocketChannel client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                // Out of descriptors, most likely; leave the rest in the backlog for next time.
                LOG.log(System.Logger.Level.WARNING, "chaos-proxy accept failed", e);
                return;
            }
            if (client == null) {
                return;
            }
            if (refuseNew) {
                // Counted before the reset: a test that sees the reset then reads the count.
                refused++;
                abort(client);
                continue;
            }
            open(client);
        }
    }

    private void open(SocketChannel client) {
        SocketChannel server = null;
        try {
            client.configureBlocking(false);
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
            server = SocketChannel.open();
            server.configureBlocking(false);
            // Without it small chunks would wait for Nagle, which would blur delay() and stall().
            server.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Pair p = new Pair(client, server);
            List<InetSocketAddress> targets = upstreams;
            boolean connected = server.connect(targets.get(Math.floorMod(nextUpstream++, targets.size())));
            p.clientKey = client.register(selector, 0, p);
            p.serverKey = server.register(selector, 0, p);
            pairs.add(p);
            publishCount();
            if (connected) {
                onConnected(p);
            }
            updateInterest(p);
        } catch (IOException e) {
            abort(client);
            if (server != null) {
                abort(server);
            }
        }
    }

    private void onConnected(Pair p) {
        p.connected = true;
        flushBoth(p);
    }

    private void handle(SelectionKey key) {
        Pair p = (Pair) key.attachment();
        try {
            if (key == p.serverKey && !p.connected) {
                if (key.isConnectable() && p.server.finishConnect()) {
                    onConnected(p);
                }
            } else {
                boolean client = key == p.clientKey;
                Pipe toThis = client ? p.down : p.up;
                Pipe fromThis = client ? p.up : p.down;
                if (key.isWritable()) {
                    toThis.flush();
                }
                if (!p.closed && key.isReadable()) {
                    fromThis.read();
                }
            }
            updateInterest(p);
        } catch (IOException e) {
            // A peer reset us, or upstream refused: pass the failure on to the other peer as a
            // reset too, the closest a proxy can get to what a direct connection would show.
            reset(p, false);
        }
    }

    private void flushBoth(Pair p) {
        try {
            p.up.flush();
            p.down.flush();
            updateInterest(p);
        } catch (IOException e) {
            reset(p, false);
        }
    }

    private void updateInterest(Pair p) {
        if (p.closed) {
            return;
        }
        int clientOps = (p.up.wantsRead() ? SelectionKey.OP_READ : 0)
                | (p.down.blocked ? SelectionKey.OP_WRITE : 0);
        int serverOps = !p.connected ? SelectionKey.OP_CONNECT
                : (p.down.wantsRead() ? SelectionKey.OP_READ : 0)
                        | (p.up.blocked ? SelectionKey.OP_WRITE : 0);
        if (p.clientKey.interestOps() != clientOps) {
            p.clientKey.interestOps(clientOps);
        }
        if (p.serverKey.interestOps() != serverOps) {
            p.serverKey.interestOps(serverOps);
        }
    }

    private boolean cutRandomNow(Random random) {
        if (pairs.isEmpty()) {
            return false;
        }
        reset(pairs.get(random.nextInt(pairs.size())), true);
        return true;
    }

    private void cancelRandomCuts() {
        if (randomCuts != null) {
            randomCuts.cancelled = true;
            randomCuts = null;
        }
    }

    private static long nextInterval(Random random, long meanNs) {
        // Inverse-CDF draw of an exponential; 1 - u is in (0, 1], so the log is finite.
        long intervalNs = (long) (-Math.log(1.0 - random.nextDouble()) * meanNs);
        return System.nanoTime() + intervalNs;
    }

    /** Ends a connection with resets on both sides. */
    private void reset(Pair p, boolean cut) {
        if (p.closed) {
            return;
        }
        p.closed = true;
        if (cut) {
            // Counted before the resets: a test that sees a reset then reads the count.
            cuts++;
        }
        abort(p.client);
        abort(p.server);
        pairs.remove(p);
        publishCount();
    }

    /** Ends a connection whose both directions have delivered their end of stream. */
    private void finish(Pair p) {
        p.closed = true;
        closeQuietly(p.client);
        closeQuietly(p.server);
        pairs.remove(p);
        publishCount();
    }

    private void publishCount() {
        synchronized (countChanged) {
            connections = pairs.size();
            countChanged.notifyAll();
        }
    }

    private static void abort(SocketChannel channel) {
        try {
            // Linger 0 makes close() send RST and drop unsent data instead of a FIN.
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | UnsupportedOperationException e) {
            // Already closed, or never connected: an ordinary close is all that is left.
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing useful to do: the peer sees the connection end either way.
        }
    }

    private void shutdown(Throwable why) {
        closing = true;
        for (Pair p : new ArrayList<>(pairs)) {
            finish(p);
        }
        timers.clear();
        try {
            // Closing the selector deregisters every channel, which completes the deferred
            // closes, the listener's included, so the port is free when close() returns.
            listener.close();
            selector.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "chaos-proxy failed to close cleanly", e);
        }
        failCommands(why);
    }

    // ---------------------------------------------------------------- per connection

    /** One accepted client and its connection to upstream. Selector thread only. */
    private final class Pair {
        final SocketChannel client;
        final SocketChannel server;
        final Pipe up;
        final Pipe down;
        SelectionKey clientKey;
        SelectionKey serverKey;
        boolean connected;
        boolean closed;

        Pair(SocketChannel client, SocketChannel server) {
            this.client = client;
            this.server = server;
            this.up = new Pipe(this, client, server, false);
            this.down = new Pipe(this, server, client, true);
        }
    }

    /** A run of bytes read at one time, which may not be written before {@code releaseAtNs}. */
    private static final class Chunk {
        int bytes;
        final long releaseAtNs;

        Chunk(int bytes, long releaseAtNs) {
            this.bytes = bytes;
            this.releaseAtNs = releaseAtNs;
        }
    }

    /** One direction of a pair: reads from {@code src}, buffers, writes to {@code dst}. */
    private final class Pipe {
        final Pair pair;
        final SocketChannel src;
        final SocketChannel dst;
        final boolean downstream;
        // Always in fill mode between calls: [0, position) holds bytes not yet written.
        final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
        // Partition the buffered bytes, oldest first, so each keeps the time it may leave.
        final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
        final Timer wake = new Timer(0, this::onWake);
        boolean wakePending;
        boolean srcEnded;
        boolean dstShut;
        // The last write did not take everything due: wait for OP_WRITE on dst.
        boolean blocked;
        long forwarded;

        Pipe(Pair pair, SocketChannel src, SocketChannel dst, boolean downstream) {
            this.pair = pair;
            this.src = src;
            this.dst = dst;
            this.downstream = downstream;
        }

        boolean wantsRead() {
            return !srcEnded && buffer.hasRemaining();
        }

        void read() throws IOException {
            int n = src.read(buffer);
            if (n > 0) {
                chunks.addLast(new Chunk(n, System.nanoTime() + delayNs));
            } else if (n < 0) {
                srcEnded = true;
            }
            flush();
        }

        void flush() throws IOException {
            if (pair.closed || !pair.connected || stalled) {
                // Drop OP_WRITE too, or a writable socket would wake the selector over and over
                // while nothing may be written; resuming flushes every pipe anyway.
                blocked = false;
                return;
            }
            long now = System.nanoTime();
            long due = 0;
            for (Chunk c : chunks) {
                if (c.releaseAtNs - now > 0) {
                    break;
                }
                due += c.bytes;
            }
            long limit = downstream ? byteLimit : NO_BYTE_LIMIT;
            long allowed = Math.min(due, limit - forwarded);
            blocked = false;
            if (allowed > 0) {
                buffer.flip();
                int end = buffer.limit();
                buffer.limit((int) allowed);
                int written = dst.write(buffer);
                buffer.limit(end);
                buffer.compact();
                consume(written);
                forwarded += written;
                blocked = written < allowed;
            }
            if (forwarded >= limit) {
                reset(pair, true);
                return;
            }
            if (!blocked && !chunks.isEmpty() && !wakePending) {
                long releaseAtNs = chunks.peekFirst().releaseAtNs;
                if (releaseAtNs - now > 0) {
                    // The pending wake is always for the current head: the head only leaves
                    // once due, and a pipe has one head at a time.
                    wake.atNs = releaseAtNs;
                    wakePending = true;
                    timers.add(wake);
                }
            }
            if (chunks.isEmpty() && srcEnded && !dstShut) {
                dst.shutdownOutput();
                dstShut = true;
                Pipe other = downstream ? pair.up : pair.down;
                if (other.dstShut) {
                    finish(pair);
                }
            }
        }

        private void consume(int written) {
            int left = written;
            while (left > 0) {
                Chunk head = chunks.peekFirst();
                int take = Math.min(left, head.bytes);
                head.bytes -= take;
                left -= take;
                if (head.bytes == 0) {
                    chunks.removeFirst();
                }
            }
        }

        private void onWake() {
            wakePending = false;
            if (pair.closed) {
                return;
            }
            try {
                flush();
                updateInterest(pair);
            } catch (IOException e) {
                reset(pair, false);
            }
        }
    }

    /** A deadline on the selector thread; cancelled timers are dropped when they come due. */
    private static final class Timer implements Comparable<Timer> {
        long atNs;
        Runnable action;
        boolean cancelled;

        Timer(long atNs, Runnable action) {
            this.atNs = atNs;
            this.action = action;
        }

        @Override
        public int compareTo(Timer other) {
            // Subtraction, not Long.compare: nanoTime values may wrap.
            long d = atNs - other.atNs;
            return d < 0 ? -1 : d > 0 ? 1 : 0;
        }
    }
}
