package dev.tether.undertow.internal;

import dev.tether.core.CloseCodes;
import dev.tether.core.Tether;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.ErrorHandler;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import dev.tether.core.spi.TransportHub;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * One WebSocket on a connection Undertow upgraded, as the engine sees it. Undertow does the HTTP
 * side (listener, request parsing, the 101 answer); the frames are read and written here, on the
 * socket's XNIO channels, with {@link FrameReader} for the inbound side (RFC 6455).
 *
 * <p>Threading: every field is owned by the socket's I/O thread, except {@link #closeRequested}.
 * {@link #write}, {@link #flush}, {@link #isWritable}, {@link #suspendReads} and
 * {@link #resumeReads} must be called on that thread (the engine's contract); {@link #execute},
 * {@link #close}, {@link #inIoThread} and {@link #remoteAddress} may be called from any thread.
 * Every listener callback runs on the I/O thread.
 *
 * <p>Writes and flushes: {@link #write} encodes the frame (header and payload) into the I/O
 * thread's write buffer ({@link IoThreadBuffers}), which holds one connection's batch at a time;
 * {@link #flush} writes that batch with one system call. What the socket does not take is copied
 * into a heap backlog of this connection's own, which the socket's write listener finishes and
 * then drops; while it exists, frames are appended to it, so order is kept. A frame larger than
 * the write buffer goes through the backlog too. Nothing of a {@link Frame} is referenced after
 * {@link #write} returns. An idle connection holds no buffer at all.
 *
 * <p>Writability: the bytes written and not yet taken by the socket are counted (the batch in the
 * shared buffer and the backlog). Above the high water mark {@link #isWritable()} returns false;
 * when the count falls below the low water mark the listener's
 * {@link ConnectionListener#onWritable()} is called once.
 *
 * <p>Pings are answered here, at once when nothing of this connection waits for the socket. While
 * a backlog waits, the payload of the latest ping is kept (replacing any kept before) and
 * answered when the backlog is written (RFC 6455 section 5.5.3 allows answering only the most
 * recent ping). More pings than {@code maxPingsPerMinute} in a minute close the connection with
 * 1008. Pongs are ignored.
 *
 * <p>Reads: each read lands in the I/O thread's read buffer and is parsed there; what the reader
 * needs to keep between reads it keeps itself (see {@link FrameReader}). A message larger than
 * {@code maxMessageBytes} closes with 1009 as soon as a frame header declares a length that takes
 * it over the limit, before any of its payload is read. Every other framing rule is enforced at
 * the header too (1002), UTF-8 as the text arrives (1007). A message (and any frame) must arrive
 * whole within the message read timeout from the read in which it began, or the connection
 * closes with 1002. Reads stop between two messages when the engine suspends them; the unparsed
 * rest of that read is kept until they resume.
 *
 * <p>Idle: a connection on which nothing was read or written for the idle timeout is closed with
 * 1001, as a local close.
 *
 * <p>Closing: {@link ConnectionListener#onClosed} is called exactly once: with the peer's code
 * when its close frame arrives (the close is echoed and the socket closed once the echo is
 * written), with the code of a framing violation (the close frame is sent, the socket half-closed
 * once it is written and closed when the peer closes or the close timeout passes), with 1006 when
 * the socket dies without a close frame, or with the code of a local {@link #close}. A local close
 * is reported from a task queued on the I/O thread, never from inside the engine's own call;
 * after it the connection goes on reading, for the peer's close frame, up to the close timeout,
 * then closes the socket. From the moment it is attached to the hub until its socket closes, the
 * connection is listed in its handler's {@link OpenConnections}, through which a server that
 * stops closes it with a close frame.
 */
public final class UndertowConnection extends OpenConnections.Member implements TransportConnection {

    /** RFC 6455 "no status code was present" (reported, never sent). */
    static final int NO_STATUS = 1005;
    /** The longest close reason a close frame can carry, in UTF-8 bytes. */
    static final int MAX_REASON_BYTES = 123;

    /** Reads per read event before yielding the I/O thread to its other connections. */
    private static final int MAX_READS_PER_EVENT = 4;
    private static final int MIN_BACKLOG_BYTES = 1024;
    private static final int MAX_CONTROL_PAYLOAD = 125;
    private static final long PING_WINDOW_NS = TimeUnit.MINUTES.toNanos(1);
    private static final VarHandle CLOSE_REQUESTED;

    static {
        try {
            CLOSE_REQUESTED = MethodHandles.lookup().findVarHandle(UndertowConnection.class, "closeRequested", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

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

    private final StreamConnection socket;
    private final IoThreadBuffers buffers;
    private final InetSocketAddress remoteAddress;
    private final ConnectionSettings settings;
    private final OpenConnections openConnections;
    private final FrameReader reader;
    private final Events events = new Events();
    @SuppressWarnings("unused") // through CLOSE_REQUESTED
    private volatile boolean closeRequested;

    private ConnectionListener listener = CLOSED_LISTENER;

    /** This connection's bytes the socket has not taken yet, after those in the shared buffer; write mode. */
    private ByteBuffer backlog;
    private boolean unwritable;
    /** The payload of the latest ping that arrived while a backlog waited, or null. */
    private ByteBuffer latestPing;
    private long pingWindowStartNs;
    private int pingsInWindow;

    /**
     * The unparsed rest of a read, kept while reads are suspended, or what the client sent before
     * the 101 that Undertow read with the request; or null.
     */
    private ByteBuffer carry;
    private boolean readsSuspended;
    /** A read that began a message left it incomplete: the message read deadline runs. */
    private boolean partial;
    private long partialSinceNs;
    private long boundariesSeen;
    private XnioExecutor.Key readDeadline;

    private long lastActivityNs;
    /** This I/O thread's connections, for the idle sweep ({@link IoThreadBuffers#watchIdle}). */
    UndertowConnection idlePrev;
    UndertowConnection idleNext;

    /** A close frame was sent or is queued: no more frames go out. */
    private boolean closing;
    private boolean closeFrameSent;
    private boolean closeFrameFlushed;
    private boolean closeFrameArrived;
    /** The peer broke the protocol: what it sends from now on is discarded. */
    private boolean readBroken;
    /** {@link ConnectionListener#onClosed} has been called or queued. */
    private boolean reported;
    /** The socket is closed or being closed: no more reads or writes. */
    private boolean socketEnded;
    /** {@link #socketClosed} ran. */
    private boolean socketGone;
    private XnioExecutor.Key closeTimer;

    private UndertowConnection(StreamConnection socket, ConnectionSettings settings,
                               OpenConnections openConnections) {
        this.socket = socket;
        this.buffers = IoThreadBuffers.current();
        this.remoteAddress = socket.getPeerAddress(InetSocketAddress.class);
        this.settings = settings;
        this.openConnections = openConnections;
        this.reader = new FrameReader(settings.maxMessageBytes());
    }

    /**
     * Takes over an upgraded socket, attaches it to the hub through {@code connector} with the
     * credentials it was accepted with (the hub's native protocol, or the Socket.IO server's),
     * adds it to {@code openConnections} until the socket closes and starts reading, with the
     * bytes read ahead of the upgrade first. Call on the socket's I/O thread.
     *
     * @return the connection, already closed if the hub refused it
     */
    public static UndertowConnection open(DetachableConnection.Detached upgraded, Tether tether,
                                          BiFunction<TransportConnection, AuthResult.Accepted, ConnectionListener> connector,
                                          AuthResult.Accepted credentials, ConnectionSettings settings,
                                          OpenConnections openConnections) {
        ErrorHandler errors = settings.errorHandler();
        StreamConnection socket = upgraded.socket();
        UndertowConnection connection = new UndertowConnection(socket, settings, openConnections);
        connection.carry = upgraded.readAhead();
        connection.source().getReadSetter().set(connection.events);
        connection.sink().getWriteSetter().set(connection.events);
        // Added to the close listener set before, which still runs first (Undertow's when it
        // served the socket itself, the detach's on the standalone server): XNIO's
        // setCloseListener merges a new listener with the one set before (it does not replace it).
        socket.setCloseListener(connection.events);
        connection.lastActivityNs = System.nanoTime();
        connection.buffers.watchIdle(connection, socket.getIoThread(), settings.idleTimeoutMs());
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
        if (!socket.isOpen()) {
            // Closed during connect: socketClosed has run (on this thread) before the add.
            openConnections.remove(connection);
        }
        connection.source().resumeReads();
        connection.readCarry();
        return connection;
    }

    /** Closes an upgraded socket that never reaches the hub, with a close frame if it can. I/O thread. */
    static void refuse(StreamConnection socket, int code, String reason) {
        try {
            ByteBuffer frame = closeFrame(sendable(code), truncate(reason));
            socket.getSinkChannel().write(frame);
            socket.getSinkChannel().flush();
        } catch (IOException e) {
            // closing it anyway
        }
        IoUtils.safeClose(socket);
    }

    // ------------------------------------------------------------------ TransportConnection

    @Override
    public boolean write(Frame frame) {
        if (closing || reported) {
            return false;
        }
        send(frame.binary() ? FrameReader.OP_BINARY : FrameReader.OP_TEXT, frame.parts(), frame.length());
        return !reported;
    }

    @Override
    public void flush() {
        flushAll();
        checkWritable();
    }

    @Override
    public boolean isWritable() {
        if (closing || reported) {
            return false;
        }
        if (pendingBytes() > settings.highWaterBytes()) {
            unwritable = true;
            return false;
        }
        return true;
    }

    @Override
    public void suspendReads() {
        readsSuspended = true;
        source().suspendReads();
    }

    @Override
    public void resumeReads() {
        if (!readsSuspended) {
            return;
        }
        readsSuspended = false;
        source().resumeReads();
        readCarry();
    }

    /** Parses the bytes already read, if any: the socket may have nothing new to wake us. */
    private void readCarry() {
        if (carry != null) {
            execute(this::readReady);
        }
    }

    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        try {
            socket.getIoThread().execute(task);
        } catch (RejectedExecutionException e) {
            // The worker is shutting down and the socket with it; the contract allows dropping.
        }
    }

    @Override
    public boolean inIoThread() {
        return Thread.currentThread() == socket.getIoThread();
    }

    @Override
    public void close(int code, String reason) {
        if (!CLOSE_REQUESTED.compareAndSet(this, false, true)) {
            return;
        }
        String why = reason == null ? "" : reason;
        if (inIoThread()) {
            closeLocally(code, why);
            return;
        }
        try {
            socket.getIoThread().execute(() -> closeLocally(code, why));
        } catch (RejectedExecutionException e) {
            IoUtils.safeClose(socket);
        }
    }

    /**
     * As {@link #close}, but after the tasks already queued on the I/O thread, even when called
     * on it: for writes another thread handed over with {@link #execute} that must go out first.
     */
    void closeAfterQueuedTasks(int code, String reason) {
        try {
            socket.getIoThread().execute(() -> close(code, reason));
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

    /** Encodes one frame after everything this connection wrote before it. */
    private void send(int opcode, ByteBuffer[] parts, int length) {
        int frameBytes = headerBytes(length) + length;
        ByteBuffer out;
        if (backlog != null) {
            out = backlogWith(frameBytes);
        } else {
            out = claimShared();
            if (out.remaining() < frameBytes) {
                flushShared();
                if (socketEnded) {
                    return;
                }
                // Still no backlog: the shared buffer is empty now; a frame larger than it goes
                // through the backlog.
                out = backlog == null && frameBytes <= IoThreadBuffers.WRITE_BYTES ? claimShared() : backlogWith(frameBytes);
            }
        }
        putHeader(out, opcode, length);
        for (ByteBuffer part : parts) {
            out.put(part);
        }
    }

    private static int headerBytes(int length) {
        return length < 126 ? 2 : length <= 0xFFFF ? 4 : 10;
    }

    /** A server frame's header: final, unmasked. */
    private static void putHeader(ByteBuffer out, int opcode, int length) {
        out.put((byte) (0x80 | opcode));
        if (length < 126) {
            out.put((byte) length);
        } else if (length <= 0xFFFF) {
            out.put((byte) 126).putShort((short) length);
        } else {
            out.put((byte) 127).putLong(length);
        }
    }

    /** The thread's write buffer, for this connection's frames; another connection's are written out first. */
    private ByteBuffer claimShared() {
        UndertowConnection owner = buffers.writer;
        if (owner != this) {
            if (owner != null) {
                owner.flushShared();
            }
            buffers.writer = this;
        }
        return buffers.write;
    }

    /** The backlog with room for {@code bytes} more. */
    private ByteBuffer backlogWith(int bytes) {
        ByteBuffer b = backlog;
        if (b == null) {
            b = ByteBuffer.allocate(Math.max(bytes, MIN_BACKLOG_BYTES));
            backlog = b;
        } else if (b.remaining() < bytes) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.position() + bytes, b.capacity() * 2));
            bigger.put(b.flip());
            backlog = b = bigger;
        }
        return b;
    }

    /** Bytes written and not yet taken by the socket. */
    private long pendingBytes() {
        long shared = buffers.writer == this ? buffers.write.position() : 0;
        return shared + (backlog == null ? 0 : backlog.position());
    }

    /** Writes the batch in the shared buffer and as much of the backlog as the socket takes. */
    private void flushAll() {
        flushShared();
        if (backlog != null && !socketEnded) {
            writeBacklog();
        }
    }

    /** Writes this connection's batch from the shared buffer; what the socket refuses goes to the backlog. */
    private void flushShared() {
        if (buffers.writer != this) {
            return;
        }
        buffers.writer = null;
        ByteBuffer out = buffers.write.flip();
        try {
            while (out.hasRemaining() && sink().write(out) > 0) {
                lastActivityNs = System.nanoTime();
            }
            if (out.hasRemaining()) {
                backlogWith(out.remaining()).put(out);
                sink().resumeWrites();
            } else if (!sink().flush()) {
                sink().resumeWrites();
            }
        } catch (IOException e) {
            abort();
        } finally {
            out.clear();
        }
    }

    /** Writes what the socket takes of the backlog; drops it once empty and then finishes what waited for it. */
    private void writeBacklog() {
        ByteBuffer b = backlog.flip();
        try {
            while (b.hasRemaining() && sink().write(b) > 0) {
                lastActivityNs = System.nanoTime();
            }
        } catch (IOException e) {
            b.clear();
            abort();
            return;
        }
        if (b.hasRemaining()) {
            b.compact();
            sink().resumeWrites();
            return;
        }
        backlog = null;
        sink().suspendWrites();
        backlogWritten();
    }

    /** Everything this connection wrote has reached the socket. */
    private void backlogWritten() {
        if (closeFrameSent && !closeFrameFlushed) {
            closeFrameWritten();
        }
        ByteBuffer ping = latestPing;
        if (ping != null) {
            latestPing = null;
            answer(ping);
        }
    }

    private void checkWritable() {
        if (unwritable && pendingBytes() < settings.lowWaterBytes()) {
            unwritable = false;
            if (!reported && !closing) {
                try {
                    listener.onWritable();
                } catch (RuntimeException e) {
                    report(settings.errorHandler(), "transport.onWritable", e);
                }
            }
        }
    }

    // ------------------------------------------------------------------ reads

    private void readReady() {
        if (socketEnded || readsSuspended) {
            return;
        }
        ByteBuffer in = buffers.read.clear();
        if (carry != null) {
            in.put(carry);
            carry = null;
        }
        for (int reads = 0; reads < MAX_READS_PER_EVENT; reads++) {
            int n;
            try {
                n = source().read(in);
            } catch (IOException e) {
                n = -1;
            }
            in.flip();
            if (n > 0) {
                lastActivityNs = System.nanoTime();
            }
            parse(in);
            if (socketEnded) {
                return;
            }
            if (in.hasRemaining()) {
                // Reads were suspended between two messages: keep the rest for when they resume.
                carry = ByteBuffer.allocate(in.remaining()).put(in).flip();
                break;
            }
            if (n < 0) {
                endOfStream();
                return;
            }
            if (in.limit() < in.capacity() || readsSuspended) {
                // The socket had less than the buffer holds: it is drained, and another read would
                // only cost a system call to return 0 (the selector reports what comes next).
                break;
            }
            in.clear();
        }
        watchMessageDeadline();
    }

    private void parse(ByteBuffer in) {
        while (in.hasRemaining() && !readsSuspended && !socketEnded) {
            if (reader.done() || readBroken) {
                in.position(in.limit()); // after a violation or the peer's close: discarded
                return;
            }
            reader.read(in, events);
        }
    }

    /** Arms the message read deadline when a read ended inside a message, and disarms it between messages. */
    private void watchMessageDeadline() {
        if (reader.idle() || closing) {
            partial = false;
            readDeadline = cancel(readDeadline);
            return;
        }
        long boundaries = reader.boundaries();
        if (!partial || boundaries != boundariesSeen) {
            partialSinceNs = System.nanoTime(); // a new message (or frame) began in this read
            boundariesSeen = boundaries;
            partial = true;
        }
        if (readDeadline == null) {
            armReadDeadline(settings.messageReadTimeoutMs());
        }
    }

    private void armReadDeadline(long delayMs) {
        try {
            readDeadline = socket.getIoThread().executeAfter(this::readDeadlinePassed, Math.max(1, delayMs), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            readDeadline = null;
        }
    }

    private void readDeadlinePassed() {
        readDeadline = null;
        if (!partial || closing || reported) {
            return;
        }
        long leftMs = settings.messageReadTimeoutMs() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - partialSinceNs);
        if (leftMs > 0) {
            armReadDeadline(leftMs); // the message that began the wait completed; this one began later
        } else if (CLOSE_REQUESTED.compareAndSet(this, false, true)) {
            // Stuck inside a frame, the peer's answer to our close would be read as that frame's
            // payload: no close frame can come, so end our side once ours is out (halfClose),
            // rather than waiting out the close timeout.
            readBroken = reader.inFrame();
            closeLocally(CloseCodes.PROTOCOL_ERROR, "message not completed in time");
        }
    }

    private void endOfStream() {
        if (!reported) {
            reportClosed(CloseCodes.ABNORMAL, "", false);
        }
        closing = true;
        closeSocket();
    }

    // ------------------------------------------------------------------ inbound events

    private void messageArrived(ByteBuffer data, boolean binary) {
        if (closing || reported) {
            return;
        }
        try {
            listener.onFrame(data, binary);
        } catch (RuntimeException e) {
            report(settings.errorHandler(), "transport.onFrame", e);
        }
    }

    /** Counts a ping; the one over the limit closes the connection with 1008. False if it closed. */
    private boolean pingAllowed() {
        int max = settings.maxPingsPerMinute();
        if (max == 0) {
            return true;
        }
        long now = System.nanoTime();
        if (pingsInWindow == 0 || now - pingWindowStartNs >= PING_WINDOW_NS) {
            pingWindowStartNs = now;
            pingsInWindow = 0;
        }
        if (++pingsInWindow > max) {
            if (CLOSE_REQUESTED.compareAndSet(this, false, true)) {
                closeLocally(CloseCodes.POLICY_VIOLATION, "too many pings");
            }
            return false;
        }
        return true;
    }

    private void pingArrived(ByteBuffer payload) {
        if (!pingAllowed() || closing || reported) {
            return;
        }
        if (backlog != null) {
            ByteBuffer kept = latestPing == null ? ByteBuffer.allocate(MAX_CONTROL_PAYLOAD) : latestPing.clear();
            latestPing = kept.put(payload).flip();
            return;
        }
        answer(payload);
    }

    /** Sends a pong with {@code payload} now. */
    private void answer(ByteBuffer payload) {
        if (closing || reported) {
            return;
        }
        send(FrameReader.OP_PONG, new ByteBuffer[] {payload}, payload.remaining());
        flushAll();
    }

    /** The peer's close frame arrived. */
    private void closedByPeer(int code, String reason) {
        closeFrameArrived = true;
        if (closing) {
            // The answer to our own close frame: the closing handshake is complete.
            if (closeFrameFlushed) {
                closeSocket();
            }
            return;
        }
        closing = true;
        reportClosed(code, reason, false);
        sendClose(code == NO_STATUS || !isSendable(code) ? CloseCodes.NORMAL : code, "");
    }

    /** The peer broke the protocol: close with the reader's code. */
    private void violated(int code, String reason) {
        readBroken = true;
        if (closing) {
            if (closeFrameFlushed) {
                halfClose();
            }
            return;
        }
        closing = true;
        reportClosed(code, reason, false);
        sendClose(code, reason);
    }

    // ------------------------------------------------------------------ closing

    /** A close asked for by the engine (or by this transport for a deadline or a limit). */
    private void closeLocally(int code, String reason) {
        if (closing || reported) {
            return;
        }
        closing = true;
        String wireReason = truncate(reason);
        sendClose(sendable(code), wireReason);
        reportClosed(code, wireReason, true);
        if (!socketEnded) {
            // The peer's answer must be read; messages that come before it are dropped.
            resumeReads();
        }
    }

    /** Sends our close frame and waits a bounded time for what follows it. */
    private void sendClose(int code, String reason) {
        if (socketEnded || closeFrameSent) {
            return;
        }
        closeFrameSent = true;
        ByteBuffer frame = closeFrame(code, reason);
        ByteBuffer payload = frame.position(2);
        send(FrameReader.OP_CLOSE, new ByteBuffer[] {payload}, payload.remaining());
        flushAll();
        if (socketEnded) {
            return;
        }
        if (backlog == null) {
            closeFrameWritten();
        }
        armCloseTimer();
    }

    /** A whole close frame, its header included. */
    private static ByteBuffer closeFrame(int code, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + text.length).put((byte) (0x80 | FrameReader.OP_CLOSE))
                .put((byte) (2 + text.length)).putShort((short) code).put(text).flip();
    }

    /** Our close frame reached the socket. */
    private void closeFrameWritten() {
        closeFrameFlushed = true;
        if (closeFrameArrived) {
            closeSocket(); // both close frames exchanged
        } else if (readBroken) {
            halfClose();
        }
    }

    /**
     * After a violation: no close frame can be parsed from this peer, so end our side with a
     * FIN and close when the peer closes (or at the close timeout), reading and discarding
     * meanwhile, so that the socket never closes with unread bytes (a reset).
     */
    private void halfClose() {
        try {
            sink().shutdownWrites();
            sink().flush();
        } catch (IOException e) {
            closeSocket();
        }
    }

    /** The socket broke while writing. */
    private void abort() {
        closing = true;
        closeSocket();
        reportClosed(CloseCodes.ABNORMAL, "", true);
    }

    private void armCloseTimer() {
        if (closeTimer == null && !socketEnded) {
            try {
                closeTimer = socket.getIoThread().executeAfter(this::closeSocket, settings.closeTimeoutMs(),
                        TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                closeSocket();
            }
        }
    }

    /**
     * Ends the socket: from {@link SocketCloser}'s thread, in constant time, rather than on this
     * I/O thread, where XNIO's close costs time in proportion to the other sockets closing at
     * once. No more I/O is done from here on; {@link #socketClosed} follows.
     */
    private void closeSocket() {
        if (!socketEnded) {
            socketEnded = true;
            source().suspendReads();
            sink().suspendWrites();
            SocketCloser.close(socket);
        }
    }

    /** The idle sweep's look at this connection (its I/O thread): closes it once idle for its timeout. */
    void idleCheck(long nowNs) {
        if (!socketEnded && !closing && TimeUnit.NANOSECONDS.toMillis(nowNs - lastActivityNs) >= settings.idleTimeoutMs()
                && CLOSE_REQUESTED.compareAndSet(this, false, true)) {
            closeLocally(CloseCodes.GOING_AWAY, "");
        }
    }

    /** The socket is closed: the last event of this connection. */
    private void socketClosed() {
        if (!inIoThread()) {
            try {
                socket.getIoThread().execute(this::socketClosed);
                return;
            } catch (RejectedExecutionException e) {
                // The I/O thread is gone: finish here.
            }
        }
        if (socketGone) {
            return;
        }
        socketGone = true;
        socketEnded = true;
        openConnections.remove(this);
        buffers.unwatchIdle(this);
        closeTimer = cancel(closeTimer);
        readDeadline = cancel(readDeadline);
        closing = true;
        if (buffers.writer == this) {
            buffers.writer = null;
            buffers.write.clear();
        }
        backlog = null;
        carry = null;
        latestPing = null;
        if (!reported) {
            reportClosed(CloseCodes.ABNORMAL, "", false);
        }
    }

    /** Removes {@code timer} if there is one; returns null, for the field that held it. */
    private static XnioExecutor.Key cancel(XnioExecutor.Key timer) {
        if (timer != null) {
            timer.remove();
        }
        return null;
    }

    private void reportClosed(int code, String reason, boolean later) {
        if (reported) {
            return;
        }
        reported = true;
        if (later) {
            try {
                socket.getIoThread().execute(() -> deliverClosed(code, reason));
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
            report(settings.errorHandler(), "transport.onClosed", e);
        }
    }

    /** The socket's reading side (the socket's own field: not copied into each connection). */
    private ConduitStreamSourceChannel source() {
        return socket.getSourceChannel();
    }

    /** The socket's writing side. */
    private ConduitStreamSinkChannel sink() {
        return socket.getSinkChannel();
    }

    /** The socket's read, write and close events and the reader's, in one object per connection. */
    private final class Events implements ChannelListener<Channel>, FrameReader.Handler {

        @Override
        public void handleEvent(Channel channel) {
            if (channel == source()) {
                readReady();
            } else if (channel == socket) {
                socketClosed(); // the close listener
            } else {
                if (backlog != null) {
                    writeBacklog();
                } else {
                    // A flush the conduit could not finish at once, or a spurious wake-up.
                    try {
                        if (sink().flush()) {
                            sink().suspendWrites();
                        }
                    } catch (IOException e) {
                        abort();
                    }
                }
                checkWritable();
            }
        }

        @Override
        public void onMessage(ByteBuffer data, boolean binary) {
            messageArrived(data, binary);
        }

        @Override
        public void onPing(ByteBuffer payload) {
            pingArrived(payload);
        }

        @Override
        public void onClose(int code, String reason) {
            closedByPeer(code, reason);
        }

        @Override
        public void onViolation(int code, String reason) {
            violated(code, reason);
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
