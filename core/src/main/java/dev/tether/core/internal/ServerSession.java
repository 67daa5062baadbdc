package dev.tether.core.internal;

import dev.tether.core.spi.engine.EngineSession;
import dev.tether.core.spi.engine.MigrationListener;
import dev.tether.core.spi.engine.SessionLink;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Responder;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.Protocol;
import dev.tether.core.spi.TransportConnection;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.atomic.LongAdder;
import org.jctools.queues.unpadded.MpscChunkedUnpaddedArrayQueue;

/**
 * A session: the outbound queue, sequence numbers, acknowledgements, replay buffer and the
 * client-side de-duplication state. The one place that knows about them.
 *
 * <p>Threading:
 * <ul>
 *   <li>Any thread enqueues into the bounded MPSC {@link #queue} and schedules a drain with one
 *       CAS on {@link #drainScheduled}; no lock on that path.</li>
 *   <li>The <em>I/O state</em> (sequence numbers, replay buffer, client de-duplication) is owned by
 *       the I/O thread of one link, the {@link #holder}, and kept in plain fields. It is touched
 *       only on that thread and only while {@link #link} is that link, or during a handoff.</li>
 *   <li>A resume moves ownership to the new link's thread by a handoff that first runs a task on
 *       the old holder's thread (so its in-flight work finishes) and then lands on the new one.
 *       One handoff at a time; a resume arriving during one waits, and the one it replaces is
 *       closed as taken over.</li>
 *   <li>Lifecycle fields (holder, handoff, waiting, expiry, closed) are guarded by {@code this};
 *       that lock is taken on attach, detach, resume and close only.</li>
 * </ul>
 *
 * <p>Ack-less mode (Socket.IO, whose clients never acknowledge): the replay buffer keeps the last
 * messages within its limits and evicts the oldest instead of stopping the drain; a resume is
 * honoured only if everything after the client's offset is still held and nothing overflowed,
 * otherwise {@link SessionLink#resumeImpossible} decides what the client gets. Public only for
 * the Socket.IO layer; not an API.
 */
public final class ServerSession implements EngineSession, SerialExecutor.Backpressure, Runnable {

    /**
     * Outbound queue chunk. Most sessions are idle most of the time and a drain empties the queue
     * as it runs, so a chunk of four (an array of 40 bytes, where sixteen took 88) is enough; a
     * burst links chunks of the same size, one allocation per four messages queued at once.
     */
    private static final int QUEUE_CHUNK = 4;

    /** What a gap entry counts against the replay buffer's byte limit. */
    private static final int GAP_BYTES = 32;

    private static final AtomicIntegerFieldUpdater<ServerSession> DRAIN_SCHEDULED =
            AtomicIntegerFieldUpdater.newUpdater(ServerSession.class, "drainScheduled");
    // Counters and flags as fields with updaters rather than Atomic* objects: one session exists
    // per client, and each Atomic* is an object of its own (about 80 bytes for these four).
    private static final AtomicLongFieldUpdater<ServerSession> REQUEST_IDS =
            AtomicLongFieldUpdater.newUpdater(ServerSession.class, "requestIds");
    private static final AtomicLongFieldUpdater<ServerSession> OVERFLOWED =
            AtomicLongFieldUpdater.newUpdater(ServerSession.class, "overflowed");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<ServerSession, Set> TOPICS =
            AtomicReferenceFieldUpdater.newUpdater(ServerSession.class, Set.class, "topics");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<ServerSession, ConcurrentHashMap> REQUESTS =
            AtomicReferenceFieldUpdater.newUpdater(ServerSession.class, ConcurrentHashMap.class, "requests");
    private static final AtomicLongFieldUpdater<ServerSession> QUEUED_SHARE =
            AtomicLongFieldUpdater.newUpdater(ServerSession.class, "queuedShare");
    private static final AtomicLongFieldUpdater<ServerSession> PENDING_SHARE =
            AtomicLongFieldUpdater.newUpdater(ServerSession.class, "pendingShare");
    private static final AtomicIntegerFieldUpdater<ServerSession> OLDEST_EPOCH =
            AtomicIntegerFieldUpdater.newUpdater(ServerSession.class, "oldestEpoch");
    /** A share once the session left the table: far below zero, so that later moves keep it negative. */
    private static final long RETIRED = Long.MIN_VALUE / 2;
    private static final int RETIRED_EPOCH = -1;

    private final Hub hub;
    private final Protocol protocol;
    private final SessionHandler handler;
    /** Clients never acknowledge: evict the oldest replay entries instead of waiting (Socket.IO). */
    private final boolean ackless;
    /** Ack-less only: something was lost (overflow), so no resume may claim to be complete. */
    private volatile boolean unrecoverable;
    private final String id;
    /** The resume token's characters (ASCII): a secret the client presents to resume; 24 bytes less than a String. */
    private final byte[] token;
    /**
     * Whom the session acts for. Its name never changes; the object is replaced when a connection
     * brings fresh credentials (a resume, a token refresh), so that the authorizer sees their claims.
     */
    private volatile Principal principal;
    /**
     * Bounded MPSC, grown in small chunks up to its capacity, so that an idle session costs a few
     * hundred bytes rather than its worst case. Unpadded: one session's queue is rarely contended.
     */
    private final MpscChunkedUnpaddedArrayQueue<Outbound> queue;
    final SerialExecutor callbacks;
    /** Immutable while small, swapped by compare-and-set; concurrent and changed in place once large ({@link CompactSets}). */
    private volatile Set<String> topics = Set.of();
    /** Server-to-client requests awaiting their reply; created by the first ({@link #requests()}). */
    private volatile ConcurrentHashMap<Long, CompletableFuture<Payload>> requests;
    private volatile long requestIds;
    /**
     * Reliable messages lost to a full queue and not yet reported. While it is non-zero, every
     * new reliable message is counted here instead of queued, so that the gap is one contiguous
     * range reported after everything queued before the loss.
     */
    private volatile long overflowed;

    private volatile int drainScheduled;
    /*
     * This session's shares of the hub's gauges (Hub#stats, in constant time): what it has added
     * to the hub's queued and pending-ack counts, and the epoch under which it counts in the hub's
     * UnackedAges (0: nothing unacknowledged). Moved with getAndAdd / CAS; retireGauges swaps in
     * RETIRED (RETIRED_EPOCH), takes the share out of the hub, and every later move sees a
     * negative value and leaves the hub alone.
     */
    private volatile long queuedShare;
    private volatile long pendingShare;
    private volatile int oldestEpoch;
    /** The link that may write and read now; null while detached or during a handoff. */
    volatile SessionLink link;
    private volatile boolean closed;

