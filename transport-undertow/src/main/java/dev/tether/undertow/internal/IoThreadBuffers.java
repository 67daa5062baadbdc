package dev.tether.undertow.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * What one I/O thread shares among all its connections: the two buffers, the one each read lands
 * in and the one each batch of outbound frames is encoded into, and the sweep that closes idle
 * connections. A connection holds neither buffer while it is idle; it only keeps bytes of its own
 * when they outlive the call that produced them (a partial header, or reads suspended in the
 * middle of a buffer; frames the socket did not take).
 *
 * <p>Idle timeout: rather than a timer per connection (XNIO's, about 80 bytes and a tree insert
 * each), the thread's connections are kept in a list that one timer walks every eighth of the
 * shortest idle timeout among them ({@link #sweepPeriodMs(long)}): a connection idle for its
 * timeout is closed within an eighth of that timeout after it. The timeout is a backstop behind the
 * heartbeat (55 s by default), so a sweep comes every 7 s and looks at each connection's last
 * read time: about 1,500 such looks a second for 10,000 connections.
 *
 * <p>Threading: only the owning I/O thread touches them ({@link #current()} on it). The write
 * buffer holds the frames of one connection at a time, {@link #writer}; a connection that needs
 * it while another's frames are in it writes those to their socket first, so that bytes of
 * different connections never mix and nothing waits for a flush that is not coming.
 */
final class IoThreadBuffers {

    /** Bytes read from the socket per read call: a few typical messages, or part of a large one. */
    static final int READ_BYTES = 32 * 1024;
    /** Bytes of frames one flush can write in a single system call. */
    static final int WRITE_BYTES = 64 * 1024;

    private static final ThreadLocal<IoThreadBuffers> BUFFERS = ThreadLocal.withInitial(IoThreadBuffers::new);

    /** Heap, so that payloads can be unmasked and checked in its array. */
    final ByteBuffer read = ByteBuffer.allocate(READ_BYTES);
    /** Direct, so that the socket write copies nothing. */
    final ByteBuffer write = ByteBuffer.allocateDirect(WRITE_BYTES);
    /** The connection whose unflushed frames are in {@link #write}, or null when it is empty. */
    UndertowConnection writer;

    /** This thread's open connections, linked through their {@code idlePrev} and {@code idleNext}. */
    private UndertowConnection first;
    /** The period of the armed sweep; {@code Long.MAX_VALUE} when the last sweep found no connection. */
    private long sweepEveryMs = Long.MAX_VALUE;
    private XnioExecutor.Key sweep;

    private IoThreadBuffers() {
    }

    /** How often connections idle for {@code idleTimeoutMs} must be looked at. */
    static long sweepPeriodMs(long idleTimeoutMs) {
        return Math.max(1, idleTimeoutMs / 8);
    }

    /** Starts watching {@code connection} for its idle timeout. Its I/O thread, this one. */
    void watchIdle(UndertowConnection connection, XnioIoThread thread, long idleTimeoutMs) {
        connection.idleNext = first;
        if (first != null) {
            first.idlePrev = connection;
        }
        first = connection;
        long period = sweepPeriodMs(idleTimeoutMs);
        if (sweep == null || period < sweepEveryMs) {
            if (sweep != null) {
                sweep.remove();
            }
            sweepEveryMs = period;
            armSweep(thread);
        }
    }

    /** Stops watching {@code connection}: its socket closed. Its I/O thread (or after that thread ended). */
    void unwatchIdle(UndertowConnection connection) {
        UndertowConnection prev = connection.idlePrev;
        UndertowConnection next = connection.idleNext;
        if (prev != null) {
            prev.idleNext = next;
        } else if (first == connection) {
            first = next;
        }
        if (next != null) {
            next.idlePrev = prev;
        }
        connection.idlePrev = null;
        connection.idleNext = null;
    }

    private void armSweep(XnioIoThread thread) {
        try {
            sweep = thread.executeAfter(() -> sweep(thread), sweepEveryMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            sweep = null; // the thread is stopping: its connections are closing with it
        }
    }

    private void sweep(XnioIoThread thread) {
        sweep = null;
        long now = System.nanoTime();
        for (UndertowConnection c = first, next; c != null; c = next) {
            next = c.idleNext; // c may leave the list while it is checked
            c.idleCheck(now);
        }
        if (first != null) {
            armSweep(thread);
        } else {
            sweepEveryMs = Long.MAX_VALUE; // the next connection sets it again
        }
    }

    /** The buffers of the calling thread, an I/O thread. */
    static IoThreadBuffers current() {
        return BUFFERS.get();
    }
}
