package dev.tether.core;

import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import dev.tether.core.spi.BrokerListener;
import dev.tether.core.spi.BrokerMessage;
import dev.tether.core.spi.Claim;
import dev.tether.core.spi.Feed;
import dev.tether.core.spi.SessionRecord;
import dev.tether.core.spi.SessionRecord.Subscription;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Broker} cluster inside one JVM: every {@link #node()} is the broker of one hub, and
 * the hubs share topics, sessions and history as nodes on Redis would. For tests, for trying the
 * cluster semantics without Redis, and as the reference implementation of the broker contract.
 * Nothing survives the JVM.
 *
 * <p>Threading: one lock orders every operation (the position counter); each node delivers to
 * its listener on a thread of its own, in position order.
 *
 * @since 0.1.0
 */
public final class InMemoryCluster {

    private final Object lock = new Object();
    private final int historyLength;
    private final AtomicInteger nodeIds = new AtomicInteger();

    // Guarded by lock.
    private long position;
    private final Map<String, Topic> topics = new HashMap<>();
    private final Map<String, Rec> sessions = new HashMap<>();
    private final Set<Member> nodes = new LinkedHashSet<>();
    /** Topic to the nodes that {@link Broker#watchPresence watch} it. */
    private final Map<String, Set<Member>> watchers = new HashMap<>();

    /** A cluster that keeps the last 10,000 entries of each topic. */
    public InMemoryCluster() {
        this(10_000);
    }

    /**
     * A cluster that keeps the last {@code historyLength} entries of each topic.
     *
     * @param historyLength the entries kept per topic, at least 1
     */
    public InMemoryCluster(int historyLength) {
        if (historyLength < 1) {
            throw new IllegalArgumentException("historyLength must be positive: " + historyLength);
        }
        this.historyLength = historyLength;
    }

    /**
     * A new node's broker: give it to one hub's {@code TetherConfig.Builder#broker}.
     *
     * @return a broker for one more node of this cluster
     */
    public Broker node() {
        return new Member("mem-" + nodeIds.incrementAndGet());
    }

    /**
     * Cuts {@code node} off from the cluster, or joins it again: while cut, every call that node
     * makes fails at once with {@link BrokerException#UNAVAILABLE}, as a node's calls do while
     * Redis cannot be reached; what the other nodes do still reaches its listener. For tests of
     * how an application and the engine behave while the broker is unreachable.
     *
     * @param node a broker of this cluster ({@link #node()})
     *
     * @param reachable false to cut it off, true to join it again
     * @throws IllegalArgumentException if {@code node} is not one of this cluster's
     */
    public void setReachable(Broker node, boolean reachable) {
        if (!(node instanceof Member m) || m.cluster() != this) {
            throw new IllegalArgumentException("not a node of this cluster: " + node);
        }
        m.unreachable = !reachable;
    }

    private static final class Topic {
        final ArrayDeque<Feed.Entry> history = new ArrayDeque<>();
        /** The highest position trimmed from the history, 0 if none. */
        long trimmed;
        /** Current subscribers: session id to the record. */
        final Map<String, Rec> subscribers = new LinkedHashMap<>();
    }

    private static final class Rec {
        final String id;
        final String principal;
        final byte[] tokenHash;
        final String protocol;
        final List<Subscription> subscriptions = new ArrayList<>();
        final List<Feed.Entry> inbox = new ArrayList<>();
        /** The highest position dropped from the inbox by its length cap, 0 if none. */
        long inboxTrimmed;
        long checkpointSeq;
        long checkpointPosition;
        long clientSeq;
        long highestAttempt;
        boolean ended;
        Member owner;

        Rec(SessionRecord r, Member owner) {
            this.id = r.sessionId();
            this.principal = r.principal();
            this.tokenHash = r.tokenHash();
            this.protocol = r.protocol();
            this.subscriptions.addAll(r.subscriptions());
            this.owner = owner;
        }

        SessionRecord snapshot() {
            return new SessionRecord(id, principal, tokenHash, protocol, subscriptions,
                    checkpointSeq, checkpointPosition, clientSeq);
        }

        Set<String> currentTopics() {
            Set<String> current = new LinkedHashSet<>();
            for (Subscription s : subscriptions) {
                if (s.current()) {
                    current.add(s.topic());
                }
            }
            return current;
        }
    }

    private final class Member implements Broker {
        private final String id;
        private final ExecutorService delivery;
        private volatile BrokerListener listener;
        private volatile Broker.Node context;
        private volatile boolean closed;
        private volatile boolean unreachable;

        Member(String id) {
            this.id = id;
            this.delivery = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "tether-broker-" + id);
                t.setDaemon(true);
                return t;
            });
        }

        /** Guarded by lock: queues a listener call, so calls leave in lock (position) order. */
        private void tell(java.util.function.Consumer<BrokerListener> call) {
            if (!closed && listener != null) {
                delivery.execute(() -> call.accept(listener));
            }
        }

        @Override
        public void start(Broker.Node node) {
            synchronized (lock) {
                this.context = node;
                this.listener = node.listener();
                nodes.add(this);
            }
        }

        @Override
        public String nodeId() {
            return id;
        }

        private static <T> CompletableFuture<T> noSession(String sessionId) {
            return CompletableFuture.failedFuture(new BrokerException(BrokerException.NO_SESSION,
                    "no session " + sessionId));
        }

        private <T> CompletableFuture<T> unavailableIfClosed() {
            if (closed || unreachable) {
                return CompletableFuture.failedFuture(new BrokerException(BrokerException.UNAVAILABLE,
                        "node " + id + (closed ? " is closed" : " is cut off from the cluster")));
            }
            return null;
        }

        InMemoryCluster cluster() {
            return InMemoryCluster.this;
        }

        @Override
        public CompletableFuture<Void> publish(String topicName, BrokerMessage message) {
            CompletableFuture<Void> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                appendPublish(topicName, message);
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> send(String sessionId, BrokerMessage message) {
            CompletableFuture<Void> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                if (!appendSend(sessionId, message)) {
                    return noSession(sessionId);
                }
            }
            return CompletableFuture.completedFuture(null);
        }

        /** Guarded by lock. */
        private void appendPublish(String topicName, BrokerMessage message) {
            Topic topic = topics.computeIfAbsent(topicName, t -> new Topic());
            long at = 0;
            if (message.reliable()) {
                at = ++position;
                topic.history.addLast(new Feed.Entry(at, topicName, message));
                while (topic.history.size() > historyLength) {
                    topic.trimmed = topic.history.removeFirst().position();
                }
            }
            long p = at;
            Set<Member> owners = new LinkedHashSet<>();
            for (Rec r : topic.subscribers.values()) {
                owners.add(r.owner);
            }
            for (Member n : owners) {
                n.tell(l -> l.onPublished(p, topicName, message));
            }
        }

        /** Guarded by lock; false if there is no such session. */
        private boolean appendSend(String sessionId, BrokerMessage message) {
            Rec r = sessions.get(sessionId);
            if (r == null || r.ended) {
                return false;
            }
            long p = 0;
            if (message.reliable()) {
                p = ++position;
                r.inbox.add(new Feed.Entry(p, null, message));
                if (r.inbox.size() > historyLength) {
                    // A session whose client holds its position is never checkpointed past them.
                    r.inboxTrimmed = r.inbox.remove(0).position();
                }
            }
            long at = p;
            r.owner.tell(l -> l.onSent(at, sessionId, message));
            return true;
        }

        @Override
        public CompletableFuture<Void> commit(String sessionId, long clientSeq, List<Broker.Effect> effects) {
            CompletableFuture<Void> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                Rec r = sessions.get(sessionId);
                if (r == null || r.ended) {
                    return noSession(sessionId);
                }
                if (clientSeq > 0 && r.owner != this) {
                    return CompletableFuture.failedFuture(new BrokerException(BrokerException.NOT_OWNER,
                            "session " + sessionId + " is owned by another node"));
                }
                boolean fresh = clientSeq > r.clientSeq;
                for (Broker.Effect e : effects) {
                    switch (e.kind()) {
                        case PUBLISH -> {
                            if (fresh) {
                                appendPublish(e.topic(), e.message());
                            }
                        }
                        case SEND -> {
                            if (fresh) {
                                appendSend(e.sessionId(), e.message());
                            }
                        }
                        case SUBSCRIBE, UNSUBSCRIBE -> {
                            Rec target = sessions.get(e.sessionId());
                            if (target != null && !target.ended) {
                                changeSubscriptionLocked(target, e.topic(), e.kind() == Broker.Effect.Kind.SUBSCRIBE);
                            }
                        }
                    }
                }
                if (fresh) {
                    r.clientSeq = clientSeq;
                }
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Long> create(SessionRecord record) {
            CompletableFuture<Long> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                long p = ++position;
                Rec r = new Rec(record, this);
                r.checkpointPosition = p;
                sessions.put(r.id, r);
                tell(l -> l.onClaimed(p, r.id, Set.of()));
                return CompletableFuture.completedFuture(p);
            }
        }

        @Override
        public CompletableFuture<Claim> claim(String sessionId, byte[] tokenHash, long attempt) {
            CompletableFuture<Claim> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                Rec r = sessions.get(sessionId);
                if (r == null) {
                    return CompletableFuture.completedFuture(Claim.missing());
                }
                if (r.ended) {
                    return CompletableFuture.completedFuture(Claim.ended());
                }
                if (!MessageDigest.isEqual(r.tokenHash, tokenHash)) {
                    return CompletableFuture.completedFuture(Claim.forbidden());
                }
                if (attempt > 0) {
                    if (attempt <= r.highestAttempt) {
                        return CompletableFuture.completedFuture(Claim.stale());
                    }
                    r.highestAttempt = attempt;
                }
                long p = ++position;
                Member previous = r.owner;
                r.owner = this;
                Set<String> current = r.currentTopics();
                if (previous != this) {
                    previous.tell(l -> l.onReleased(sessionId));
                }
                if (previous.closed) {
                    // It left with its node; from a live one it is present again.
                    for (String t : current) {
                        announce(topics.get(t), t, r, true);
                    }
                }
                tell(l -> l.onClaimed(p, sessionId, current));
                return CompletableFuture.completedFuture(Claim.claimed(r.snapshot(), p));
            }
        }

        @Override
        public CompletableFuture<Feed> read(SessionRecord record, long after, long upTo) {
            CompletableFuture<Feed> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                List<Feed.Entry> entries = new ArrayList<>();
                for (Subscription s : record.subscriptions()) {
                    long from = Math.max(after, s.from());
                    long to = Math.min(upTo, s.to());
                    if (to <= from) {
                        continue;
                    }
                    Topic topic = topics.get(s.topic());
                    if (topic == null) {
                        continue; // never published to
                    }
                    if (topic.trimmed > from) {
                        return CompletableFuture.completedFuture(Feed.incomplete("trimmed"));
                    }
                    for (Feed.Entry e : topic.history) {
                        if (e.position() > from && e.position() <= to) {
                            entries.add(e);
                        }
                    }
                }
                Rec r = sessions.get(record.sessionId());
                if (r != null) {
                    if (r.inboxTrimmed > after) {
                        return CompletableFuture.completedFuture(Feed.incomplete("trimmed"));
                    }
                    for (Feed.Entry e : r.inbox) {
                        if (e.position() > after && e.position() <= upTo) {
                            entries.add(e);
                        }
                    }
                }
                entries.sort(java.util.Comparator.comparingLong(Feed.Entry::position));
                return CompletableFuture.completedFuture(Feed.of(entries));
            }
        }

        @Override
        public CompletableFuture<Long> subscribe(String sessionId, String topicName) {
            return changeSubscription(sessionId, topicName, true);
        }

        @Override
        public CompletableFuture<Long> unsubscribe(String sessionId, String topicName) {
            return changeSubscription(sessionId, topicName, false);
        }

        private CompletableFuture<Long> changeSubscription(String sessionId, String topicName, boolean subscribe) {
            CompletableFuture<Long> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                Rec r = sessions.get(sessionId);
                if (r == null || r.ended) {
                    return noSession(sessionId);
                }
                return CompletableFuture.completedFuture(changeSubscriptionLocked(r, topicName, subscribe));
            }
        }

        /** Guarded by lock: the change and its marker, at the position returned. */
        private long changeSubscriptionLocked(Rec r, String topicName, boolean subscribe) {
            String sessionId = r.id;
            long p = ++position;
            Topic topic = topics.computeIfAbsent(topicName, t -> new Topic());
            boolean current = r.currentTopics().contains(topicName);
            if (subscribe && !current) {
                r.subscriptions.add(new Subscription(topicName, p, Long.MAX_VALUE));
                topic.subscribers.put(sessionId, r);
                announce(topic, topicName, r, true);
            } else if (!subscribe && current) {
                r.subscriptions.replaceAll(s -> s.topic().equals(topicName) && s.current()
                        ? new Subscription(topicName, s.from(), p) : s);
                announce(topic, topicName, r, false);
                topic.subscribers.remove(sessionId);
            }
            Member owner = r.owner;
            if (subscribe) {
                owner.tell(l -> l.onSubscribed(p, sessionId, topicName));
            } else {
                owner.tell(l -> l.onUnsubscribed(p, sessionId, topicName));
            }
            return p;
        }

        /** Guarded by lock: a join or leave to every node with a subscriber of the topic or watching it. */
        private void announce(Topic topic, String topicName, Rec r, boolean joined) {
            Set<Member> owners = new HashSet<>(watchers.getOrDefault(topicName, Set.of()));
            for (Rec s : topic.subscribers.values()) {
                owners.add(s.owner);
            }
            for (Member n : owners) {
                n.tell(l -> l.onPresence(topicName, r.id, r.principal, joined));
            }
        }

        @Override
        public CompletableFuture<Void> checkpoint(String sessionId, long seq, long at, long clientSeq) {
            CompletableFuture<Void> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                Rec r = sessions.get(sessionId);
                if (r == null) {
                    return noSession(sessionId);
                }
                if (r.owner != this) {
                    return CompletableFuture.completedFuture(null); // a late checkpoint of its former node
                }
                if (seq > r.checkpointSeq) {
                    r.checkpointSeq = seq;
                    r.checkpointPosition = at;
                    r.subscriptions.removeIf(s -> s.to() <= at);
                    r.inbox.removeIf(e -> e.position() <= at);
                }
                r.clientSeq = Math.max(r.clientSeq, clientSeq);
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> detach(String sessionId) {
            return CompletableFuture.completedFuture(null); // nothing expires in memory
        }

        @Override
        public CompletableFuture<Void> end(String sessionId) {
            synchronized (lock) {
                Rec r = sessions.get(sessionId);
                if (r != null && !r.ended) {
                    r.ended = true;
                    r.inbox.clear();
                    for (String t : r.currentTopics()) {
                        Topic topic = topics.get(t);
                        announce(topic, t, r, false);
                        topic.subscribers.remove(sessionId);
                    }
                }
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> expire(String sessionId) {
            synchronized (lock) {
                Rec r = sessions.get(sessionId);
                if (r != null && !r.ended && r.owner == this) {
                    for (String t : r.currentTopics()) {
                        Topic topic = topics.get(t);
                        announce(topic, t, r, false);
                        topic.subscribers.remove(sessionId);
                    }
                    sessions.remove(sessionId);
                }
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> watchPresence(String topicName) {
            CompletableFuture<Void> failed = unavailableIfClosed();
            if (failed != null) {
                return failed;
            }
            synchronized (lock) {
                watchers.computeIfAbsent(topicName, t -> new HashSet<>()).add(this);
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> unwatchPresence(String topicName) {
            synchronized (lock) {
                unwatch(topicName);
            }
            return CompletableFuture.completedFuture(null);
        }

        /** Guarded by lock. */
        private void unwatch(String topicName) {
            Set<Member> w = watchers.get(topicName);
            if (w != null && w.remove(this) && w.isEmpty()) {
                watchers.remove(topicName);
            }
        }

        @Override
        public CompletableFuture<Map<String, String>> presence(String topicName) {
            synchronized (lock) {
                Map<String, String> present = new LinkedHashMap<>();
                Topic topic = topics.get(topicName);
                if (topic != null) {
                    for (Rec r : topic.subscribers.values()) {
                        if (!r.owner.closed) {
                            present.put(r.id, r.principal);
                        }
                    }
                }
                return CompletableFuture.completedFuture(present);
            }
        }

        @Override
        public CompletableFuture<Long> clusterConnections() {
            long sum = 0;
            synchronized (lock) {
                for (Member n : nodes) {
                    sum += n.context.connections().getAsInt();
                }
            }
            return CompletableFuture.completedFuture(sum);
        }

        @Override
        public long nodeTimeoutMs() {
            return 0; // a closed node is gone at once
        }

        @Override
        public void close() {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                closed = true;
                nodes.remove(this);
                for (String t : List.copyOf(watchers.keySet())) {
                    unwatch(t);
                }
                // Its sessions stay claimable, but leave presence with their node.
                for (Rec r : sessions.values()) {
                    if (r.owner == this && !r.ended) {
                        for (String t : r.currentTopics()) {
                            announce(topics.get(t), t, r, false);
                        }
                    }
                }
            }
            delivery.shutdown();
        }

        @Override
        public String toString() {
            return "InMemoryCluster.Node[" + id + "]";
        }
    }
}