    // Guarded by this.
    private SessionLink holder;
    private boolean handoff;
    private SessionLink waiting;
    private long waitingLastSeq;
    private HashedWheelTimer.Timeout expiry;
    private long highestAttempt;

    // I/O state: owned by the holder's I/O thread.
    private final ReplayBuffer replay;
    private long lastSeq;
    private long ackedSeq;
    private long lastClientSeq;
    private long clientSeqAcked;

    private static final int FEED_HELD = 0;
    private static final int FEED_LIVE = 1;
    private static final int FEED_GONE = 2;
    /** The session left this node (another node claimed it, or its client must resume through the broker). */
    volatile boolean migrated;
    /**
     * What only a clustered session needs (see {@link ClusterState}); null on a single node, whose
     * sessions do not pay for its fields (about 75 bytes) and the feed's list, commit queue and
     * token hash.
     */
    final ClusterState clusterState;

    /**
     * A clustered session's feed from the broker and what its checkpoints record. The object is
     * also the feed's lock: the broker's delivery thread and a resume's completion meet on it.
     */
    static final class ClusterState {
        private static final AtomicIntegerFieldUpdater<ClusterState> CHECKPOINT_WAITING =
                AtomicIntegerFieldUpdater.newUpdater(ClusterState.class, "checkpointWaiting");
        private static final AtomicIntegerFieldUpdater<ClusterState> CHECKPOINT_STATE =
                AtomicIntegerFieldUpdater.newUpdater(ClusterState.class, "checkpointState");

        /** The SHA-256 of the resume token, which is all the broker keeps of it. */
        private final byte[] tokenHash;
        /** Guarded by this. */
        private int feedState = FEED_HELD;
        /**
         * The broker's stream was interrupted while the feed was held (its create, claim or
         * re-read under way): what came live meanwhile, markers included, may be missing, so the
         * feed is read again once live. Guarded by this.
         */
        private boolean rereadWanted;
        /** Entries held back while a claim or re-read is under way: (Outbound, position) pairs. Guarded by this. */
        private ArrayList<Object> held = new ArrayList<>();
        /** The position of the last reliable entry queued. Guarded by this. */
        private long feedPosition;
        /** Client messages whose handling the broker recorded (what a checkpoint records). */
        volatile long handledClientSeq;
        /** Processed client messages on their way to the broker. */
        final CommitQueue commits = new CommitQueue();
        /** The client sequence number the broker has recorded: acknowledged to the client up to here. */
        private volatile long durableClientSeq;
        /**
         * The newest acknowledgement to record: the client's seq and the position of that entry,
         * one value so that a checkpoint never pairs a seq with another entry's position. Ack-less
         * sessions record what left their replay buffer instead (see {@link ServerSession#evictToFit}).
         */
        volatile FeedMark ackedForCheckpoint = FeedMark.START;
        /** The seq of the last checkpoint written, and when the next may be (see Cluster#checkpoint). */
        volatile long checkpointedSeq;
        volatile long nextCheckpointNanos = System.nanoTime();
        /** A checkpoint holds the slot and waits for its time. */
        private volatile int checkpointWaiting;
        private volatile int checkpointState;

        ClusterState(String token) {
            this.tokenHash = Cluster.sha256(token);
        }
    }

    ServerSession(Hub hub, String id, String token, Principal principal, Protocol protocol,
                  SessionHandler handler, boolean ackless) {
        this.hub = hub;
        this.protocol = protocol;
        this.handler = handler;
        this.ackless = ackless;
        this.id = id;
        this.token = token.getBytes(StandardCharsets.US_ASCII);
        this.principal = principal;
        this.clusterState = hub.cluster == null ? null : new ClusterState(token);
        this.queue = new MpscChunkedUnpaddedArrayQueue<>(
                Math.min(QUEUE_CHUNK, hub.config.outboundQueueCapacity() / 2), hub.config.outboundQueueCapacity());
        this.replay = new ReplayBuffer(hub.config.replayBufferMessages(), hub.config.replayBufferBytes());
        this.callbacks = new SerialExecutor(hub.callbackSettings, this);
    }

    // ================================================================ public API

    @Override
    public String id() {
        return id;
    }

    @Override
    public Principal principal() {
        return principal;
    }

