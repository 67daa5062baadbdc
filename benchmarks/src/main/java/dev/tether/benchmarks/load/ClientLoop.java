package dev.tether.benchmarks.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * One selector thread driving its share of the connections: loop {@code i} of {@code L} owns the
 * connections whose run index is {@code i, i+L, i+2L, ...}. It opens them at their intended times,
 * does the WebSocket handshake and framing itself (RFC 6455 client: masked frames, no extensions),
 * answers heartbeats, sends its share of echo requests at their intended times and records
 * latencies. Pacing comes from the loop's own clock: each iteration does what is due and selects
 * until the next thing is.
 *
 * <p>Threading: everything here runs on the loop's thread except {@link #start()},
 * {@link #wakeup()}, {@link #rampDone()} and {@link #finished()}; the histograms and
 * {@link #cpuNs()} are read by the coordinator after {@link Thread#join()}.
 */
final class ClientLoop implements Runnable {

    private static final String WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    /** Largest server message accepted; the read buffer holds a whole frame. */
    private static final int MAX_FRAME_BYTES = 256 * 1024;
    private static final int MAX_HEADER_BYTES = 16 * 1024;
    /** Unwritten output one connection may hold before it is counted as failed. */
    private static final int MAX_PENDING_BYTES = 4 * 1024 * 1024;
    private static final long CLOSE_WAIT_NS = TimeUnit.SECONDS.toNanos(5);
    private static final long SWEEP_EVERY_NS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Bounds the work of one iteration so reads are never starved by a catch-up burst. */
    private static final int MAX_DUE_PER_ITERATION = 2_000;
    private static final long HIGHEST_TRACKABLE_US = TimeUnit.SECONDS.toMicros(600);
    /** Storm reconnect backoff (Tether): attempt n waits uniformly in [0, min(cap, base * 2^n)]. */
    static final long BACKOFF_BASE_NS = TimeUnit.MILLISECONDS.toNanos(100);
    static final long BACKOFF_CAP_NS = TimeUnit.SECONDS.toNanos(5);
    /** Storm reconnect backoff (Socket.IO): socket.io-client's defaults, see {@link #socketIoBackoffMs}. */
    static final long SOCKETIO_RECONNECTION_DELAY_MS = 1000;
    static final long SOCKETIO_RECONNECTION_DELAY_MAX_MS = 5000;
    static final double SOCKETIO_RANDOMIZATION_FACTOR = 0.5;

    private final int loopIndex;
    private final int loopCount;
    private final LoadOptions options;
    private final RunControl control;
    private final InetAddress[] sources;
    /** {@link LoadOptions#targets()}, and the upgrade request up to its key for each (its Host differs). */
    private final InetSocketAddress[] targets;
    private final byte[][] upgradeTemplates;
    private final Selector selector;
    private final AppProtocol protocol;
    private final ClientConnection[] connections;
    private final Thread thread;

    private final ByteBuffer in = ByteBuffer.allocate(MAX_FRAME_BYTES + 16);
    private final ByteBuffer out = ByteBuffer.allocateDirect(MAX_FRAME_BYTES + 16);
    private final byte[] mask = new byte[4];
    private final MessageDigest sha1;

    /** Handshake latency, connect start to welcome / 40, in microseconds. */
    final Histogram handshakeUs = new Histogram(HIGHEST_TRACKABLE_US, 3);
    /** Echo round trip from the intended send time, in microseconds. */
    final Histogram latencyUs = new Histogram(HIGHEST_TRACKABLE_US, 3);
    /**
     * Echo search: the round trips of the current step, and of its second half; the coordinator takes
     * each step's interval histogram while this thread records (null in other scenarios).
     */
    final SingleWriterRecorder stepLatencyUs;
    final SingleWriterRecorder stepSecondHalfUs;

    private int nextToOpen;
    private int unresolved;
    private int live;
    private long echoIndex;
    private int echoCursor;
    private long echoStartNs;
    private long nextSweepNs;
    private boolean closing;
    private long closeDeadlineNs;
    private volatile boolean rampDone;
    private volatile boolean finished;
    private volatile boolean aborted;
    private long cpuNs;
    private long lastJoinedNs;

    // ---- broadcast / storm (this thread only; read by the coordinator after join)
    /** Per publish k: healthy deliveries this loop saw, and the time of the last one. */
    final int[] broadcastCount;
    final long[] broadcastLastNs;
    /** Storm / failover: nanoseconds from the cut or loss to each resume ({@code resumed:true}) of this loop. */
    final long[] resumeNs;
    int resumeCount;
    /** Storm / failover: when the last resume of this loop was welcomed (0: none). */
    long lastResumedAtNs;
    private long publishIndex;
    private boolean stormDone;
    private boolean drainStarted;
    private final PriorityQueue<ClientConnection> reconnects =
            new PriorityQueue<>((a, b) -> Long.compare(a.reconnectAtNs - b.reconnectAtNs, 0));

    ClientLoop(int loopIndex, int loopCount, LoadOptions options, RunControl control, InetAddress[] sources)
            throws IOException {
        this.loopIndex = loopIndex;
        this.loopCount = loopCount;
        this.options = options;
        this.control = control;
        this.sources = sources;
        this.targets = options.targets().toArray(new InetSocketAddress[0]);
        this.selector = Selector.open();
        this.protocol = AppProtocol.of(options.protocol(), this);
        int mine = (options.totalConnections() - loopIndex + loopCount - 1) / loopCount;
        this.connections = new ClientConnection[Math.max(0, mine)];
        boolean fanout = options.scenario().fanout();
        this.broadcastCount = new int[fanout ? (int) options.plannedPublishes() : 0];
        this.broadcastLastNs = new long[broadcastCount.length];
        this.resumeNs = new long[options.scenario().resumes() ? connections.length : 0];
        this.unresolved = connections.length;
        boolean search = options.scenario() == Scenario.ECHO_SEARCH;
        this.stepLatencyUs = search ? new SingleWriterRecorder(HIGHEST_TRACKABLE_US, 3) : null;
        this.stepSecondHalfUs = search ? new SingleWriterRecorder(HIGHEST_TRACKABLE_US, 3) : null;
        this.upgradeTemplates = new byte[targets.length][];
        for (int t = 0; t < targets.length; t++) {
            upgradeTemplates[t] = ("GET " + options.path() + " HTTP/1.1\r\nHost: " + targets[t].getAddress().getHostAddress()
                    + ":" + targets[t].getPort() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ").getBytes(StandardCharsets.US_ASCII);
        }
        try {
            this.sha1 = MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JDK", e);
        }
        this.thread = new Thread(this, "load-loop-" + loopIndex);
    }

    void start() {
        thread.start();
    }

    void wakeup() {
        selector.wakeup();
    }

    void join(long timeoutMs) throws InterruptedException {
        thread.join(Math.max(1, timeoutMs));
    }

    /** Every connection of this loop has been tried and is open, failed or closed. */
    boolean rampDone() {
        return rampDone;
    }

    boolean finished() {
        return finished;
    }

    boolean aborted() {
        return aborted;
    }

    /** When the last connection of this loop was welcomed (0 if none); valid after it finished. */
    long lastJoinedNs() {
        return lastJoinedNs;
    }

    /** CPU time of the loop's thread; valid after it finished. */
    long cpuNs() {
        return cpuNs;
    }

    @Override
    public void run() {
        try {
            loop();
        } catch (IOException | RuntimeException e) {
            System.err.println("load-loop-" + loopIndex + " failed: " + e);
            aborted = true;
        } finally {
            for (ClientConnection c : connections) {
                if (c != null && c.state != ClientConnection.CLOSED && c.state != ClientConnection.IDLE) {
                    forceClose(c);
                }
            }
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
            cpuNs = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            rampDone = true;
            finished = true;
        }
    }

    private void loop() throws IOException {
        while (true) {
            long now = System.nanoTime();
            if (now - control.hardDeadlineNs > 0) {
                aborted = true;
                return;
            }
            int phase = control.phase;
            long nextDueNs = now + TimeUnit.MILLISECONDS.toNanos(100);
            if (phase == RunControl.CLOSE) {
                if (!closing) {
                    beginClose(now);
                }
                if (live == 0 || now - closeDeadlineNs > 0) {
                    return;
                }
            } else {
                nextDueNs = Math.min(nextDueNs, openDue(now));
                if (phase == RunControl.RUN && options.scenario().echoes()) {
                    nextDueNs = Math.min(nextDueNs, sendDue(now));
                }
                if (phase == RunControl.RUN && options.scenario().fanout()) {
                    if (loopIndex == 0) {
                        nextDueNs = Math.min(nextDueNs, publishDue(now));
                    }
                    if (options.scenario() == Scenario.STORM && !stormDone) {
                        long at = control.stormAtNs;
                        if (now - at >= 0) {
                            cutAll(now);
                        } else {
                            nextDueNs = Math.min(nextDueNs, at);
                        }
                    }
                    if (options.scenario().resumes()) {
                        nextDueNs = Math.min(nextDueNs, reconnectDue(now));
                    }
                    if (control.drainStalled && !drainStarted) {
                        startDrain();
                    }
                }
            }
            if (now - nextSweepNs >= 0) {
                sweepHandshakeTimeouts(now);
                nextSweepNs = now + SWEEP_EVERY_NS;
            }
            if (!rampDone && nextToOpen == connections.length && unresolved == 0) {
                rampDone = true;
            }
            long waitNs = nextDueNs - System.nanoTime();
            if (waitNs <= 0) {
                selector.selectNow(this::onReady);
            } else {
                selector.select(this::onReady, Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNs)));
            }
        }
    }

    /** Opens the connections whose intended time has come; returns when the next one is due. */
    private long openDue(long now) {
        int opened = 0;
        while (nextToOpen < connections.length && opened < MAX_DUE_PER_ITERATION) {
            long due = intendedOpenNs(nextToOpen);
            if (due - now > 0) {
                return due;
            }
            int index = loopIndex + nextToOpen * loopCount;
            ClientConnection c = new ClientConnection(index);
            c.slot = nextToOpen;
            c.target = index % targets.length;
            if (options.scenario().fanout()) {
                c.publisher = index == 0;
                c.subscriber = index != 0;
                c.stalled = index >= 1 && index <= options.stalledSubscribers();
            }
            connections[nextToOpen++] = c;
            connect(c, now);
            opened++;
        }
        return nextToOpen < connections.length ? now : Long.MAX_VALUE;
    }

    private long intendedOpenNs(int k) {
        long index = loopIndex + (long) k * loopCount;
        return control.epochNs + index * 1_000_000_000L / options.connectRate();
    }

    private void connect(ClientConnection c, long now) {
        if (c.reconnecting) {
            control.reconnectAttempts.incrementAndGet();
            c.resumeAttempt++;
        } else {
            control.attempted.incrementAndGet();
        }
        c.connectStartNs = now;
        c.state = ClientConnection.CONNECTING;
        try {
            SocketChannel ch = SocketChannel.open();
            c.channel = ch;
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(new InetSocketAddress(sources[c.index % sources.length], 0));
            if (ch.connect(targets[c.target])) {
                c.key = ch.register(selector, SelectionKey.OP_READ, c);
                writeUpgrade(c);
            } else {
                c.key = ch.register(selector, SelectionKey.OP_CONNECT, c);
            }
        } catch (IOException e) {
            fail(c, "connect: " + e.getMessage());
        }
    }

    private void onReady(SelectionKey key) {
        ClientConnection c = (ClientConnection) key.attachment();
        try {
            if (!key.isValid()) {
                return;
            }
            if (key.isConnectable()) {
                if (c.channel.finishConnect()) {
                    key.interestOps(SelectionKey.OP_READ);
                    writeUpgrade(c);
                }
                return;
            }
            if (key.isWritable()) {
                flushPending(c);
            }
            if (key.isValid() && key.isReadable()) {
                read(c);
            }
        } catch (IOException e) {
            lost(c, e.getMessage());
        }
    }

    private void writeUpgrade(ClientConnection c) {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        c.webSocketKey = Base64.getEncoder().encodeToString(nonce);
        c.state = ClientConnection.UPGRADING;
        out.clear();
        out.put(upgradeTemplates[c.target]).put(c.webSocketKey.getBytes(StandardCharsets.US_ASCII))
                .put((byte) '\r').put((byte) '\n').put((byte) '\r').put((byte) '\n');
        out.flip();
        write(c);
    }

    private void read(ClientConnection c) throws IOException {
        for (int round = 0; round < 4 && c.state != ClientConnection.CLOSED; round++) {
            in.clear();
            if (c.carryLength > 0) {
                in.put(c.carry, 0, c.carryLength);
                c.carryLength = 0;
            }
            int n = c.channel.read(in);
            boolean full = !in.hasRemaining();
            if (n < 0) {
                lost(c, "end of stream");
                return;
            }
            int end = in.position();
            int consumed = parse(c, in.array(), end);
            if (c.state == ClientConnection.CLOSED) {
                return;
            }
            int rest = end - consumed;
            if (rest > 0) {
                if (c.carry == null || c.carry.length < rest) {
                    c.carry = new byte[Math.max(rest, 512)];
                }
                System.arraycopy(in.array(), consumed, c.carry, 0, rest);
                c.carryLength = rest;
                if (c.state == ClientConnection.UPGRADING && rest > MAX_HEADER_BYTES) {
                    fail(c, "upgrade response headers too large");
                    return;
                }
            } else if (c.carry != null && c.carry.length > 4096) {
                c.carry = null;
            }
            if (!full || n == 0) {
                return;
            }
        }
    }

    /** Parses what it can of {@code a[0..end)}; returns how many bytes it consumed. */
    private int parse(ClientConnection c, byte[] a, int end) {
        int p = 0;
        long now = System.nanoTime();
        if (c.state == ClientConnection.UPGRADING) {
            int headerEnd = indexOfHeaderEnd(a, end);
            if (headerEnd < 0) {
                return 0;
            }
            if (!upgradeAccepted(c, new String(a, 0, headerEnd, StandardCharsets.ISO_8859_1))) {
                return end;
            }
            c.state = ClientConnection.JOINING;
            protocol.onUpgraded(c);
            p = headerEnd + 4;
        }
        while (p < end && c.state != ClientConnection.CLOSED) {
            if (end - p < 2) {
                break;
            }
            int b0 = a[p] & 0xFF;
            int b1 = a[p + 1] & 0xFF;
            if ((b1 & 0x80) != 0 || (b0 & 0x70) != 0) {
                protocolError(c, "masked or extended server frame");
                return end;
            }
            int header = 2;
            long length = b1 & 0x7F;
            if (length == 126) {
                if (end - p < 4) {
                    break;
                }
                length = ((a[p + 2] & 0xFF) << 8) | (a[p + 3] & 0xFF);
                header = 4;
            } else if (length == 127) {
                if (end - p < 10) {
                    break;
                }
                length = 0;
                for (int k = 2; k < 10; k++) {
                    length = (length << 8) | (a[p + k] & 0xFF);
                }
                header = 10;
            }
            if (length > MAX_FRAME_BYTES) {
                protocolError(c, "server frame of " + length + " bytes");
                return end;
            }
            if (end - p < header + length) {
                break;
            }
            onFrame(c, (b0 & 0x80) != 0, b0 & 0x0F, a, p + header, (int) length, now);
            p += header + (int) length;
        }
        return p;
    }

    private void onFrame(ClientConnection c, boolean fin, int opcode, byte[] a, int off, int len, long now) {
        switch (opcode) {
            case 0x1 -> {
                if (fin) {
                    protocol.onText(c, a, off, len, now);
                } else {
                    c.fragmentLength = 0;
                    appendFragment(c, a, off, len);
                }
            }
            case 0x0 -> {
                appendFragment(c, a, off, len);
                if (fin && c.fragment != null) {
                    byte[] whole = c.fragment;
                    int wholeLength = c.fragmentLength;
                    c.fragment = null;
                    c.fragmentLength = 0;
                    protocol.onText(c, whole, 0, wholeLength, now);
                }
            }
            case 0x2 -> {
                // Neither protocol sends binary frames in these scenarios.
            }
            case 0x8 -> onServerClose(c, len >= 2 ? ((a[off] & 0xFF) << 8) | (a[off + 1] & 0xFF) : 1005);
            case 0x9 -> {
                sendFrame(c, 0xA, a, off, len);
                pingAnswered();
            }
            case 0xA -> {
                // unsolicited pong: ignored
            }
            default -> protocolError(c, "unknown opcode " + opcode);
        }
    }

    private void appendFragment(ClientConnection c, byte[] a, int off, int len) {
        if (c.fragment == null) {
            c.fragment = new byte[Math.max(1024, len)];
        }
        if (c.fragmentLength + len > MAX_FRAME_BYTES) {
            protocolError(c, "fragmented message too large");
            return;
        }
        if (c.fragmentLength + len > c.fragment.length) {
            c.fragment = Arrays.copyOf(c.fragment, Math.max(c.fragment.length * 2, c.fragmentLength + len));
        }
        System.arraycopy(a, off, c.fragment, c.fragmentLength, len);
        c.fragmentLength += len;
    }

    private boolean upgradeAccepted(ClientConnection c, String head) {
        String[] lines = head.split("\r\n");
        if (lines.length > 0 && lines[0].startsWith("HTTP/1.1 503")) {
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0 && lines[i].substring(0, colon).trim().equalsIgnoreCase("retry-after")) {
                    try {
                        c.retryAfterMs = Math.max(0, Long.parseLong(lines[i].substring(colon + 1).trim())) * 1000;
                    } catch (NumberFormatException ignored) {
                        // an HTTP date: not sent by Tether; the backoff alone applies
                    }
                }
            }
        }
        if (lines.length == 0 || !lines[0].startsWith("HTTP/1.1 101")) {
            fail(c, "upgrade refused: " + (lines.length == 0 ? "" : lines[0]));
            return false;
        }
        sha1.reset();
        String expected = Base64.getEncoder().encodeToString(
                sha1.digest((c.webSocketKey + WEBSOCKET_GUID).getBytes(StandardCharsets.US_ASCII)));
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("sec-websocket-accept")) {
                if (lines[i].substring(colon + 1).trim().equals(expected)) {
                    return true;
                }
                break;
            }
        }
        fail(c, "upgrade without a valid Sec-WebSocket-Accept");
        return false;
    }

    private static int indexOfHeaderEnd(byte[] a, int end) {
        for (int i = 0; i + 3 < end; i++) {
            if (a[i] == '\r' && a[i + 1] == '\n' && a[i + 2] == '\r' && a[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }

    // ---- called by the AppProtocol, on this thread

    /** Sends one masked text frame. */
    void sendText(ClientConnection c, byte[] text, int length) {
        sendFrame(c, 0x1, text, 0, length);
    }

    void joined(ClientConnection c, long now) {
        c.state = ClientConnection.OPEN;
        unresolved--;
        live++;
        lastJoinedNs = now;
        control.connected.incrementAndGet();
        control.open.incrementAndGet();
        handshakeUs.recordValue(Math.min(HIGHEST_TRACKABLE_US, TimeUnit.NANOSECONDS.toMicros(now - c.connectStartNs)));
    }

    // ---- broadcast / storm, called by the AppProtocol

    /** Storm: the welcome of a reconnect, {@code resumed} or a fresh session. */
    void rejoined(ClientConnection c, boolean resumed, long now) {
        c.state = ClientConnection.OPEN;
        c.reconnecting = false;
        c.failures = 0;
        live++;
        control.open.incrementAndGet();
        if (resumed) {
            control.resumed.incrementAndGet();
            if (resumeCount < resumeNs.length) {
                resumeNs[resumeCount++] = now - c.cutNs;
            }
            lastResumedAtNs = now;
        } else {
            control.resumedFalse.incrementAndGet();
            noteFirstErrors("resumed:false for " + c.index);
        }
    }

    /**
     * Storm, Socket.IO: a reconnect got its {@code 40}, a fresh session that is already back in the
     * room (the peer's broadcast mode joins every socket on connection). Counted as Tether's resumes
     * are, as back and receiving; what was published meanwhile is lost (no replay), which the
     * subscriber's next message shows as a hole in the publish numbers.
     */
    void reconnected(ClientConnection c, long now) {
        rejoined(c, true, now);
    }

    /** The subscription is in place ({@code ok}, or Socket.IO's connect in broadcast mode). */
    void subscribed(ClientConnection c) {
        if (c.subscribed) {
            return;
        }
        c.subscribed = true;
        control.subscribed.incrementAndGet();
        if (c.stalled) {
            control.stalledSubscribed.incrementAndGet();
            if (c.key != null && c.key.isValid()) {
                c.key.interestOps(readInterest(c) | (c.pending != null ? SelectionKey.OP_WRITE : 0));
            }
        }
    }

    /** One broadcast message carrying its intended publish time received by a subscriber. */
    void delivery(ClientConnection c, long intendedNs, long now) {
        c.seen++;
        if (c.stalled) {
            control.stalledDelivered.incrementAndGet();
            checkStalledResolved(c);
            return;
        }
        control.delivered.incrementAndGet();
        c.delivered++;
        long latencyNs = now - (control.epochNs + intendedNs);
        latencyUs.recordValue(Math.max(0, Math.min(HIGHEST_TRACKABLE_US, TimeUnit.NANOSECONDS.toMicros(latencyNs))));
        long seq = publishSeq(intendedNs);
        if (seq == 0) {
            protocolNotice(c, "broadcast with an unknown intended time " + intendedNs);
            return;
        }
        int slot = (int) (seq - 1);
        broadcastCount[slot]++;
        if (now - broadcastLastNs[slot] > 0 || broadcastLastNs[slot] == 0) {
            broadcastLastNs[slot] = now;
        }
    }

    /**
     * The number, from 1, of the publish whose intended time (relative to the run's epoch) is
     * {@code intendedNs}; 0 if no publish of the run has that time. Publish k (from 0) is intended
     * exactly at {@code sendStart + k * 10^9 / rate}, so the time a message carries numbers it:
     * Socket.IO subscribers find holes and duplicates with it, as Tether's do with the server's seq.
     */
    long publishSeq(long intendedNs) {
        long offset = intendedNs - (control.sendStartNs - control.epochNs);
        long rate = options.messageRate();
        long k = offset < 0 ? -1 : (offset * rate + 999_999_999L) / 1_000_000_000L;
        return k < 0 || k >= broadcastCount.length || k * 1_000_000_000L / rate != offset ? 0 : k + 1;
    }

    /**
     * Broadcast / storm, after the loop finished: of this loop's healthy subscribers, how many
     * received fewer than {@code published} messages, and the most one of them missed.
     */
    long[] subscriberLoss(long published) {
        long missing = 0;
        long most = 0;
        for (ClientConnection c : connections) {
            if (c == null || !c.subscriber || c.stalled || !c.subscribed) {
                continue;
            }
            long missed = Math.max(0, published - c.delivered);
            if (missed > 0) {
                missing++;
                most = Math.max(most, missed);
            }
        }
        return new long[] {missing, most};
    }

    /**
     * Checks a delivery's sequence number against the last one this connection got: false for a
     * duplicate (counted); a jump past the next one counts the skipped numbers as a hole. The
     * caller records {@code seq} as delivered.
     */
    boolean acceptSeq(ClientConnection c, long seq) {
        if (seq <= c.highestSeq) {
            control.duplicates.incrementAndGet();
            return false;
        }
        if (seq > c.highestSeq + 1) {
            seqHole(c, seq - c.highestSeq - 1);
        }
        return true;
    }

    /** {@code missing} messages skipped by a seq jump. */
    void seqHole(ClientConnection c, long missing) {
        if (!c.stalled) {
            control.seqHoles.addAndGet(missing);
        }
    }

    /** A gap frame: {@code lost} messages lost for good. */
    void gapFrame(ClientConnection c, long lost) {
        c.seen += lost;
        if (c.stalled) {
            checkStalledResolved(c);
        } else {
            control.gapLost.addAndGet(lost);
        }
    }

    private void checkStalledResolved(ClientConnection c) {
        if (c.stalled && !c.resolved && control.drainStalled && c.seen >= control.publishedFinal) {
            c.resolved = true;
            control.stalledResolved.incrementAndGet();
        }
    }

    private int readInterest(ClientConnection c) {
        return c.stalled && c.subscribed && !drainStarted ? 0 : SelectionKey.OP_READ;
    }

    /** Sends the publishes whose intended time has come (loop 0, the publisher's); returns when the next is due. */
    private long publishDue(long now) {
        long start = control.sendStartNs;
        long stop = control.sendEndNs;
        ClientConnection publisher = connections.length > 0 ? connections[0] : null;
        int sentNow = 0;
        while (sentNow < MAX_DUE_PER_ITERATION) {
            long intended = start + publishIndex * 1_000_000_000L / options.messageRate();
            if (intended - stop >= 0) {
                return Long.MAX_VALUE;
            }
            if (intended - now > 0) {
                return intended;
            }
            publishIndex++;
            sentNow++;
            if (publisher == null || publisher.state != ClientConnection.OPEN) {
                control.unsent.incrementAndGet();
            } else {
                control.published.incrementAndGet();
                protocol.sendPublish(publisher, intended - control.epochNs);
            }
        }
        return now;
    }

    private void startDrain() {
        drainStarted = true;
        for (ClientConnection c : connections) {
            if (c == null || !c.stalled) {
                continue;
            }
            if (c.state == ClientConnection.CLOSED) {
                if (!c.resolved) {
                    c.resolved = true;
                    control.stalledResolved.incrementAndGet();
                }
            } else if (c.key != null && c.key.isValid()) {
                c.key.interestOps(SelectionKey.OP_READ | (c.pending != null ? SelectionKey.OP_WRITE : 0));
                checkStalledResolved(c);
            }
        }
    }

    /**
     * Storm: cuts every open subscriber of this loop at once (RST: SO_LINGER 0). A Tether subscriber
     * whose welcome carried no session to resume is left alone; a Socket.IO one has none to carry.
     */
    private void cutAll(long now) {
        stormDone = true;
        boolean needsSession = options.protocol() == WireProtocol.TETHER;
        for (ClientConnection c : connections) {
            if (c == null || !c.subscriber || c.state != ClientConnection.OPEN || (needsSession && c.sid == null)) {
                continue;
            }
            try {
                c.channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            } catch (IOException ignored) {
                // closing without it is still abrupt enough
            }
            closeChannel(c);
            live--;
            control.open.decrementAndGet();
            control.cut.incrementAndGet();
            c.state = ClientConnection.WAITING;
            c.reconnecting = true;
            c.cutNs = now;
            c.failures = 0;
            c.resumeAttempt = 0;
            schedule(c, now);
        }
    }

    /**
     * Schedules the next reconnect attempt of {@code c} after the backoff of its client library, to
     * the next of the {@code --targets} (the same server when there is one).
     */
    private void schedule(ClientConnection c, long now) {
        c.target = (c.target + 1) % targets.length;
        long wait;
        if (options.protocol() == WireProtocol.SOCKETIO) {
            wait = TimeUnit.MILLISECONDS.toNanos(socketIoBackoffMs(c.failures, ThreadLocalRandom.current().nextDouble()));
            // socket.io-client has no notion of Retry-After (and the peer never sends a 503).
            c.retryAfterMs = 0;
        } else {
            long ceiling = Math.min(BACKOFF_CAP_NS, BACKOFF_BASE_NS << Math.min(c.failures, 20));
            wait = ThreadLocalRandom.current().nextLong(ceiling + 1);
        }
        if (c.retryAfterMs > 0) {
            wait += TimeUnit.MILLISECONDS.toNanos(c.retryAfterMs);
            c.retryAfterMs = 0;
            control.retryAfterHonoured.incrementAndGet();
        }
        c.state = ClientConnection.WAITING;
        c.reconnectAtNs = now + wait;
        reconnects.add(c);
    }

    /**
     * The wait before reconnect attempt {@code attempts} (0 for the first after a disconnect) of
     * socket.io-client 4 with its default options {@code reconnectionDelay} 1000 ms,
     * {@code reconnectionDelayMax} 5000 ms and {@code randomizationFactor} 0.5, given
     * {@code rand} = {@code Math.random()}. The client's {@code Manager} calls its {@code Backoff}
     * ({@code contrib/backo2.js}) once per attempt and resets it after a successful reconnect:
     * <pre>
     * ms = reconnectionDelay * 2^attempts
     * deviation = floor(rand * randomizationFactor * ms)
     * ms = (floor(rand * 10) &amp; 1) == 0 ? ms - deviation : ms + deviation   // the same rand
     * wait = min(ms, reconnectionDelayMax) | 0
     * </pre>
     * This is not full jitter: the first reconnect comes 500..1500 ms after the cut, the second
     * 1000..3000 ms after that failed, and from the fourth on 4000..5000 ms (mostly the cap).
     */
    static long socketIoBackoffMs(int attempts, double rand) {
        double ms = SOCKETIO_RECONNECTION_DELAY_MS * Math.pow(2, Math.min(attempts, 30));
        double deviation = Math.floor(rand * SOCKETIO_RANDOMIZATION_FACTOR * ms);
        ms = ((long) Math.floor(rand * 10) & 1) == 0 ? ms - deviation : ms + deviation;
        return (long) Math.min(ms, SOCKETIO_RECONNECTION_DELAY_MAX_MS);
    }

    private long reconnectDue(long now) {
        int opened = 0;
        while (!reconnects.isEmpty() && opened < MAX_DUE_PER_ITERATION) {
            ClientConnection c = reconnects.peek();
            if (c.reconnectAtNs - now > 0) {
                return c.reconnectAtNs;
            }
            reconnects.poll();
            if (c.state == ClientConnection.WAITING) {
                connect(c, now);
                opened++;
            }
        }
        return reconnects.isEmpty() ? Long.MAX_VALUE : now;
    }

    /**
     * Failover: an open subscriber that lost its server during the run resumes its session on the
     * next server, as a storm's cut subscriber does; false if this connection does not fail over.
     */
    private boolean failOver(ClientConnection c, String why) {
        if (options.scenario() != Scenario.FAILOVER || control.phase != RunControl.RUN || !c.subscriber
                || c.stalled || c.sid == null) {
            return false;
        }
        long now = System.nanoTime();
        if (control.firstLossNs.compareAndSet(0, now)) {
            // Once per run: the first few error lines are kept for why the reconnects failed.
            System.err.println("load-loop-" + loopIndex + ": first subscriber lost its server, failing over: " + why);
        }
        closeChannel(c);
        live--;
        control.open.decrementAndGet();
        control.cut.incrementAndGet();
        c.reconnecting = true;
        c.cutNs = now;
        c.failures = 0;
        c.resumeAttempt = 0;
        schedule(c, now);
        return true;
    }

    /** Storm: a reconnect attempt failed before its welcome; try again after the backoff. */
    private boolean retry(ClientConnection c, String why) {
        if (!c.reconnecting || control.phase != RunControl.RUN) {
            return false;
        }
        control.reconnectFailures.incrementAndGet();
        String reason = why == null ? "?" : why.length() > 60 ? why.substring(0, 60) : why;
        control.reconnectFailureReasons.computeIfAbsent(reason, k -> new java.util.concurrent.atomic.AtomicLong())
                .incrementAndGet();
        noteFirstErrors("reconnect failed: " + why);
        closeChannel(c);
        c.failures++;
        schedule(c, System.nanoTime());
        return true;
    }

    private static void closeChannel(ClientConnection c) {
        c.pending = null;
        c.carry = null;
        c.carryLength = 0;
        c.fragment = null;
        c.fragmentLength = 0;
        if (c.key != null) {
            c.key.cancel();
            c.key = null;
        }
        if (c.channel != null) {
            try {
                c.channel.close();
            } catch (IOException ignored) {
                // already gone
            }
            c.channel = null;
        }
    }

    void echoReply(ClientConnection c, long intendedNs, long now) {
        long intendedAt = control.epochNs + intendedNs;
        if (intendedAt - control.sendStartNs < 0) {
            // Echo search: the reply to an earlier step, after that step was closed and counted it lost.
            control.lateReplies.incrementAndGet();
            return;
        }
        control.received.incrementAndGet();
        long us = Math.max(0, Math.min(HIGHEST_TRACKABLE_US, TimeUnit.NANOSECONDS.toMicros(now - intendedAt)));
        latencyUs.recordValue(us);
        if (stepLatencyUs != null) {
            stepLatencyUs.recordValue(us);
            if (intendedAt - control.secondHalfNs >= 0) {
                stepSecondHalfUs.recordValue(us);
            }
        }
    }

    void replyError(ClientConnection c) {
        control.replyErrors.incrementAndGet();
    }

    void pingAnswered() {
        control.pingsAnswered.incrementAndGet();
    }

    /** Something the server said that a healthy run should not see; counted, connection kept. */
    void protocolNotice(ClientConnection c, String what) {
        control.protocolErrors.incrementAndGet();
    }

    /** The server broke the protocol: counted and the connection dropped. */
    void protocolError(ClientConnection c, String why) {
        control.protocolErrors.incrementAndGet();
        lost(c, why);
    }

    // ---- echo

    /** Sends the echo requests whose intended time has come; returns when the next one is due. */
    private long sendDue(long now) {
        long start = control.sendStartNs;
        if (start != echoStartNs) {
            // A new echo-search step: its schedule starts again at its own start time and rate.
            echoStartNs = start;
            echoIndex = 0;
        }
        long stop = control.sendEndNs;
        int rate = control.echoRate;
        if (rate <= 0) {
            return Long.MAX_VALUE;
        }
        int sentNow = 0;
        while (sentNow < MAX_DUE_PER_ITERATION) {
            long intended = start + (loopIndex + echoIndex * loopCount) * 1_000_000_000L / rate;
            if (intended - stop >= 0) {
                return Long.MAX_VALUE;
            }
            if (intended - now > 0) {
                return intended;
            }
            echoIndex++;
            sentNow++;
            ClientConnection c = nextOpen();
            if (c == null) {
                control.unsent.incrementAndGet();
            } else {
                control.sent.incrementAndGet();
                protocol.sendEcho(c, intended - control.epochNs);
            }
        }
        return now;
    }

    private ClientConnection nextOpen() {
        for (int tries = 0; tries < connections.length; tries++) {
            ClientConnection c = connections[echoCursor];
            echoCursor = echoCursor + 1 == connections.length ? 0 : echoCursor + 1;
            if (c != null && c.state == ClientConnection.OPEN) {
                return c;
            }
        }
        return null;
    }

    // ---- writing

    private void sendFrame(ClientConnection c, int opcode, byte[] payload, int off, int len) {
        if (c.state == ClientConnection.CLOSED || c.channel == null) {
            return;
        }
        out.clear();
        out.put((byte) (0x80 | opcode));
        if (len < 126) {
            out.put((byte) (0x80 | len));
        } else if (len < 65_536) {
            out.put((byte) (0x80 | 126)).putShort((short) len);
        } else {
            out.put((byte) (0x80 | 127)).putLong(len);
        }
        ThreadLocalRandom.current().nextBytes(mask);
        out.put(mask);
        for (int i = 0; i < len; i++) {
            out.put((byte) (payload[off + i] ^ mask[i & 3]));
        }
        out.flip();
        write(c);
    }

    /** Writes {@link #out} (in read mode) to the connection, keeping what the socket does not take. */
    private void write(ClientConnection c) {
        try {
            if (c.pending == null) {
                c.channel.write(out);
                if (!out.hasRemaining()) {
                    return;
                }
                ByteBuffer keep = ByteBuffer.allocate(Math.max(1024, out.remaining()));
                keep.put(out).flip();
                c.pending = keep;
                c.key.interestOps(c.key.interestOps() | SelectionKey.OP_WRITE);
                return;
            }
            int needed = c.pending.remaining() + out.remaining();
            if (needed > MAX_PENDING_BYTES) {
                lost(c, "more than " + MAX_PENDING_BYTES + " bytes unwritten");
                return;
            }
            ByteBuffer p = c.pending.compact();
            if (p.remaining() < out.remaining()) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(p.capacity() * 2, needed));
                p.flip();
                bigger.put(p);
                p = bigger;
            }
            p.put(out).flip();
            c.pending = p;
        } catch (IOException e) {
            lost(c, e.getMessage());
        }
    }

    private void flushPending(ClientConnection c) throws IOException {
        if (c.pending == null) {
            c.key.interestOps(readInterest(c));
            return;
        }
        c.channel.write(c.pending);
        if (!c.pending.hasRemaining()) {
            c.pending = null;
            c.key.interestOps(readInterest(c));
        }
    }

    // ---- closing and failures

    private void beginClose(long now) {
        closing = true;
        closeDeadlineNs = now + CLOSE_WAIT_NS;
        byte[] normal = {0x03, (byte) 0xE8};
        for (ClientConnection c : connections) {
            if (c == null) {
                continue;
            }
            if (c.state == ClientConnection.OPEN) {
                protocol.onClosing(c);
                c.state = ClientConnection.CLOSING;
                sendFrame(c, 0x8, normal, 0, normal.length);
            } else if (c.reconnecting && c.state != ClientConnection.CLOSED) {
                control.notResumedAtEnd.incrementAndGet();
                forceClose(c);
            } else if (c.state != ClientConnection.CLOSED && c.state != ClientConnection.CLOSING) {
                fail(c, "still connecting at the end of the run");
            }
        }
    }

    private void onServerClose(ClientConnection c, int code) {
        recordStalledClose(c, code);
        if (c.state == ClientConnection.CLOSING) {
            control.closedCleanly.incrementAndGet();
            forceClose(c);
            return;
        }
        byte[] echo = {(byte) (code >> 8), (byte) code};
        sendFrame(c, 0x8, echo, 0, code == 1005 ? 0 : 2);
        lost(c, "server closed with " + code);
    }

    /**
     * The connection went away: before it was welcomed a failure, after it an unexpected disconnect
     * (failover: a subscriber with a session to resume comes back on the next server instead).
     */
    private void lost(ClientConnection c, String why) {
        if (c.state == ClientConnection.CLOSED) {
            return;
        }
        if (c.state != ClientConnection.OPEN && retry(c, why)) {
            return;
        }
        if (c.state == ClientConnection.OPEN && failOver(c, why)) {
            return;
        }
        if (c.stalled && c.state == ClientConnection.OPEN) {
            // Expected of a subscriber that stopped reading: reported with its close code, not as a disconnect.
            recordStalledClose(c, 0);
            forceClose(c);
            return;
        }
        if (c.state == ClientConnection.CLOSING) {
            control.closedCleanly.incrementAndGet();
        } else if (c.state == ClientConnection.OPEN) {
            control.unexpectedDisconnects.incrementAndGet();
            control.problem("disconnect: " + why);
            noteFirstErrors("disconnect: " + why);
        } else {
            fail(c, why);
            return;
        }
        forceClose(c);
    }

    private void recordStalledClose(ClientConnection c, int code) {
        if (!c.stalled || c.closeRecorded || c.state != ClientConnection.OPEN) {
            return;
        }
        c.closeRecorded = true;
        control.stalledClosedByServer.incrementAndGet();
        control.stalledCloseCodes.computeIfAbsent(code, k -> new java.util.concurrent.atomic.AtomicLong()).incrementAndGet();
    }

    private void fail(ClientConnection c, String why) {
        if (c.state == ClientConnection.CLOSED) {
            return;
        }
        if (retry(c, why)) {
            return;
        }
        control.failed.incrementAndGet();
        control.problem("failed: " + why);
        noteFirstErrors("failed: " + why);
        forceClose(c);
    }

    private int errorsPrinted;

    private void noteFirstErrors(String what) {
        // The first few reasons tell what went wrong; thousands of copies would not.
        if (errorsPrinted < 5) {
            errorsPrinted++;
            System.err.println("load-loop-" + loopIndex + ": " + what);
        }
    }

    private void forceClose(ClientConnection c) {
        int was = c.state;
        if (was == ClientConnection.CLOSED) {
            return;
        }
        c.state = ClientConnection.CLOSED;
        if (was == ClientConnection.OPEN || was == ClientConnection.CLOSING) {
            live--;
            control.open.decrementAndGet();
            if (closing && was == ClientConnection.CLOSING && System.nanoTime() - closeDeadlineNs > 0) {
                control.closedForcibly.incrementAndGet();
            }
        } else if (!c.reconnecting) {
            unresolved--;
        }
        if (c.stalled && drainStarted && !c.resolved) {
            c.resolved = true;
            control.stalledResolved.incrementAndGet();
        }
        c.pending = null;
        c.carry = null;
        c.fragment = null;
        if (c.key != null) {
            c.key.cancel();
        }
        if (c.channel != null) {
            try {
                c.channel.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
    }

    private void sweepHandshakeTimeouts(long now) {
        long timeoutNs = TimeUnit.MILLISECONDS.toNanos(options.handshakeTimeoutMs());
        for (int k = 0; k < nextToOpen; k++) {
            ClientConnection c = connections[k];
            if (c.state >= ClientConnection.CONNECTING && c.state <= ClientConnection.JOINING
                    && now - c.connectStartNs > timeoutNs) {
                fail(c, "no welcome within " + options.handshakeTimeoutMs() + " ms");
            }
        }
    }
}
