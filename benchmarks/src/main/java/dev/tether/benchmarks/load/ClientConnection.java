package dev.tether.benchmarks.load;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One generated WebSocket connection. Plain fields: only its {@link ClientLoop}'s thread touches it.
 * Input not yet parsed and output not yet written are kept per connection only while they exist;
 * otherwise the loop's shared buffers serve every connection.
 */
final class ClientConnection {

    static final int IDLE = 0;
    static final int CONNECTING = 1;
    /** Upgrade request written, waiting for {@code 101}. */
    static final int UPGRADING = 2;
    /** WebSocket open, waiting for Tether's {@code welcome} or Socket.IO's {@code 40}. */
    static final int JOINING = 3;
    static final int OPEN = 4;
    /** Close frame sent by us, waiting for the server's. */
    static final int CLOSING = 5;
    static final int CLOSED = 6;
    /** Storm: cut, waiting for its next reconnect attempt at {@link #reconnectAtNs}. */
    static final int WAITING = 7;

    /** Index over the whole run: picks the source address and, with the loop count, the intended open time. */
    final int index;

    SocketChannel channel;
    SelectionKey key;
    int state = IDLE;
    long connectStartNs;
    String webSocketKey;

    /** Received bytes not yet parsed (a partial frame or header). */
    byte[] carry;
    int carryLength;
    /** A fragmented text message being assembled. */
    byte[] fragment;
    int fragmentLength;
    /** Bytes the socket did not take, in read mode; null when everything was written. */
    ByteBuffer pending;

    /**
     * Tether: the highest server {@code seq} received, and the last one acknowledged. Socket.IO
     * subscribers: the highest publish number received ({@link ClientLoop#publishSeq}).
     */
    long highestSeq;
    /** The cluster position of message {@link #highestSeq} (PROTOCOL.md §13), 0 if none. */
    long highestPos;
    long ackedSeq;
    /** Tether: our next message {@code seq}; Socket.IO: our next ack id. */
    long nextOutboundId = 1;

    /** Broadcast / storm: run index 0 publishes, the others subscribe. */
    boolean publisher;
    boolean subscriber;
    /** Broadcast: stops reading once subscribed. */
    boolean stalled;
    boolean subscribed;
    /** Stalled: counted in {@link RunControl#stalledResolved} / its close code recorded. */
    boolean resolved;
    boolean closeRecorded;
    /** Messages (and gap-lost messages) this subscriber has seen. */
    long seen;
    /** Healthy subscriber: messages delivered (in order, no duplicates). */
    long delivered;

    /** Storm (Tether): the session to resume. */
    String sid;
    String token;
    /** Storm: cut and not resumed yet. */
    boolean reconnecting;
    long cutNs;
    long reconnectAtNs;
    int failures;
    int resumeAttempt;
    /** Retry-After of a 503 refusal, in ms (0: none). */
    long retryAfterMs;
    /** Position in its loop's connection array. */
    int slot;
    /** Index into {@link LoadOptions#targets()} of the server it connects (or last connected) to. */
    int target;

    ClientConnection(int index) {
        this.index = index;
    }

    boolean established() {
        return state == OPEN || state == CLOSING;
    }
}
