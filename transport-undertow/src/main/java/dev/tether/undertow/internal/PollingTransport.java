package dev.tether.undertow.internal;

import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * The Engine.IO HTTP long-polling transport of one session ({@code sid}), as the engine sees a
 * connection. Frames the engine writes are buffered as Engine.IO packets (a binary one as
 * {@code b} + base64) and answered to the client's pending GET, joined by the record separator
 * {@code \u001e}; packets the client POSTs are handed to the engine one by one.
 *
 * <p>Threading: the connection's "I/O thread" is the XNIO I/O thread of the request that opened
 * it; every request of the session hops onto it with {@link #execute}, and every field is owned by
 * it. At most one GET is pending: a second one is refused with 400 and closes the transport (an
 * overlapping poll means a confused or hostile client). Responses to a parked GET are sent from
 * this thread on the exchange, which the handler dispatched.
 *
 * <p>Bounds: the buffered packets count against the high water mark; above it
 * {@link #isWritable()} is false until a GET takes them. A POST larger than {@code maxPayload} is
 * refused with 413 before it is read (see {@code SocketIoHandler}).
 *
 * <p>Closing: {@link #close} tells the engine at once; the client learns of it only from a GET,
 * so, as the reference server does, the session stays reachable until a GET has carried the close
 * packet ({@code 1}) to the client, at most the close timeout. What was buffered goes first, and
 * the close packet always in an answer of its own: socket.io-client handles the close packet of a
 * payload before the Socket.IO packets in front of it (it hands those on a microtask later), so
 * events sharing its payload would reach the application only after the reconnect, after the
 * connection state recovery had asked for them again by an older offset. Until the close packet
 * is handed over the session is listed in the handler's {@link OpenConnections}, which a server
 * that stops waits for: a client whose session is closed gets the close packet, never a dropped
 * request or an unknown {@code sid}. The closes the client caused are final at once, as in the
 * reference server: a ping timeout (the client is presumed gone), a malformed packet or request
 * (the POST that carried it gets 400), and the client's own close packet; a GET then gets 400,
 * a pending one the close packet, or a noop after the client's close.
 *
 * <p>Upgrade: one WebSocket at a time may probe ({@link #claimUpgrade}); once the client sent
 * {@code 5} on it ({@link #upgradeRequested}, from the WebSocket's thread, so that a poll that
 * arrives after it is refused whatever the order the two threads reach the session's), polling
 * requests get 400 and the session's id stays known until the upgraded WebSocket closes
 * ({@link #forget}), so that another WebSocket naming it is accepted and closed, not refused.
 */
public final class PollingTransport extends OpenConnections.Member implements TransportConnection {

    static final char SEPARATOR = '\u001e';
    /**
     * While a WebSocket upgrade is under way, how often a pending poll is answered with a noop so
     * that the client can pause polling and send {@code 5}: as the reference server, not at once,
     * so that a poll the client sends after {@code 5} (which may reach us first, on another
     * connection) is still pending when the {@code 5} arrives, and refused.
     */
    static final long NOOP_CHECK_MS = 100;

    private final XnioIoThread thread;
    private final InetSocketAddress remoteAddress;
    private final int highWaterBytes;
    private final long closeTimeoutMs;
    private final OpenConnections open;
    private final Consumer<PollingTransport> onGone;
    private final String sid;
    private final List<String> outbox = new ArrayList<>();
    private long outboxBytes;
    private boolean unwritable;
    private ConnectionListener listener;
    private HttpServerExchange parkedGet;
    private boolean closed;
    /** Closed, and no GET has carried the close packet to the client yet. */
    private boolean closePending;
    /** Forgotten by the handler: retired, or closed and the client told (or the close timed out). */
    private boolean gone;
    private XnioExecutor.Key closeTimer;
    /** Upgraded to WebSocket: the engine no longer hears from us. */
    private boolean retired;
    /** A WebSocket probe succeeded: a pending poll gets a noop within {@value #NOOP_CHECK_MS} ms. */
    private boolean upgrading;
    private XnioExecutor.Key noopCheck;
    /** The client posted the close packet. */
    private boolean clientClosed;
    /** Closed for what the client sent (a malformed packet, an overlapping poll). */
    private boolean badRequest;
    /** A WebSocket is probing or has upgraded this session. */
    private final AtomicBoolean upgradeClaimed = new AtomicBoolean();
    /** The client sent {@code 5} on the WebSocket: polling is over. Written by the WebSocket's thread. */
    private volatile boolean upgradeRequested;

    /**
     * @param thread         the XNIO I/O thread everything of this session runs on
     * @param closeTimeoutMs how long a closed session waits for a GET to carry the close packet
     * @param open           where the session is listed from {@link #listener(ConnectionListener)}
     *                       until it is gone
     * @param onGone         called once when the transport retires, or when it closed and its
     *                       client was handed the close packet or the close timed out (to forget
     *                       the sid)
     */
    public PollingTransport(String sid, XnioIoThread thread, InetSocketAddress remoteAddress, int highWaterBytes,
                            long closeTimeoutMs, OpenConnections open, Consumer<PollingTransport> onGone) {
        this.sid = sid;
        this.thread = thread;
        this.remoteAddress = remoteAddress;
        this.highWaterBytes = highWaterBytes;
        this.closeTimeoutMs = closeTimeoutMs;
        this.open = open;
        this.onGone = onGone;
    }

    /** The Engine.IO session id. */
    public String sid() {
        return sid;
    }

    /**
     * The engine's listener. I/O thread, once, right after {@code SocketIo.connect}; from now on
     * the session is listed as open (and closed at once if its server is stopping).
     */
    public void listener(ConnectionListener l) {
        this.listener = l;
        open.add(this);
    }

    /** The engine's listener (for the upgrade). */
    public ConnectionListener listener() {
        return listener;
    }

    // ------------------------------------------------------------ requests (I/O thread)

    /** A GET: answered now if packets are waiting, otherwise parked until some are. */
    public void onGet(HttpServerExchange exchange) {
        if (retired || upgradeRequested) {
            SocketIoErrors.badRequest(exchange, 3, "Bad request"); // polling on an upgraded session
            return;
        }
        if (closed && !closePending) {
            SocketIoErrors.badRequest(exchange, 1, "Session ID unknown");
            return;
        }
        if (parkedGet != null) {
            SocketIoErrors.badRequest(exchange, 3, "Bad request");
            close(dev.tether.core.CloseCodes.BAD_REQUEST, "overlapping poll");
            return;
        }
        if (!outbox.isEmpty()) {
            answer(exchange);
            return;
        }
        if (closePending) {
            answerClose(exchange);
            return;
        }
        parkedGet = exchange;
        exchange.getConnection().addCloseListener(c -> execute(() -> {
            if (parkedGet == exchange) {
                parkedGet = null;
            }
        }));
    }

    /** The packets of a POST body, in order. */
    public void onPost(byte[] body) {
        String payload = new String(body, StandardCharsets.UTF_8);
        int from = 0;
        while (from < payload.length() && !closed && !retired) {
            int end = payload.indexOf(SEPARATOR, from);
            if (end < 0) {
                end = payload.length();
            }
            String packet = payload.substring(from, end);
            if (packet.equals("1")) {
                clientClosed = true; // the engine closes the transport for it
            }
            if (!packet.isEmpty() && packet.charAt(0) == 'b') {
                byte[] bytes;
                try {
                    bytes = Base64.getDecoder().decode(packet.substring(1));
                } catch (IllegalArgumentException e) {
                    close(dev.tether.core.CloseCodes.BAD_REQUEST, "invalid base64 packet");
                    return;
                }
                listener.onFrame(ByteBuffer.wrap(bytes), true);
            } else {
                listener.onFrame(ByteBuffer.wrap(packet.getBytes(StandardCharsets.UTF_8)), false);
            }
            from = end + 1;
        }
    }

    /**
     * A WebSocket probe succeeded: from now on a pending GET is answered with a noop ({@code 6})
     * every {@value #NOOP_CHECK_MS} ms, so that the client can pause polling and finish the upgrade.
     */
    public void probed() {
        if (upgrading || closed || retired) {
            return;
        }
        upgrading = true;
        scheduleNoopCheck();
    }

    private void scheduleNoopCheck() {
        try {
            noopCheck = thread.executeAfter(this::checkNoop, NOOP_CHECK_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // the server is stopping
        }
    }

    private void checkNoop() {
        noopCheck = null;
        if (!upgrading || closed || retired) {
            return;
        }
        if (parkedGet != null && outbox.isEmpty()) {
            HttpServerExchange get = takeParkedGet();
            send(get, "6");
        }
        scheduleNoopCheck();
    }

    private void stopUpgrading() {
        upgrading = false;
        if (noopCheck != null) {
            noopCheck.remove();
            noopCheck = null;
        }
    }

    /**
     * A WebSocket wants to upgrade this session. Any thread.
     *
     * @return false if another WebSocket is probing or has upgraded it
     */
    public boolean claimUpgrade() {
        return upgradeClaimed.compareAndSet(false, true);
    }

    /** The probing WebSocket went away before the upgrade: the session polls on, another may try. Any thread. */
    public void releaseUpgrade() {
        execute(() -> {
            stopUpgrading();
            upgradeClaimed.set(false);
        });
    }

    /** The client sent {@code 5} on the probing WebSocket. Its thread, before the hop to the session's. */
    public void upgradeRequested() {
        upgradeRequested = true;
    }

    /** Whether polling requests are over: the session upgraded, or the client asked it to. Any thread. */
    public boolean upgraded() {
        return upgradeRequested || retired;
    }

    /**
     * The upgraded WebSocket closed: the handler forgets the session id. Any thread; idempotent.
     */
    public void forget() {
        execute(() -> onGone.accept(this));
    }

    /**
     * The upgrade completed: the packets still buffered go to {@code next} first, and this
     * transport is done; its id stays known until {@link #forget}. A GET still pending came after
     * the client's {@code 5} (a stock client pauses polling before it sends it): it gets 400, as
     * every poll from now on.
     */
    public void retireInto(TransportConnection next) {
        retired = true;
        for (String packet : outbox) {
            if (!packet.isEmpty() && packet.charAt(0) == 'b') {
                next.write(Frame.binary(ByteBuffer.wrap(Base64.getDecoder().decode(packet.substring(1)))));
            } else {
                next.write(Frame.text(ByteBuffer.wrap(packet.getBytes(StandardCharsets.UTF_8))));
            }
        }
        outbox.clear();
        outboxBytes = 0;
        stopUpgrading();
        if (parkedGet != null) {
            HttpServerExchange get = takeParkedGet();
            SocketIoErrors.badRequest(get, 3, "Bad request");
        }
        gone = true;
        cancelCloseTimer();
        open.remove(this);
    }

    /** Whether the transport closed for a malformed packet or request of the client. I/O thread. */
    public boolean refusedPackets() {
        return badRequest;
    }

    /** Whether the transport can still be upgraded. */
    public boolean isOpen() {
        return !closed && !retired;
    }

    private void answer(HttpServerExchange exchange) {
        StringBuilder b = new StringBuilder((int) Math.min(outboxBytes + outbox.size(), Integer.MAX_VALUE));
        for (int i = 0; i < outbox.size(); i++) {
            if (i > 0) {
                b.append(SEPARATOR);
            }
            b.append(outbox.get(i));
        }
        outbox.clear();
        outboxBytes = 0;
        send(exchange, b.toString());
        if (unwritable) {
            unwritable = false;
            if (!closed && !retired) {
                listener.onWritable();
            }
        }
    }

    /** Hands the client the close packet, alone; the session is done once it is sent. */
    private void answerClose(HttpServerExchange exchange) {
        closePending = false;
        exchange.addExchangeCompleteListener((done, next) -> {
            next.proceed();
            execute(this::gone);
        });
        send(exchange, "1");
    }

    /** The pending GET, which is no longer pending. */
    private HttpServerExchange takeParkedGet() {
        HttpServerExchange get = parkedGet;
        parkedGet = null;
        return get;
    }

    private static void send(HttpServerExchange exchange, String body) {
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=UTF-8");
        exchange.getResponseSender().send(body, StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------ TransportConnection

    @Override
    public boolean write(Frame frame) {
        if (closed || retired) {
            return false;
        }
        byte[] bytes = frame.copyBytes();
        String packet = frame.binary() ? "b" + Base64.getEncoder().encodeToString(bytes)
                : new String(bytes, StandardCharsets.UTF_8);
        outbox.add(packet);
        outboxBytes += packet.length();
        return true;
    }

    @Override
    public void flush() {
        if (parkedGet != null && !outbox.isEmpty()) {
            HttpServerExchange get = takeParkedGet();
            answer(get);
        }
    }

    @Override
    public boolean isWritable() {
        if (closed || retired) {
            return false;
        }
        if (outboxBytes > highWaterBytes) {
            unwritable = true;
            return false;
        }
        return true;
    }

    @Override
    public void suspendReads() {
        // Nothing to pause: the client POSTs when it likes; the engine's own bounds apply.
    }

    @Override
    public void resumeReads() {
    }

    @Override
    public void execute(Runnable task) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            // the server is stopping; the contract allows dropping
        }
    }

    @Override
    public boolean inIoThread() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void close(int code, String reason) {
        execute(() -> {
            if (closed || retired) {
                return;
            }
            closed = true;
            badRequest = code == dev.tether.core.CloseCodes.BAD_REQUEST;
            if (clientClosed || badRequest || code == dev.tether.core.CloseCodes.HEARTBEAT_TIMEOUT) {
                // Final at once (see the class comment): the id is forgotten, a poll gets 400.
                if (parkedGet != null) {
                    HttpServerExchange get = takeParkedGet();
                    send(get, clientClosed ? "6" : "1");
                }
                listener.onClosed(code, reason);
                gone();
                return;
            }
            closePending = true;
            try {
                closeTimer = thread.executeAfter(this::gone, closeTimeoutMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                gone(); // the server is stopping
            }
            if (parkedGet != null) {
                HttpServerExchange get = takeParkedGet();
                if (outbox.isEmpty()) {
                    answerClose(get);
                } else {
                    answer(get); // the close packet follows on the next GET
                }
            }
            listener.onClosed(code, reason);
        });
    }

    /** I/O thread: the handler forgets this session. Idempotent. */
    private void gone() {
        if (gone) {
            return;
        }
        gone = true;
        cancelCloseTimer();
        open.remove(this);
        onGone.accept(this);
    }

    private void cancelCloseTimer() {
        if (closeTimer != null) {
            closeTimer.remove();
            closeTimer = null;
        }
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remoteAddress;
    }
}