    @Override
    public boolean isConnected() {
        return link != null;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public SendResult send(String event, Payload payload) {
        if (hub.cluster != null) {
            return hub.cluster.send(this, checkEvent(event), Objects.requireNonNull(payload, "payload"), false, 0);
        }
        return enqueue(Outbound.reliable(protocol.encode(checkEvent(event), Objects.requireNonNull(payload, "payload"), null), 0));
    }

    @Override
    public SendResult sendVolatile(String event, Payload payload) {
        if (hub.cluster != null && (migrated || link == null)) {
            return hub.cluster.send(this, checkEvent(event), Objects.requireNonNull(payload, "payload"), true, 0);
        }
        return enqueue(Outbound.volatileMessage(protocol.encode(checkEvent(event), Objects.requireNonNull(payload, "payload"), null)));
    }

    private static String checkEvent(String event) {
        if (Objects.requireNonNull(event, "event").isEmpty()) {
            throw new IllegalArgumentException("event must not be empty");
        }
        return event;
    }

    /** The requests map, created by the first request: most sessions never make one. */
    private ConcurrentHashMap<Long, CompletableFuture<Payload>> requests() {
        ConcurrentHashMap<Long, CompletableFuture<Payload>> map = requests;
        if (map == null) {
            REQUESTS.compareAndSet(this, null, new ConcurrentHashMap<>());
            map = requests;
        }
        return map;
    }

    @Override
    public CompletableFuture<Payload> request(String event, Payload payload, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        long rid = REQUEST_IDS.incrementAndGet(this);
        CompletableFuture<Payload> future = new CompletableFuture<>();
        ConcurrentHashMap<Long, CompletableFuture<Payload>> waiting = requests();
        waiting.put(rid, future);
        SendResult result = hub.cluster != null
                ? hub.cluster.send(this, checkEvent(event), Objects.requireNonNull(payload, "payload"), false, rid)
                : enqueue(Outbound.reliable(protocol.encode(checkEvent(event),
                        Objects.requireNonNull(payload, "payload"), null), rid));
        if (result != SendResult.ENQUEUED) {
            waiting.remove(rid);
            future.completeExceptionally(new RequestException(
                    result == SendResult.CLOSED ? RequestException.CLOSED : RequestException.OVERFLOW,
                    "request '" + event + "' not sent: " + result));
            return future;
        }
        HashedWheelTimer.Timeout t = hub.timer.schedule(() -> {
            CompletableFuture<Payload> f = waiting.remove(rid);
            if (f != null) {
                hub.runOnHandlerPool(() -> f.completeExceptionally(new RequestException(
                        RequestException.TIMEOUT, "no reply to '" + event + "' within " + timeout)));
            }
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        future.whenComplete((v, e) -> t.cancel());
        return future;
    }

    @Override
    public boolean subscribe(String topic) {
        return subscribeRecorded(topic) != null;
    }

    /**
     * Subscribes; null if closed or subscribed already, else a future that completes when the
     * subscription is recorded: at once on a single node, when the broker has it in a cluster
     * (the topic table follows when the broker's marker arrives).
     */
    private CompletableFuture<Void> subscribeRecorded(String topic) {
        Objects.requireNonNull(topic, "topic");
        if (closed || !addTopic(topic)) {
            return null;
        }
        if (hub.cluster != null) {
            return hub.cluster.subscribe(this, topic);
        }
        hub.addSubscriber(topic, this);
        if (closed) {
            // Raced with end(): make sure the topic table does not keep a dead session.
            hub.removeSubscriber(topic, this);
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean unsubscribe(String topic) {
        return unsubscribeRecorded(topic) != null;
    }

    /** As {@link #subscribeRecorded}: null if not subscribed. */
    private CompletableFuture<Void> unsubscribeRecorded(String topic) {
        if (!removeTopic(Objects.requireNonNull(topic, "topic"))) {
            return null;
        }
        if (hub.cluster != null) {
            return hub.cluster.unsubscribe(this, topic);
        }
        hub.removeSubscriber(topic, this);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public Set<String> topics() {
        return Set.copyOf(topics);
    }

    /** Adds {@code topic} to this session's own set; false if it was there. Any thread. */
    private boolean addTopic(String topic) {
        for (;;) {
            Set<String> now = topics;
            if (CompactSets.isLarge(now)) {
                return now.add(topic);
            }
            if (now.contains(topic)) {
                return false;
            }
            if (TOPICS.compareAndSet(this, now, CompactSets.plus(now, topic))) {
                return true;
            }
        }
    }

    /** Removes {@code topic} from this session's own set; false if it was not there. Any thread. */
    private boolean removeTopic(String topic) {
        for (;;) {
            Set<String> now = topics;
            if (CompactSets.isLarge(now)) {
                return now.remove(topic);
            }
            if (!now.contains(topic)) {
                return false;
            }
            if (TOPICS.compareAndSet(this, now, CompactSets.minus(now, topic))) {
                return true;
            }
        }
    }

    @Override
    public void close(String reason) {
        end(CloseCodes.SESSION_CLOSED, Objects.requireNonNull(reason, "reason"), true, false);
    }

    @Override
    public String toString() {
        return "Session[" + id + ", " + principal.getName() + (link != null ? ", connected]" : "]");
    }

    // ================================================================ enqueue and drain (hot path)

    SendResult enqueue(Outbound item) {
        if (closed) {
            return SendResult.CLOSED;
        }
        if (item.kind == Outbound.VOLATILE && (link == null || queue.size() >= hub.config.volatileQueueLimit())) {
            return dropVolatile();
        }
        if (item.kind == Outbound.RELIABLE && overflowed > 0) {
            return overflow(); // joins the gap being collected
        }
        // Counted before the offer, so that the drain never takes out more than was put in.
        addQueued(1);
        if (!queue.offer(item)) {
            addQueued(-1);
            if (item.kind == Outbound.VOLATILE) {
                return dropVolatile();
            }
            if (item.kind == Outbound.RELIABLE) {
                return overflow();
            }
            closeSlowConsumer(); // a reply that does not fit: the requester times out
            return SendResult.OVERFLOW;
        }
        hub.config.metrics().messagesQueued(1);
        scheduleDrain();
        return SendResult.ENQUEUED;
    }

    private SendResult overflow() {
        if (ackless) {
            unrecoverable = true;
        }
        OVERFLOWED.incrementAndGet(this);
        hub.reliableOverflowed.increment();
        hub.config.metrics().reliableOverflowed();
        closeSlowConsumer();
        scheduleDrain(); // the gap is written once the queue ahead of it has drained
        return SendResult.OVERFLOW;
    }

    private SendResult dropVolatile() {
        hub.volatileDropped.increment();
        hub.config.metrics().volatileDropped();
        return SendResult.DROPPED;
    }

    private void closeSlowConsumer() {
        SessionLink l = link;
        if (l != null && l.markSlowConsumer()) {
            hub.slowConsumerCloses.increment();
            hub.config.metrics().slowConsumerClosed();
            l.connection().close(CloseCodes.SLOW_CONSUMER, "slow consumer");
        }
    }

    @Override
    public void scheduleDrain() {
        SessionLink l = link;
        if (l != null && DRAIN_SCHEDULED.compareAndSet(this, 0, 1)) {
            l.connection().execute(this);
        }
    }

    /**
     * The drain: writes what is queued, up to one batch, on the link's I/O thread, then flushes
     * once. At most one drain task is scheduled or running at a time (the {@code drainScheduled}
     * flag; {@link #scheduleDrain} asks for one); a task that runs on another thread, or finds the
     * session moved to another link, re-routes itself there. The session is its own drain task,
     * so that each session does not carry one.
     */
    @Override
    public void run() {
        SessionLink l = link;
        if (l == null) {
            drainScheduled = 0;
            if (link != null && !queue.isEmpty()) {
                scheduleDrain();
            }
            return;
        }
        TransportConnection c = l.connection();
        if (!c.inIoThread()) {
            c.execute(this);
            return;
        }
        // Cleared before reading the queue: a producer that enqueues from here on schedules again.
        drainScheduled = 0;
        int written = 0;
        int polled = 0;
        boolean blocked = false;
        int limit = hub.config.drainBatch();
        int epoch = ackless ? 0 : hub.unackedAges.epochNow();
        while (written < limit) {
            if (!c.isWritable()) {
                blocked = true; // onWritable() schedules the next drain
                break;
            }
            Outbound item = queue.relaxedPeek();
            if (item == null) {
                if (overflowed > 0 && !ackless) {
                    if (!replay.fits(GAP_BYTES)) {
                        blocked = true; // the next ack schedules the next drain
                    } else {
                        writeGap(c, epoch);
                        written++;
                    }
                }
                break;
            }
            if (item.kind == Outbound.RELIABLE && !ackless && !replay.fits(item.sizeBytes())) {
                blocked = true; // the next ack schedules the next drain
                break;
            }
            queue.relaxedPoll();
            polled++;
            write(c, item, epoch, l.protocolVersion() >= POSITIONS_VERSION);
            written++;
        }
        if (polled > 0) {
            addQueued(-polled);
        }
        if (written > 0) {
            syncUnacked(); // before the flush: the gauges never lag what a client may have seen
            l.piggybackAck();
            c.flush();
            hub.messagesOut.add(written);
            hub.config.metrics().messagesWritten(written);
        }
        if (!blocked && !queue.isEmpty()) {
            scheduleDrain(); // batch limit reached: yield the I/O thread to other connections
        }
    }

    private void write(TransportConnection c, Outbound item, int epoch, boolean positions) {
        switch (item.kind) {
            case Outbound.RELIABLE -> {
                long seq = ++lastSeq;
                if (ackless) {
                    evictToFit(item.sizeBytes());
                }
                replay.add(item, seq, item.sizeBytes(), epoch);
                c.write(frameOf(item, seq, positions));
            }
            case Outbound.VOLATILE -> c.write(protocol.frame(0, 0, item.message));
            default -> c.write(protocol.frame(item.control));
        }
    }

    /**
     * Ack-less: drops the oldest entries until {@code sizeBytes} fits; they count as acknowledged.
     * Clustered, the checkpoint follows them in steps of an eighth of the replay buffer: a
     * recovery from an offset before it is refused anyway (as on one node: evicted), and the
     * broker may forget what lies before it, so that a session's feed does not grow for as long
     * as it lives.
     */
    private void evictToFit(int sizeBytes) {
        Object evicted = null;
        while (!replay.fits(sizeBytes)) {
            evicted = replay.oldest();
            ackedSeq = replay.evictOldest();
        }
        if (hub.cluster != null && evicted instanceof Outbound o
                && ackedSeq - clusterState.ackedForCheckpoint.seq() >= Math.max(1, hub.config.replayBufferMessages() / 8)) {
            clusterState.ackedForCheckpoint = new FeedMark(ackedSeq, o.position);
            hub.cluster.checkpoint(this);
        }
    }

    /** Frames a replay buffer entry, a reliable message or a gap, as sent live and on replay. */
    /** @param positions whether the connection's protocol carries cluster positions (PROTOCOL.md §13) */
    private Frame frameOf(Object entry, long seq, boolean positions) {
        if (entry instanceof OutboundFrame.Gap gap) {
            return protocol.frame(gap);
        }
        Outbound message = (Outbound) entry;
        return protocol.frame(seq, message.requestId, positions ? message.position : 0, message.message);
    }

    /**
     * Reports the reliable messages that overflowed the queue as one gap, after everything that
     * was queued before them. The gap takes their sequence numbers and is replayed like them.
     */
    private void writeGap(TransportConnection c, int epoch) {
        long lost = OVERFLOWED.getAndSet(this, 0);
        OutboundFrame.Gap gap = new OutboundFrame.Gap(lastSeq + 1, lastSeq + lost, "overflow");
        lastSeq = gap.to();
        replay.add(gap, gap.to(), GAP_BYTES, epoch);
        c.write(frameOf(gap, gap.to(), false));
        hub.gaps.increment();
        hub.config.metrics().gapReported();
        callbacks.execute(() -> hub.guard("handler.onGap",
                () -> handler.onGap(this, gap.from(), gap.to(), gap.reason())));
    }

    // ================================================================ inbound (holder's I/O thread)

    @Override
    public void onFrame(SessionLink l, InboundFrame frame) {
        if (frame instanceof InboundFrame.Msg m) {
            onMessage(l, m);
        } else if (frame instanceof InboundFrame.Ack a) {
            onAck(l, a.seq());
        } else if (frame instanceof InboundFrame.Pong p) {
            if (p.ack() >= 0) {
                onAck(l, p.ack());
            }
        } else if (frame instanceof InboundFrame.Reply r) {
            onReply(r);
        } else if (frame instanceof InboundFrame.Subscribe s) {
            onSubscribe(l, s.id(), s.topic());
        } else if (frame instanceof InboundFrame.Unsubscribe u) {
            answerWhenRecorded(l, u.id(), "unsubscribe", u.topic(), unsubscribeRecorded(u.topic()));
        } else if (frame instanceof InboundFrame.Hello) {
            l.fail(CloseCodes.BAD_REQUEST, "hello sent twice");
        }
        // InboundFrame.Unknown: a later protocol version's frame, ignored (PROTOCOL.md §2).
    }

    private void onMessage(SessionLink l, InboundFrame.Msg m) {
        if (m.seq() > 0) {
            if (!l.acceptClientSeq(m.seq())) {
                l.fail(CloseCodes.INVALID_SEQUENCE, "client sequence number went backwards");
                return;
            }
            if (m.seq() <= lastClientSeq) {
                hub.duplicatesIn.increment(); // resent after a resume but processed already
                hub.config.metrics().duplicateReceived();
                return;
            }
            if (m.seq() != lastClientSeq + 1) {
                l.fail(CloseCodes.INVALID_SEQUENCE, "client sequence number skipped");
                return;
            }
            lastClientSeq = m.seq();
            l.clientMessageAccepted(lastClientSeq - clientSeqAcked);
        }
        hub.messagesIn.increment();
        hub.config.metrics().messageReceived();
        Message message = new Message(m.event(), m.payload(), m.topic());
        if (m.topic() != null) {
            if (!hub.config.authorizer().canPublish(principal, m.topic())) {
                refuse(l, 0, m.seq(), "publish", m.topic());
                process(m.seq(), null);
                return;
            }
            boolean isVolatile = m.seq() == 0;
            process(m.seq(), () -> hub.publish(m.topic(), m.event(), m.payload(), isVolatile));
            return;
        }
        long dispatched = System.nanoTime();
        if (m.requestId() > 0) {
            Responder responder = new ClientRequest(m.requestId());
            process(m.seq(), () -> runHandler("handler.onRequest", dispatched,
                    () -> handler.onRequest(this, message, responder)));
        } else {
            process(m.seq(), () -> runHandler("handler.onMessage", dispatched,
                    () -> handler.onMessage(this, message)));
        }
    }

    /**
     * Runs {@code work} (the handling of a client message; may be null) on the session's callback
     * thread. Clustered, a reliable message's handling and what it sent are then committed to the
     * broker together, and only then acknowledged ({@link Cluster#process}).
     */
    private void process(long seq, Runnable work) {
        if (hub.cluster != null && seq > 0) {
            callbacks.execute(() -> hub.cluster.process(this, seq, work));
        } else if (work != null) {
            callbacks.execute(work);
        }
    }

    private void runHandler(String context, long dispatchedNanos, Runnable callback) {
        hub.guard(context, callback);
        hub.config.metrics().handlerCompleted(System.nanoTime() - dispatchedNanos);
    }

    private void refuse(SessionLink l, long id, long seq, String what, String topic) {
        hub.refused.increment();
        hub.config.metrics().refused(what);
        l.writeControl(new OutboundFrame.Error(id, seq, "forbidden", what + " on '" + topic + "' is not allowed"));
    }

    private void onAck(SessionLink l, long seq) {
        if (seq > lastSeq) {
            l.fail(CloseCodes.INVALID_SEQUENCE, "ack for a message never sent");
            return;
        }
        if (seq < ackedSeq) {
            l.fail(CloseCodes.INVALID_SEQUENCE, "ack went backwards");
            return;
        }
        release(seq);
    }

    private void release(long seq) {
        if (hub.cluster != null && seq > ackedSeq && replay.entryAt(seq) instanceof Outbound o) {
            clusterState.ackedForCheckpoint = new FeedMark(seq, o.position);
            hub.cluster.checkpoint(this);
        }
        int released = replay.release(seq);
        ackedSeq = seq;
        if (released > 0) {
            hub.config.metrics().messagesAcked(released);
            syncUnacked();
            if (!queue.isEmpty() || overflowed > 0) {
                scheduleDrain(); // the drain may have stopped on a full replay buffer
            }
        }
    }

    private void onReply(InboundFrame.Reply r) {
        ConcurrentHashMap<Long, CompletableFuture<Payload>> waiting = requests;
        CompletableFuture<Payload> future = waiting == null ? null : waiting.remove(r.requestId());
        if (future == null) {
            return; // timed out already, or a reply to a request of an earlier incarnation
        }
        // Complete off the I/O thread: dependent stages are application code.
        if (r.errorCode() != null) {
            hub.runOnHandlerPool(() -> future.completeExceptionally(new RequestException(r.errorCode(), r.errorMessage())));
        } else {
            hub.runOnHandlerPool(() -> future.complete(r.payload()));
        }
    }

    private void onSubscribe(SessionLink l, long frameId, String topic) {
        if (!hub.config.authorizer().canSubscribe(principal, topic)) {
            refuse(l, frameId, 0, "subscribe", topic);
            return;
        }
        answerWhenRecorded(l, frameId, "subscribe", topic, subscribeRecorded(topic));
    }

    /**
     * Answers a {@code sub} or {@code unsub}: {@code ok} once the change is recorded (null: there
     * was nothing to change), so that in a cluster a resume on any node keeps what was answered;
     * {@code unavailable} if the cluster could not record it. I/O thread.
     */
    private static void answerWhenRecorded(SessionLink l, long frameId, String what, String topic,
                                           CompletableFuture<Void> recorded) {
        if (recorded == null || recorded.isDone() && !recorded.isCompletedExceptionally()) {
            l.writeControl(new OutboundFrame.Ok(frameId));
            return;
        }
        recorded.whenComplete((v, error) -> l.connection().execute(() -> l.writeControl(error == null
                ? new OutboundFrame.Ok(frameId)
                : new OutboundFrame.Error(frameId, 0, "unavailable", what + " on '" + topic
                        + "' could not be recorded by the cluster; try again"))));
    }

    /**
     * At each heartbeat: an idle session gives up its replay ring (allocated again with the next
     * reliable message). Holder's thread only.
     */
    void trimIdle() {
        replay.trimIfEmpty();
    }

    /** The ack to piggyback on a ping or send alone; marks it sent. Holder's thread only. */
    long takeClientAck() {
        clientSeqAcked = ackableClientSeq();
        return clientSeqAcked;
    }

    boolean hasUnackedClientMessages() {
        return ackableClientSeq() > clientSeqAcked;
    }

    /** Clustered, only what the broker recorded is acknowledged: a resume elsewhere must not run it twice. */
    private long ackableClientSeq() {
        return hub.cluster == null ? lastClientSeq : Math.min(lastClientSeq, clusterState.durableClientSeq);
    }

    /** Too many of this session's callbacks wait: its link stops reading (its callback executor). */
    @Override
    public void saturated() {
        SessionLink l = link;
        if (l != null) {
            l.connection().execute(l::suspendReads);
        }
    }

    /** The callbacks caught up: its link reads again (its callback executor). */
    @Override
    public void drained() {
        SessionLink l = link;
        if (l != null) {
            l.connection().execute(l::resumeReads);
        }
    }

    // ================================================================ lifecycle

    /**
     * Attaches the first link of a new session (on that link's I/O thread).
     *
     * @param previousId the session the client asked to resume, or {@code null}
     * @param whyLost    why that session could not be resumed, or {@code null}
     */
    @Override
    public void attachNew(SessionLink l, String previousId, String whyLost) {
        synchronized (this) {
            holder = l;
        }
        // Attached before the welcome is written: an application may send as soon as the client
        // has its welcome, and a send that overflows must find the link to close it as a slow
        // consumer. Nothing is written before the welcome: drains run as later tasks of this thread.
        land(l);
        l.writeControl(welcome(l, false, 0, 0, whyLost));
        if (previousId != null) {
            callbacks.execute(() -> hub.guard("handler.onResumeFailed",
                    () -> handler.onResumeFailed(this, previousId, whyLost)));
        }
        callbacks.execute(() -> hub.guard("handler.onOpen", () -> handler.onOpen(this)));
    }

    /** Whether a resume with {@code attempt} (0: none) comes after a later attempt of its client. */
    synchronized boolean isStaleAttempt(long attempt) {
        return attempt > 0 && attempt <= highestAttempt;
    }

    /** Cluster: the broker accepted a resume with {@code attempt} (0: none). */
    synchronized void attemptSeen(long attempt) {
        highestAttempt = Math.max(highestAttempt, attempt);
    }

    /** The native protocol version from which reliable messages carry their cluster position. */
    static final int POSITIONS_VERSION = 3;

    /**
     * Starts a resume by {@code l} (on its I/O thread).
     *
     * @param attempt the client's resume attempt number, or 0 if it sent none
     * @return {@link #RESUMING}, {@link #ENDED} or {@link #STALE}
     */
    @Override
    public int beginResume(SessionLink l, long clientLastSeq, long attempt) {
        SessionLink previous;
        SessionLink from;
        synchronized (this) {
            if (closed) {
                return ENDED;
            }
            if (attempt > 0) {
                // A late hello from a connection the client already replaced must not steal the
                // session from its successor.
                if (attempt <= highestAttempt) {
                    return STALE;
                }
                highestAttempt = attempt;
            }
            if (expiry != null) {
                expiry.cancel();
                expiry = null;
            }
            previous = link;
            link = null; // from now on nothing is written to or read from the previous link
            if (handoff) {
                if (waiting != null) {
                    waiting.takenOver();
                }
                waiting = l;
                waitingLastSeq = clientLastSeq;
                return RESUMING;
            }
            handoff = true;
            from = holder;
        }
        if (previous != null) {
            previous.takenOver();
        }
        transfer(from, l, clientLastSeq);
        return RESUMING;
    }

    /** Hands the I/O state from {@code from}'s thread to {@code to}'s. */
    private void transfer(SessionLink from, SessionLink to, long clientLastSeq) {
        Runnable land = () -> to.connection().execute(() -> completeResume(to, clientLastSeq));
        if (from == null) {
            land.run();
        } else {
            from.connection().execute(land);
        }
    }

    private void completeResume(SessionLink l, long clientLastSeq) {
        synchronized (this) {
            holder = l;
            handoff = false;
        }
        if (closed) {
            l.fail(CloseCodes.SESSION_CLOSED, "session closed");
            return;
        }
        if (ackless && (unrecoverable || overflowed > 0 || clientLastSeq > lastSeq || clientLastSeq < ackedSeq)) {
            land(null);
            l.resumeImpossible(this);
            return;
        }
        if (clientLastSeq > lastSeq || clientLastSeq < ackedSeq) {
            l.fail(CloseCodes.INVALID_SEQUENCE, clientLastSeq > lastSeq
                    ? "resume from a sequence number never sent" : "resume went backwards");
            land(null);
            return;
        }
        release(clientLastSeq);
        l.writeControl(welcome(l, true, 0, 0, null));
        TransportConnection c = l.connection();
        boolean positions = l.protocolVersion() >= POSITIONS_VERSION;
        int count = replay.forEachAfter(clientLastSeq, (entry, seq) -> c.write(frameOf(entry, seq, positions)));
        c.flush();
        hub.replayed.add(count);
        hub.resumed.increment();
        hub.config.metrics().sessionResumed();
        hub.config.metrics().messagesReplayed(count);
        land(l);
    }

    /**
     * Makes {@code l} the attached link (or detaches when it is null or already closed), or
     * starts the next handoff if a resume is waiting. On the holder's thread.
     */
    private void land(SessionLink l) {
        SessionLink next;
        long nextLastSeq;
        boolean takenOver = false;
        synchronized (this) {
            next = waiting;
            nextLastSeq = waitingLastSeq;
            if (next == null) {
                if (handoff) {
                    // A resume began while we were completing, handing off from us: it wins.
                    takenOver = true;
                } else if (l == null || l.isClosed() || closed) {
                    link = null;
                    scheduleExpiry();
                } else {
                    link = l;
                    l.attached();
                }
            } else {
                waiting = null;
                handoff = true;
            }
        }
        if (next == null) {
            if (takenOver && l != null) {
                l.fail(CloseCodes.SESSION_TAKEN_OVER, "session taken over");
            }
            return;
        }
        if (l != null) {
            l.fail(CloseCodes.SESSION_TAKEN_OVER, "session taken over");
        }
        transfer(l == null ? holderSnapshot() : l, next, nextLastSeq);
    }

    private synchronized SessionLink holderSnapshot() {
        return holder;
    }

    /** {@code l} closed (on its I/O thread). */
    @Override
    public void detach(SessionLink l) {
        synchronized (this) {
            if (link != l) {
                return;
            }
            link = null;
            scheduleExpiry();
        }
        if (hub.cluster != null && !migrated) {
            hub.cluster.detached(this);
        }
    }

    // Guarded by this.
    private void scheduleExpiry() {
        // A closed hub ends the sessions it holds (under their locks, so not between this check
        // and the schedule) and then closes its timer; one it no longer holds (a cluster session
        // given up here) has nothing left to expire in.
        if (closed || expiry != null || hub.isClosed()) {
            return;
        }
        expiry = hub.timer.schedule(this::expire, hub.config.sessionRetention().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void expire() {
        synchronized (this) {
            expiry = null;
            if (link != null || handoff || closed) {
                return;
            }
        }
        end(CloseCodes.SESSION_CLOSED, "session expired", false, true);
        if (hub.cluster != null && !migrated) {
            hub.cluster.expired(this); // the broker's record goes too, and the session leaves presence
        }
    }

    /** Ends the session; idempotent. {@code expired}: by the retention window or a hub shutdown. */
    @Override
    public void end(int code, String reason, boolean closeConnection, boolean expired) {
        SessionLink l;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (expiry != null) {
                expiry.cancel();
                expiry = null;
            }
            l = link;
            link = null;
        }
        if (l != null && closeConnection) {
            l.connection().close(code, reason);
        }
        hub.sessionEnded(this, expired);
        if (hub.cluster != null) {
            hub.cluster.left(this);
        }
        if (migrated) {
            // It lives on, on another node or in the broker: nothing ended for the application.
            if (handler instanceof MigrationListener m) {
                callbacks.execute(() -> hub.guard("handler.onMigrated", () -> m.onMigrated(this)));
            }
            return;
        }
        if (hub.cluster != null && !expired) {
            hub.cluster.ended(this);
        }
        RequestException failure = new RequestException(RequestException.CLOSED, "session closed: " + reason);
        ConcurrentHashMap<Long, CompletableFuture<Payload>> waiting = requests;
        if (waiting != null) {
            waiting.values().forEach(f -> hub.runOnHandlerPool(() -> f.completeExceptionally(failure)));
            waiting.clear();
        }
        callbacks.execute(() -> hub.guard("handler.onClose", () -> handler.onClose(this, code, reason)));
    }

    // ================================================================ cluster feed

    /** A sequence number and the broker position of the entry it numbers. */
    record FeedMark(long seq, long position) {
        static final FeedMark START = new FeedMark(0, 0);
    }

    /** Cluster: the topics of a session claimed from the broker, as its record has them now. */
    void restoreTopics(dev.tether.core.spi.SessionRecord record) {
        for (dev.tether.core.spi.SessionRecord.Subscription s : record.subscriptions()) {
            if (s.current()) {
                addTopic(s.topic());
            }
        }
    }

    /** The SHA-256 of the resume token (cluster only). */
    byte[] tokenHash() {
        return clusterState.tokenHash;
    }

    /** Processed client messages on their way to the broker (cluster only). */
    CommitQueue commits() {
        return clusterState.commits;
    }

    /** A topic entry from the broker (delivery thread), already encoded for this session's protocol. */
    void feedTopic(Outbound item, long position) {
        synchronized (clusterState) {
            if (clusterState.feedState == FEED_HELD) {
                clusterState.held.add(item);
                clusterState.held.add(position);
            } else if (clusterState.feedState == FEED_LIVE) {
                feedLive(item, position);
            }
        }
    }

    /** A direct message from the broker (delivery thread). */
    void feedDirect(long position, dev.tether.core.spi.BrokerMessage m) {
        Outbound item = m.reliable()
                ? Outbound.reliable(protocol.encode(m.event(), m.payload(), null), m.requestId(), position)
                : Outbound.volatileMessage(protocol.encode(m.event(), m.payload(), null));
        feedTopic(item, position);
    }

    // Guarded by clusterState.
    private void feedLive(Outbound item, long position) {
        if (item.kind != Outbound.RELIABLE) {
            enqueue(item);
            return;
        }
        if (position <= clusterState.feedPosition) {
            return; // seen already: a re-read overlapping the live stream
        }
        clusterState.feedPosition = position;
        if (closed || migrated) {
            return;
        }
        addQueued(1);
        if (!queue.offer(item)) {
            addQueued(-1);
            // Numbering must stay the broker's: no gap of our own. The client resumes from the broker.
            clusterState.feedState = FEED_GONE;
            clusterState.held = null;
            hub.cluster.overflowed(this);
            return;
        }
        hub.config.metrics().messagesQueued(1);
        scheduleDrain();
    }

    /**
     * Starts holding live entries back while a re-read is under way.
     *
     * @return the position the re-read starts after, or -1 if the feed is not live
     */
    long holdFeed() {
        synchronized (clusterState) {
            if (clusterState.feedState != FEED_LIVE) {
                clusterState.rereadWanted |= clusterState.feedState == FEED_HELD;
                return -1;
            }
            clusterState.feedState = FEED_HELD;
            clusterState.held = new ArrayList<>();
            return clusterState.feedPosition;
        }
    }

    /**
     * Goes live from {@code position}: queues {@code entries} read from the broker (those not
     * queued yet), then the entries held back meanwhile. {@code entries} null: nothing to add.
     */
    void goLive(long position, List<dev.tether.core.spi.Feed.Entry> entries) {
        List<Outbound> items = entries == null ? List.of() : Cluster.encode(this, entries);
        boolean reread;
        synchronized (clusterState) {
            if (clusterState.feedState != FEED_HELD) {
                return;
            }
            clusterState.feedState = FEED_LIVE;
            reread = clusterState.rereadWanted;
            clusterState.rereadWanted = false;
            for (Outbound item : items) {
                feedLive(item, item.position);
            }
            clusterState.feedPosition = Math.max(clusterState.feedPosition, position);
            ArrayList<Object> pending = clusterState.held;
            clusterState.held = null;
            for (int i = 0; pending != null && i < pending.size() && clusterState.feedState == FEED_LIVE; i += 2) {
                feedLive((Outbound) pending.get(i), (Long) pending.get(i + 1));
            }
        }
        if (reread) {
            hub.cluster.resync(this);
        }
    }

    /** Stops taking entries from the broker: the session left this node. Any thread. */
    void leave() {
        migrated = true;
        if (clusterState == null) {
            return; // no cluster: no feed
        }
        synchronized (clusterState) {
            clusterState.feedState = FEED_GONE;
            clusterState.held = null;
        }
    }

    /**
     * Attaches a session claimed from the broker to {@code l} (on its I/O thread): the client has
     * everything up to {@code clientLastSeq}, the broker recorded its messages up to
     * {@code clientSeq}, and {@code replay} (numbered from {@code clientLastSeq + 1}) is what it
     * missed, read up to the claim at {@code position}.
     */
    void attachRecovered(SessionLink l, long clientLastSeq, long clientSeq, List<dev.tether.core.spi.Feed.Entry> replayEntries,
                         long position) {
        synchronized (this) {
            holder = l;
        }
        lastSeq = clientLastSeq;
        ackedSeq = clientLastSeq;
        lastClientSeq = clientSeq;
        clientSeqAcked = clientSeq;
        clusterState.handledClientSeq = clientSeq;
        clusterState.durableClientSeq = clientSeq;
        l.writeControl(welcome(l, true, 0, 0, null));
        goLive(position, replayEntries);
        hub.replayed.add(replayEntries.size());
        hub.resumed.increment();
        hub.config.metrics().sessionResumed();
        hub.config.metrics().messagesReplayed(replayEntries.size());
        land(l);
    }

    /** Whether a checkpoint should be sent now; false if one is in flight (it is marked wanted again). */
    boolean checkpointWanted() {
        return ClusterState.CHECKPOINT_STATE.getAndIncrement(clusterState) == 0;
    }

    /** A checkpoint is waiting on a timer (see {@link #takeCheckpointWaiting()}). */
    void markCheckpointWaiting() {
        clusterState.checkpointWaiting = 1;
    }

    /** Whether a checkpoint was waiting on a timer; clears it, so that one caller writes it. */
    boolean takeCheckpointWaiting() {
        return ClusterState.CHECKPOINT_WAITING.compareAndSet(clusterState, 1, 0);
    }

    /** A checkpoint completed; true if another was asked for meanwhile (the caller then holds the slot). */
    boolean checkpointDone() {
        if (ClusterState.CHECKPOINT_STATE.getAndSet(clusterState, 0) > 1) {
            return ClusterState.CHECKPOINT_STATE.getAndIncrement(clusterState) == 0;
        }
        return false;
    }

    /** The broker recorded the client's messages up to {@code clientSeq}: they may be acknowledged. */
    void clientSeqDurable(long clientSeq) {
        if (clientSeq <= clusterState.durableClientSeq) {
            return;
        }
        clusterState.durableClientSeq = clientSeq;
        SessionLink l = link;
        if (l != null) {
            l.connection().execute(l::clientSeqDurable);
        }
    }

    // ================================================================ helpers

    private OutboundFrame.Welcome welcome(SessionLink l, boolean resumed, long gapFrom, long gapTo, String reason) {
        return new OutboundFrame.Welcome(id, new String(token, StandardCharsets.US_ASCII), resumed, lastClientSeq,
                gapFrom, gapTo, reason,
                hub.config.heartbeatInterval().toMillis(), hub.config.heartbeatTimeout().toMillis(),
                hub.config.maxMessageBytes(), l.protocolVersion());
    }

    /**
     * Replaces the principal with one carrying fresher credentials of the same name (the
     * connection's after a resume, or a refreshed token's). Any thread.
     *
     * @throws IllegalArgumentException if the name differs: a session never changes hands
     */
    void renewPrincipal(Principal fresh) {
        if (!fresh.getName().equals(principal.getName())) {
            throw new IllegalArgumentException("a session keeps its principal's name");
        }
        principal = fresh;
    }

    /** Runs an application callback on this session's handler executor, in order with its other callbacks. */
    @Override
    public void runCallback(String context, Runnable callback) {
        callbacks.execute(() -> hub.guard(context, callback));
    }

    /** Whether {@code l} is the link this session reads from and writes to now. */
    @Override
    public boolean isAttachedTo(SessionLink l) {
        return link == l;
    }

    /** Whether this session runs without client acknowledgements (see the class comment). */
    @Override
    public boolean isAckless() {
        return ackless;
    }

    /** The protocol this session's messages are encoded with. */
    @Override
    public Protocol protocol() {
        return protocol;
    }

    /** Constant-time comparison of a presented resume token. */
    @Override
    public boolean tokenMatches(String presented) {
        return MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.US_ASCII));
    }

    /** Messages waiting in the outbound queue, not yet written. Any thread. */
    @Override
    public int queued() {
        return queue.size();
    }

    int pendingAcks() {
        return ackless ? 0 : replay.size(); // nobody will acknowledge an ack-less session's entries
    }

    // ================================================================ gauges (see the share fields)

    private void addQueued(long n) {
        addShare(QUEUED_SHARE, n, hub.queuedGauge);
    }

    private void addShare(AtomicLongFieldUpdater<ServerSession> share, long n, LongAdder gauge) {
        if (share.getAndAdd(this, n) >= 0) {
            gauge.add(n);
        }
    }

    /** The stripe of the hub's UnackedAges this session counts in: from its id, random already. */
    private int agesStripe() {
        return Math.floorMod(id.hashCode(), UnackedAges.STRIPES);
    }

    /**
     * Brings the hub's pending-ack count and unacknowledged ages up to date with the replay
     * buffer, after a drain wrote or an ack released. Holder's I/O thread; the only thread but
     * {@link #retireGauges} that moves these shares.
     */
    private void syncUnacked() {
        if (ackless) {
            return; // nobody will acknowledge: not pending (see pendingAcks)
        }
        long reported = pendingShare;
        if (reported >= 0 && reported != replay.size()) {
            addShare(PENDING_SHARE, replay.size() - reported, hub.pendingAcksGauge);
        }
        int now = replay.oldestEpoch();
        int was = oldestEpoch;
        if (now == was || was == RETIRED_EPOCH) {
            return;
        }
        // The new epoch is counted before the old one is taken out: no count goes below zero.
        if (now > 0) {
            hub.unackedAges.add(agesStripe(), now);
        }
        if (OLDEST_EPOCH.compareAndSet(this, was, now)) {
            if (was > 0) {
                hub.unackedAges.remove(agesStripe(), was);
            }
        } else if (now > 0) {
            hub.unackedAges.remove(agesStripe(), now); // retired meanwhile
        }
    }

    /**
     * Takes this session's shares out of the hub's gauges, once it has left the session table (it
     * ended, or left this node). Idempotent; any thread.
     */
    void retireGauges() {
        long queued = QUEUED_SHARE.getAndSet(this, RETIRED);
        if (queued > 0) {
            hub.queuedGauge.add(-queued);
        }
        long pending = PENDING_SHARE.getAndSet(this, RETIRED);
        if (pending > 0) {
            hub.pendingAcksGauge.add(-pending);
        }
        int epoch = OLDEST_EPOCH.getAndSet(this, RETIRED_EPOCH);
        if (epoch > 0) {
            hub.unackedAges.remove(agesStripe(), epoch);
        }
    }

    /** Answers one client request through the outbound queue; first answer wins. */
    private final class ClientRequest implements Responder {
        private final long requestId;
        private final AtomicBoolean answered = new AtomicBoolean();

        ClientRequest(long requestId) {
            this.requestId = requestId;
        }

        @Override
        public void reply(Payload payload) {
            Objects.requireNonNull(payload, "payload");
            answer(new OutboundFrame.Reply(requestId, payload));
        }

        @Override
        public void fail(String code, String message) {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
            answer(new OutboundFrame.ReplyError(requestId, code, message));
        }

        /**
         * Clustered, an answer given while the request's handler runs follows the commit of what
         * the handler did: a client that has the reply finds the handler's subscriptions and
         * publishes in the cluster. If the commit is abandoned the answer is dropped with it; the
         * client resends the request where it resumes.
         */
        private void answer(OutboundFrame frame) {
            if (answered.compareAndSet(false, true)) {
                Outbound item = Outbound.control(frame);
                if (hub.cluster == null || !hub.cluster.afterCommit(() -> enqueue(item))) {
                    enqueue(item);
                }
            }
        }
    }
}
