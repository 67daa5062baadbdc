package dev.tether.undertow.internal;

import dev.tether.core.spi.TransportHub;
import dev.tether.core.CloseCodes;
import dev.tether.core.Tether;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.ErrorHandler;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.util.ImmediatePooledByteBuffer;
import io.undertow.util.ReferenceCountedPooled;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedBinaryMessage;
import io.undertow.websockets.core.CloseMessage;
import io.undertow.websockets.core.StreamSinkFrameChannel;
import io.undertow.websockets.core.StreamSourceFrameChannel;
import io.undertow.websockets.core.WebSocketCallback;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSocketFrameType;
import io.undertow.websockets.core.WebSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import org.xnio.Buffers;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * One upgraded Undertow {@link WebSocketChannel} as the engine sees it.
 *
 * <p>Threading: every field is owned by the channel's I/O thread, except {@link #closeRequested}.
 * {@link #write}, {@link #flush}, {@link #isWritable}, {@link #suspendReads} and
 * {@link #resumeReads} must be called on that thread (the engine's contract); {@link #execute},
 * {@link #close}, {@link #inIoThread} and {@link #remoteAddress} may be called from any thread.
 * Every listener callback runs on the I/O thread.
 *
 * <p>Writes and flushes: {@link #write} turns a frame into one Undertow frame sink
 * ({@code channel.send(type)}), hands it the frame's bytes as its body and shuts the sink down,
 * which queues it in the channel. The bytes are copied, since the engine's buffers are only lent
 * for the call: small frames into consecutive slices of one pooled (direct) buffer shared by the
 * batch, so that a hundred small frames hold one pooled buffer and not a hundred; frames as large
 * as a pooled buffer into one heap buffer of their own size. While the engine writes a
 * batch the channel is in explicit-flush mode, so queueing writes nothing; {@link #flush} leaves
 * that mode and flushes the channel once, and Undertow writes every queued frame with one
 * gathering write ({@code AbstractFramedChannel.flushSenders}). Outside a batch the channel flushes
 * by itself, so the frames Undertow sends on its own (pong, the close reply, protocol-error
 * closes) are never stuck. A sink never holds part of a frame back: the whole frame is handed over
 * in {@link #write}, and if the socket cannot take everything, Undertow keeps the rest and
 * finishes it from its own write listener. The parts of a {@link Frame} are never referenced
 * after {@link #write} returns.
 *
 * <p>Writability: the bytes handed to Undertow and not yet written to the socket are counted.
 * Each frame's sink and size wait in FIFOs until Undertow is done with the sink; they are
 * released right after each flush (for what the socket took at once) and whenever Undertow
 * reports a frame complete from its write listener (for what it finished later). Above the high
 * water mark {@link #isWritable()} returns false; when the count falls below the low water mark
 * the listener's {@link ConnectionListener#onWritable()} is called once.
 *
 * <p>Pings: Undertow reads them, and this connection answers them. At most one pong is pending
 * (queued in the channel, not yet written to the socket): a ping that arrives meanwhile is not
 * answered at once, its payload replaces the one kept from an earlier such ping, and when the
 * pending pong has been written the kept one is answered (RFC 6455 section 5.5.3 allows answering
 * only the most recent ping). Undertow's own answer would queue one pong per ping, each pinning
 * the ping's pooled buffer until written, and its queue limit would then stop reading the
 * connection. A pong's payload is a heap copy of at most 125 bytes, so pongs are not counted in
 * the bytes in flight. More pings than {@code maxPingsPerMinute} in a minute close the connection
 * with 1008.
 *
 * <p>Reads: a whole message, however fragmented, is assembled before the engine sees it: in one
 * pooled buffer when it fits, otherwise in a heap buffer that grows up to the hub's
 * {@code maxMessageBytes + 1}. A message larger than {@code maxMessageBytes} closes the connection
 * with 1009, as soon as a frame header declares a length that takes the message over the limit
 * (before any of that frame's payload is read), and in any case when one byte too many has been
 * read. A message must arrive whole within the message read timeout, or the connection closes
 * with 1002. Text arrives as its UTF-8 bytes (Undertow validates the UTF-8 and closes with 1007
 * itself).
 *
 * <p>Closing: {@link ConnectionListener#onClosed} is called exactly once: with the peer's code when
 * its close frame arrives, with the code Undertow sent for a protocol error, with 1006 when the
 * socket dies without a close frame, or with the code of a local {@link #close}. A local close is
 * reported from a task queued on the I/O thread, never from inside the engine's own call. After a
 * local close the connection waits up to the close timeout for the peer's close frame, then
 * closes the socket. From the moment it is attached to the hub until its socket closes, the
 * connection is listed in its handler's {@link OpenConnections}, through which a server that stops
 * closes it with a close frame.
 */
public final class UndertowConnection implements TransportConnection {

    /** RFC 6455 "no status code was present" (reported, never sent). */
    static final int NO_STATUS = 1005;
    /** The longest close reason a close frame can carry, in UTF-8 bytes. */
    static final int MAX_REASON_BYTES = 123;

    private static final System.Logger LOG = System.getLogger("dev.tether.undertow");

    private static final int IN_FLIGHT_INITIAL = 4;
    /** The largest payload of a control frame (RFC 6455 section 5.5); Undertow refuses more with 1002. */
    private static final int MAX_CONTROL_PAYLOAD = 125;
    private static final long PING_WINDOW_NS = TimeUnit.MINUTES.toNanos(1);

    private static final ConnectionListener CLOSED_LISTENER = new ConnectionListener() {
        @Override
        public void onFrame(ByteBuffer data, boolean binary) {
        }

        @Override
        public void onWritable() {
        }

        @Override
        public void onClosed(int code, String reason) {
        }
    };

    private final WebSocketChannel channel;
    private final XnioIoThread ioThread;
    private final InetSocketAddress remoteAddress;
    private final ErrorHandler errorHandler;
    private final ConnectionSettings settings;
    private final OpenConnections openConnections;
    /** Frames shorter than this share pooled slabs; longer ones get a heap buffer of their own. */
    private final int pooledFrameLimit;
    private final AtomicBoolean closeRequested = new AtomicBoolean();

    private final Receiver receiver = new Receiver();
    private final ChannelListener<StreamSourceFrameChannel> inboundReader = c -> readInbound();
    private final ChannelListener<StreamSourceFrameChannel> inboundClosed = this::inboundClosed;
    private final ChannelListener<StreamSinkFrameChannel> frameWritten = c -> releaseWritten();
    private final ChannelListener<Channel> socketClosed = c -> socketClosed();
    private final WebSocketCallback<Void> closeFrameWritten = new WebSocketCallback<>() {
        @Override
        public void complete(WebSocketChannel c, Void context) {
            closeFrameFlushed = true;
            if (c.isCloseFrameReceived()) {
                IoUtils.safeClose(c); // both close frames exchanged
            }
        }

        @Override
        public void onError(WebSocketChannel c, Void context, Throwable error) {
            IoUtils.safeClose(c);
        }
    };

    private final WebSocketCallback<Void> pongWritten = new WebSocketCallback<>() {
        @Override
        public void complete(WebSocketChannel c, Void context) {
            pongPending = false;
            ByteBuffer next = latestPing;
            if (next != null) {
                latestPing = null;
                answer(next);
            }
        }

        @Override
        public void onError(WebSocketChannel c, Void context, Throwable error) {
            // Undertow closes the channel itself; the socket's close reports the connection.
            pongPending = false;
            latestPing = null;
        }
    };

    private ConnectionListener listener = CLOSED_LISTENER;
    private boolean batching;
    /** The pooled buffer the small frames of the current batch are copied into, or null. */
    private ReferenceCountedPooled slab;
    /**
     * Our frames handed to Undertow and not yet written to the socket, oldest first. Both start
     * small: an idle connection has none, and they grow to a busy connection's working size.
     */
    private final ArrayDeque<StreamSinkFrameChannel> inFlight = new ArrayDeque<>(IN_FLIGHT_INITIAL);
    private final IntFifo inFlightSizes = new IntFifo(IN_FLIGHT_INITIAL);
    private long pendingBytes;
    private boolean unwritable;
    /** A close frame was sent or is queued (by us or by Undertow): no more frames go out. */
    private boolean closing;
    /** {@link ConnectionListener#onClosed} has been called or queued. */
    private boolean reported;
    private boolean closeFrameFlushed;
    private boolean closeFrameArrived;
    private XnioExecutor.Key closeTimer;

    /** A pong is queued in the channel and not yet written to the socket. */
    private boolean pongPending;
    /** The payload of the latest ping that arrived while a pong was pending, or null. */
    private ByteBuffer latestPing;
    private long pingWindowStartNs;
    private int pingsInWindow;

    private StreamSourceFrameChannel inbound;
    /** Closes the connection if the message being read is not whole by then. */
    private XnioExecutor.Key inboundDeadline;
    private boolean inboundBinary;
    private int inboundBytes;
    /** Inside {@code inbound.read}, which closes the stream itself once the message is whole. */
    private boolean readingInbound;
    private PooledByteBuffer inboundPooled;
    private ByteBuffer inboundHeap;

    private UndertowConnection(WebSocketChannel channel, ErrorHandler errorHandler, ConnectionSettings settings,
                               OpenConnections openConnections) {
        this.channel = channel;
        this.ioThread = channel.getIoThread();
        this.remoteAddress = channel.getSourceAddress();
        this.errorHandler = errorHandler;
        this.settings = settings;
        this.openConnections = openConnections;
        this.pooledFrameLimit = channel.getBufferPool().getBufferSize();
    }

    /**
     * Wraps a freshly upgraded channel, attaches it to {@code tether} with the credentials it was
     * accepted with, adds it to {@code openConnections} until its socket closes and starts
     * reading. Call on the channel's I/O thread.
     *
     * @return the connection, already closed if the hub refused it
     */
    public static UndertowConnection open(WebSocketChannel channel, Tether tether, AuthResult.Accepted credentials,
                                          ConnectionSettings settings, OpenConnections openConnections) {
        return open(channel, tether, TransportHub.of(tether)::connect, credentials, settings, openConnections);
    }

    /**
     * As {@link #open(WebSocketChannel, Tether, AuthResult.Accepted, ConnectionSettings, OpenConnections)},
     * attaching the connection through {@code connector} (the Socket.IO server's instead of the
     * hub's native protocol).
     */
    public static UndertowConnection open(WebSocketChannel channel, Tether tether,
                                          BiFunction<TransportConnection, AuthResult.Accepted, ConnectionListener> connector,
                                          AuthResult.Accepted credentials, ConnectionSettings settings,
                                          OpenConnections openConnections) {
        ErrorHandler errors = tether.config().errorHandler();
        UndertowConnection connection = new UndertowConnection(channel, errors, settings, openConnections);
        channel.getReceiveSetter().set(connection.receiver);
        channel.getCloseSetter().set(connection.socketClosed);
        channel.setIdleTimeout(settings.idleTimeoutMs());
        ConnectionListener listener;
        try {
            listener = connector.apply(connection, credentials);
        } catch (RuntimeException e) {
            report(errors, "transport.connect", e);
            listener = null;
        }
        if (listener == null) {
            connection.close(CloseCodes.INTERNAL_ERROR, "internal error");
        } else {
            connection.listener = listener;
        }
        // Added once the listener is in place, since a server already stopping closes it at once.
        openConnections.add(connection);
        if (!channel.isOpen()) {
            // Closed during connect: socketClosed has run (on this thread) before the add.
            openConnections.remove(connection);
        }
        channel.resumeReceives();
        return connection;
    }

    /** Closes a channel that never reaches the hub. I/O thread. */
    static void refuse(WebSocketChannel channel, int code, String reason) {
        channel.setRequireExplicitFlush(false);
        WebSockets.sendClose(code, reason, channel, null);
        channel.flush();
        IoUtils.safeClose(channel);
    }

    // ------------------------------------------------------------------ TransportConnection

    @Override
    public boolean write(Frame frame) {
        if (closing || reported || channel.isCloseFrameSent() || channel.isCloseFrameReceived()) {
            return false;
        }
        if (!batching) {
            batching = true;
            channel.setRequireExplicitFlush(true);
        }
        int length = frame.length();
        StreamSinkFrameChannel sink;
        PooledByteBuffer body = null;
        try {
            sink = channel.send(frame.binary() ? WebSocketFrameType.BINARY : WebSocketFrameType.TEXT);
            body = length < pooledFrameLimit ? slice(frame, length) : copy(frame, length);
            if (!sink.send(body)) {
                throw new IOException("a new frame sink refused its body");
            }
            body = null; // the sink owns it now and closes it once written or broken
            sink.getCloseSetter().set(frameWritten);
            sink.shutdownWrites();
        } catch (IOException | RuntimeException e) {
            // The channel broke under us (the peer is gone): a transport event, not a caller bug.
            if (body != null) {
                body.close();
            }
            abort();
            return false;
        }
        inFlight.add(sink);
        inFlightSizes.add(length);
        pendingBytes += length;
        return true;
    }

    @Override
    public void flush() {
        endBatch();
        channel.flush();
        // Undertow wrote what the socket took synchronously; account for it now rather than
        // when its completion callbacks run, after this task.
        releaseWritten();
    }

    @Override
    public boolean isWritable() {
        if (closing || reported) {
            return false;
        }
        if (pendingBytes > settings.highWaterBytes()) {
            unwritable = true;
            return false;
        }
        return true;
    }

    @Override
    public void suspendReads() {
        channel.suspendReceives();
    }

    @Override
    public void resumeReads() {
        channel.resumeReceives();
    }

    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        try {
            ioThread.execute(task);
        } catch (RejectedExecutionException e) {
            // The worker is shutting down and the socket with it; the contract allows dropping.
        }
    }

    @Override
    public boolean inIoThread() {
        return Thread.currentThread() == ioThread;
    }

    @Override
    public void close(int code, String reason) {
        if (!closeRequested.compareAndSet(false, true)) {
            return;
        }
        String why = reason == null ? "" : reason;
        if (inIoThread()) {
            closeLocally(code, why);
            return;
        }
        try {
            ioThread.execute(() -> closeLocally(code, why));
        } catch (RejectedExecutionException e) {
            IoUtils.safeClose(channel);
        }
    }

    /**
     * As {@link #close}, but after the tasks already queued on the I/O thread, even when called
     * on it: for writes another thread handed over with {@link #execute} that must go out first.
     */
    void closeAfterQueuedTasks(int code, String reason) {
        try {
            ioThread.execute(() -> close(code, reason));
        } catch (RejectedExecutionException e) {
            close(code, reason);
        }
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remoteAddress;
    }

    @Override
    public String toString() {
        return "UndertowConnection[" + remoteAddress + (closing || reported ? ", closed]" : "]");
    }

    // ------------------------------------------------------------------ writes

    private void endBatch() {
        if (batching) {
            batching = false;
            channel.setRequireExplicitFlush(false);
        }
        retireSlab();
    }

    /**
     * The frame's bytes copied into the next {@code length} bytes of the current slab, a pooled
     * buffer shared by the small frames of one batch; each frame's body is a reference-counted
     * view, and the slab returns to the pool when Undertow has written (and closed) every view.
     * Pooled memory in flight therefore follows the payload bytes, not the frame count.
     */
    private PooledByteBuffer slice(Frame frame, int length) {
        ReferenceCountedPooled current = slab;
        if (current == null || current.getBuffer().remaining() < length) {
            retireSlab();
            PooledByteBuffer pooled = channel.getBufferPool().allocate();
            pooled.getBuffer().clear();
            current = new ReferenceCountedPooled(pooled, 1);
            slab = current;
        }
        ByteBuffer target = current.getBuffer().duplicate();
        for (ByteBuffer part : frame.parts()) {
            target.put(part);
        }
        return current.createView(length);
    }

    /** Drops this connection's own reference to the slab; the views in flight keep it alive. */
    private void retireSlab() {
        if (slab != null) {
            slab.close();
            slab = null;
        }
    }

    /** A frame as large as a pooled buffer or larger: copied into one heap buffer of its size. */
    private static PooledByteBuffer copy(Frame frame, int length) {
        ByteBuffer copy = ByteBuffer.allocate(length);
        for (ByteBuffer part : frame.parts()) {
            copy.put(part);
        }
        return new ImmediatePooledByteBuffer(copy.flip());
    }

    /**
     * Releases the frames at the head of {@link #inFlight} that Undertow has written out (or
     * dropped with a broken channel), and signals writability below the low water mark. Runs
     * after each flush and whenever Undertow reports one of our frames complete.
     */
    private void releaseWritten() {
        StreamSinkFrameChannel head;
        while ((head = inFlight.peek()) != null && isWritten(head)) {
            inFlight.poll();
            pendingBytes -= inFlightSizes.poll();
        }
        if (unwritable && pendingBytes < settings.lowWaterBytes()) {
            unwritable = false;
            if (!reported && !closing) {
                try {
                    listener.onWritable();
                } catch (RuntimeException e) {
                    report(errorHandler, "transport.onWritable", e);
                }
            }
        }
    }

    /** Whether Undertow is done with a frame sink: fully written, or broken and dropped. */
    private static boolean isWritten(StreamSinkFrameChannel sink) {
        try {
            // For a sink whose final frame is queued this only asks; it writes nothing.
            return sink.flush();
        } catch (IOException e) {
            return true;
        }
    }

    // ------------------------------------------------------------------ closing

    /** A close asked for by the engine (or by this transport for an oversized message). */
    private void closeLocally(int code, String reason) {
        if (closing || reported) {
            return;
        }
        closing = true;
        String wireReason = truncate(reason);
        abortInbound();
        endBatch();
        sendCloseFrame(sendable(code), wireReason);
        reportClosed(code, wireReason, true);
    }

    /** Sends our close frame and waits a bounded time for the answer, or closes at once if we cannot. */
    private void sendCloseFrame(int code, String reason) {
        if (channel.isOpen() && !channel.isCloseFrameSent()) {
            try {
                WebSockets.sendClose(code, reason, channel, closeFrameWritten);
                channel.flush();
            } catch (RuntimeException e) {
                IoUtils.safeClose(channel);
            }
            armCloseTimer();
        } else {
            IoUtils.safeClose(channel);
        }
    }

    /** The peer's close frame arrived. */
    private void closedByPeer(int code, String reason) {
        if (closing) {
            // The answer to our own close frame: the closing handshake is complete.
            if (closeFrameFlushed) {
                IoUtils.safeClose(channel);
            }
            return;
        }
        closing = true;
        abortInbound();
        reportClosed(code, reason, false);
        endBatch();
        sendCloseFrame(code == NO_STATUS || !isSendable(code) ? CloseCodes.NORMAL : code, "");
    }

    /** Reading failed; Undertow may already have queued a close frame (1002, 1007). */
    private void readFailed() {
        abortInbound();
        if (!reported) {
            boolean sent = channel.isCloseFrameSent();
            int code = sent && channel.getCloseCode() > 0 ? channel.getCloseCode() : CloseCodes.ABNORMAL;
            String reason = sent && channel.getCloseReason() != null ? channel.getCloseReason() : "";
            reportClosed(code, reason, false);
        }
        closing = true;
        endBatch();
        if (channel.isOpen() && channel.isCloseFrameSent()) {
            channel.flush();
            armCloseTimer();
        } else {
            IoUtils.safeClose(channel);
        }
    }

    /** The channel broke while writing. */
    private void abort() {
        closing = true;
        endBatch();
        abortInbound();
        IoUtils.safeClose(channel);
        reportClosed(CloseCodes.ABNORMAL, "", true);
    }

    /** The socket is closed: the last event of this connection. */
    private void socketClosed() {
        openConnections.remove(this);
        if (closeTimer != null) {
            closeTimer.remove();
            closeTimer = null;
        }
        closing = true;
        abortInbound();
        retireSlab();
        inFlight.clear();
        inFlightSizes.clear();
        pendingBytes = 0;
        if (!reported) {
            // Undertow may have sent a close frame of its own (1002, 1007, 1001 on idle timeout)
            // and closed the socket before the failure reached this connection. A close frame
            // "received" without one arriving is WebSocketChannel's mark for end of stream.
            boolean endOfStream = channel.isCloseFrameReceived() && !closeFrameArrived;
            if (channel.isCloseFrameSent() && !endOfStream && channel.getCloseCode() > 0) {
                String reason = channel.getCloseReason();
                reportClosed(channel.getCloseCode(), reason == null ? "" : reason, false);
            } else {
                reportClosed(CloseCodes.ABNORMAL, "", false);
            }
        }
    }

    private void armCloseTimer() {
        if (closeTimer == null) {
            try {
                closeTimer = ioThread.executeAfter(() -> IoUtils.safeClose(channel),
                        settings.closeTimeoutMs(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                IoUtils.safeClose(channel);
            }
        }
    }

    private void reportClosed(int code, String reason, boolean later) {
        if (reported) {
            return;
        }
        reported = true;
        if (later) {
            try {
                ioThread.execute(() -> deliverClosed(code, reason));
                return;
            } catch (RejectedExecutionException e) {
                // The I/O thread is going away: deliver now rather than never.
            }
        }
        deliverClosed(code, reason);
    }

    private void deliverClosed(int code, String reason) {
        ConnectionListener l = listener;
        listener = CLOSED_LISTENER;
        try {
            l.onClosed(code, reason);
        } catch (RuntimeException e) {
            report(errorHandler, "transport.onClosed", e);
        }
    }

    // ------------------------------------------------------------------ reads

    private void beginInbound(StreamSourceFrameChannel frames, boolean binary) {
        if (closing || reported) {
            frames.close(); // discards the rest of the message
            return;
        }
        inbound = frames;
        inboundBinary = binary;
        inboundBytes = 0;
        // Undertow adds up the lengths that the message's frame headers declare and closes the
        // stream as soon as the sum passes this, before it reads that frame's payload: a header
        // declaring 2^63-1 bytes (or one byte too many) is refused when it arrives, here for the
        // first frame and in inboundClosed for a later fragment.
        frames.setMaxStreamSize(settings.maxMessageBytes());
        frames.getCloseSetter().set(inboundClosed);
        frames.getReadSetter().set(inboundReader);
        // Delivers an empty message (whose stream is complete, and closed, already) and refuses
        // one closed for its first header.
        readInbound();
        if (inbound == frames) {
            // A header within the limit may never be followed by its payload, or only slowly:
            // bound the time too.
            inboundDeadline = ioThread.executeAfter(() -> inboundTooSlow(frames),
                    settings.messageReadTimeoutMs(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The stream of a message closed. Our own read closes it once the message is whole, and
     * {@link #abortInbound} forgets it before closing it. Any other close comes from Undertow:
     * its refusal of a fragment header over the limit, or a socket that failed (a reset closes
     * the stream from inside the receive that then reports the failure to {@code onError}). The
     * read that tells them apart therefore runs as a task of its own, after that receive: by then
     * a failed socket has been handled and the stream forgotten; a stream that completed delivers,
     * one refused for its size can never deliver (see {@link #inboundBroken}).
     */
    private void inboundClosed(StreamSourceFrameChannel frames) {
        if (frames == inbound && !readingInbound) {
            execute(() -> {
                if (frames == inbound) {
                    readInbound();
                }
            });
        }
    }

    private void readInbound() {
        StreamSourceFrameChannel frames = inbound;
        if (frames == null) {
            return;
        }
        try {
            for (;;) {
                ByteBuffer target = inboundTarget();
                int n;
                readingInbound = true;
                try {
                    n = frames.read(target);
                } finally {
                    readingInbound = false;
                }
                if (n < 0) {
                    frames.suspendReads();
                    deliverInbound();
                    return;
                }
                if (n == 0) {
                    if (!frames.isOpen()) {
                        // Closed before its end: a closed final frame reads 0 for ever, not -1.
                        inboundBroken(frames);
                    } else {
                        frames.resumeReads();
                    }
                    return;
                }
                inboundBytes += n;
                if (inboundBytes > settings.maxMessageBytes()) {
                    // Undertow's check on the declared lengths should have refused it already;
                    // the limit holds on the bytes counted here regardless.
                    messageTooBig();
                    return;
                }
            }
        } catch (IOException e) {
            inboundBroken(frames);
        }
    }

    /**
     * The message's stream failed or was closed before its end. With the connection healthy that
     * is Undertow's refusal of a message whose frame headers declare more than the limit (see
     * {@link #beginInbound}); otherwise the connection is failing or closing (Undertow queues its
     * own close frame for bad framing or UTF-8, or the socket is gone).
     */
    private void inboundBroken(StreamSourceFrameChannel frames) {
        if (!frames.isOpen() && channel.isOpen() && !channel.isCloseFrameSent() && !channel.isCloseFrameReceived()) {
            messageTooBig();
        } else {
            readFailed();
        }
    }

    /**
     * Undertow's frame parser failed with an unchecked exception, which it does not handle: a
     * 64-bit length with its top bit set (RFC 6455 section 5.2 requires it to be 0) makes it
     * slice a buffer at a negative offset. Left alone, the connection would hang with nothing
     * read; it is bad framing, so close with 1002. Reads stop, since what is buffered cannot be
     * parsed; the close timeout ends the socket if the close frame gets no answer. Not reported
     * to the error handler: any client can cause it.
     */
    private void unparsableFrame(WebSocketChannel c) {
        c.suspendReceives();
        if (closeRequested.compareAndSet(false, true)) {
            closeLocally(CloseCodes.PROTOCOL_ERROR, "malformed frame");
        }
    }

    private void messageTooBig() {
        if (closeRequested.compareAndSet(false, true)) {
            closeLocally(CloseCodes.MESSAGE_TOO_BIG, "message too big");
        } else {
            abortInbound();
        }
    }

    /** Where the next bytes of the current message go; grows the heap buffer when full. */
    private ByteBuffer inboundTarget() {
        ByteBuffer heap = inboundHeap;
        if (heap != null) {
            if (!heap.hasRemaining()) {
                int bigger = (int) Math.min((long) settings.maxMessageBytes() + 1, (long) heap.capacity() * 2);
                heap = ByteBuffer.allocate(bigger).put(heap.flip());
                inboundHeap = heap;
            }
            return heap;
        }
        if (inboundPooled == null) {
            inboundPooled = channel.getBufferPool().allocate();
        }
        ByteBuffer pooled = inboundPooled.getBuffer();
        if (pooled.hasRemaining()) {
            return pooled;
        }
        // The message outgrew one pooled buffer: continue on the heap, bounded by the limit + 1
        // so that one byte too many is seen.
        int size = (int) Math.min((long) settings.maxMessageBytes() + 1, (long) pooled.capacity() * 2);
        heap = ByteBuffer.allocate(Math.max(size, pooled.position() + 1));
        heap.put(pooled.flip());
        inboundPooled.close();
        inboundPooled = null;
        inboundHeap = heap;
        return heap;
    }

    private void inboundTooSlow(StreamSourceFrameChannel frames) {
        inboundDeadline = null;
        if (inbound == frames && !closing && !reported) {
            closeLocally(CloseCodes.PROTOCOL_ERROR, "message not completed in time");
        }
    }

    private void cancelInboundDeadline() {
        if (inboundDeadline != null) {
            inboundDeadline.remove();
            inboundDeadline = null;
        }
    }

    private void deliverInbound() {
        cancelInboundDeadline();
        ByteBuffer data;
        if (inboundHeap != null) {
            data = inboundHeap.flip();
        } else if (inboundPooled != null) {
            data = inboundPooled.getBuffer().flip();
        } else {
            data = Buffers.EMPTY_BYTE_BUFFER;
        }
        boolean binary = inboundBinary;
        inbound = null;
        try {
            if (!closing && !reported) {
                listener.onFrame(data, binary);
            }
        } catch (RuntimeException e) {
            report(errorHandler, "transport.onFrame", e);
        } finally {
            releaseInbound();
        }
    }

    private void abortInbound() {
        cancelInboundDeadline();
        StreamSourceFrameChannel frames = inbound;
        inbound = null;
        if (frames != null) {
            frames.suspendReads();
            frames.close(); // data still to come for this message is discarded
        }
        releaseInbound();
    }

    private void releaseInbound() {
        if (inboundPooled != null) {
            inboundPooled.close();
            inboundPooled = null;
        }
        inboundHeap = null;
        inboundBytes = 0;
    }

    // ------------------------------------------------------------------ pings

    /** Counts a ping; the one over the limit closes the connection with 1008. */
    private void pingArrived() {
        int max = settings.maxPingsPerMinute();
        if (max == 0) {
            return;
        }
        long now = System.nanoTime();
        if (pingsInWindow == 0 || now - pingWindowStartNs >= PING_WINDOW_NS) {
            pingWindowStartNs = now;
            pingsInWindow = 0;
        }
        if (++pingsInWindow > max && closeRequested.compareAndSet(false, true)) {
            closeLocally(CloseCodes.POLICY_VIOLATION, "too many pings");
        }
    }

    /**
     * A ping's payload, whole. Answered at once unless a pong is pending; then kept, replacing
     * any payload kept before, and answered when the pending pong has been written. The pooled
     * buffers holding the payload are released here either way.
     */
    private void pingReceived(ByteBuffer[] payload) {
        if (closing || reported || channel.isCloseFrameSent()) {
            return;
        }
        if (pongPending) {
            ByteBuffer kept = latestPing == null ? ByteBuffer.allocate(MAX_CONTROL_PAYLOAD) : latestPing.clear();
            Buffers.copy(kept, payload, 0, payload.length);
            latestPing = kept.flip();
            return;
        }
        ByteBuffer copy = ByteBuffer.allocate((int) Buffers.remaining(payload));
        Buffers.copy(copy, payload, 0, payload.length);
        answer(copy.flip());
    }

    /** Queues a pong with {@code payload}, which Undertow owns from now on. */
    private void answer(ByteBuffer payload) {
        if (closing || reported || channel.isCloseFrameSent()) {
            return;
        }
        pongPending = true;
        // Completes at once if the socket takes the pong now (then pongWritten runs before this returns).
        WebSockets.sendPong(payload, channel, pongWritten);
    }

    /** Dispatches channel events; ping, pong and close framing are Undertow's. */
    private final class Receiver extends AbstractReceiveListener {

        @Override
        public void handleEvent(WebSocketChannel c) {
            try {
                super.handleEvent(c);
            } catch (RuntimeException e) {
                // DEBUG, not the error handler: any client can cause it; but a bug should be findable.
                LOG.log(System.Logger.Level.DEBUG, "closing with 1002: a frame Undertow could not parse", e);
                unparsableFrame(c);
                return;
            }
            if (!reported && !closeFrameArrived && c.isCloseFrameReceived()) {
                // End of stream without a close frame: WebSocketChannel.lastDataRead marks the
                // read side done and never produces a frame, so this is the only place to see it.
                closing = true;
                abortInbound();
                reportClosed(CloseCodes.ABNORMAL, "", false);
                IoUtils.safeClose(c);
            }
        }

        @Override
        protected void onText(WebSocketChannel c, StreamSourceFrameChannel frames) {
            beginInbound(frames, false);
        }

        @Override
        protected void onBinary(WebSocketChannel c, StreamSourceFrameChannel frames) {
            beginInbound(frames, true);
        }

        // Called for each ping before its payload is read. Replaces Undertow's own count, which
        // takes its limit from JVM-wide system properties and closes with its message id as reason.
        @Override
        protected void countPing(WebSocketChannel c) {
            pingArrived();
        }

        @Override
        protected void onFullPingMessage(WebSocketChannel c, BufferedBinaryMessage message) {
            var data = message.getData(); // an org.xnio.Pooled, deprecated but the only way in
            try {
                pingReceived(data.getResource());
            } finally {
                data.close();
            }
        }

        @Override
        protected void onClose(WebSocketChannel c, StreamSourceFrameChannel frames) throws IOException {
            closeFrameArrived = true;
            super.onClose(c, frames);
        }

        // The two bounds below only apply if Undertow ever buffers a data message itself, which
        // onText and onBinary never ask it to; they keep the hub's limit on every path.
        @Override
        protected long getMaxTextBufferSize() {
            return settings.maxMessageBytes();
        }

        @Override
        protected long getMaxBinaryBufferSize() {
            return settings.maxMessageBytes();
        }

        @Override
        protected void onFullCloseMessage(WebSocketChannel c, BufferedBinaryMessage message) {
            var data = message.getData(); // an org.xnio.Pooled, deprecated but the only way in
            int code;
            String reason;
            try {
                ByteBuffer[] buffers = data.getResource();
                if (Buffers.remaining(buffers) < 2) {
                    code = NO_STATUS;
                    reason = "";
                } else {
                    CloseMessage close = new CloseMessage(buffers);
                    code = close.getCode();
                    reason = close.getReason();
                }
            } finally {
                data.close();
            }
            closedByPeer(code, reason);
        }

        @Override
        protected void onError(WebSocketChannel c, Throwable error) {
            readFailed();
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Codes a close frame may carry (RFC 6455 section 7.4); others are sent as 1011. */
    static boolean isSendable(int code) {
        return code >= 1000 && code <= 4999 && code != 1004 && code != NO_STATUS
                && code != CloseCodes.ABNORMAL && code != 1015 && (code < 1016 || code >= 3000);
    }

    private static int sendable(int code) {
        return isSendable(code) ? code : CloseCodes.INTERNAL_ERROR;
    }

    /** The longest prefix of {@code reason} that fits a close frame, never splitting a character. */
    static String truncate(String reason) {
        if (reason.length() * 3 <= MAX_REASON_BYTES) {
            return reason;
        }
        byte[] bytes = reason.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= MAX_REASON_BYTES) {
            return reason;
        }
        int end = MAX_REASON_BYTES;
        while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
            end--; // bytes[end] continues the character that starts before it
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }

    private static void report(ErrorHandler handler, String context, Throwable error) {
        try {
            handler.onError(context, error);
        } catch (RuntimeException ignored) {
            // An error handler must not throw; if it does, there is no one left to tell.
        }
    }
}
