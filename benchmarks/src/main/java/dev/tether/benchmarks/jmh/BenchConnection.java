package dev.tether.benchmarks.jmh;

import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A transport connection without a socket. {@link #write(Frame)} hands the frame to a
 * {@link Blackhole} (so the engine's frame objects escape, as they do into a real transport) and
 * adds up its bytes without copying them; {@link #flush()} only counts. Subclasses decide what
 * the connection's I/O thread is and how {@link #execute(Runnable)} gets tasks onto it.
 *
 * <p>Threading: as {@link TransportConnection}. {@link #write}, {@link #flush}, the counters and
 * {@link #feed(ByteBuffer)} belong to the I/O thread; {@link #execute} and {@link #close} may be
 * called from any thread.
 */
abstract class BenchConnection implements TransportConnection {

    private static final InetSocketAddress ADDRESS = InetSocketAddress.createUnresolved("benchmark", 1);

    private final Blackhole sink;
    private ConnectionListener listener;
    /** Set by {@link #close}, from any thread; 0 while open. */
    private volatile int closeCode;
    private volatile String closeReason;
    private boolean closedReported;
    /** Non-null while {@link #startCapture()} is recording frames as text (setup only). */
    private List<String> captured;

    /** Frames written; read on the I/O thread. */
    long frames;
    /** Flushes; read on the I/O thread. */
    long flushes;
    /** Bytes of all frames written. */
    long bytes;
    private long framesAtReady;
    private long acked;

    BenchConnection(Blackhole sink) {
        this.sink = sink;
    }

    /** A text frame {@code {"t":"ack","seq":seq}}, as a client sends it. */
    static ByteBuffer ackFrame(long seq) {
        return ByteBuffer.wrap(("{\"t\":\"ack\",\"seq\":" + seq + "}").getBytes(StandardCharsets.US_ASCII));
    }

    /** The hello that opens a new session, as a client sends it. */
    static ByteBuffer helloFrame() {
        return ByteBuffer.wrap("{\"t\":\"hello\",\"v\":1}".getBytes(StandardCharsets.US_ASCII));
    }

    void listener(ConnectionListener listener) {
        this.listener = listener;
    }

    /** Feeds one inbound text frame to the engine. I/O thread only. */
    void feed(ByteBuffer frame) {
        listener.onFrame(frame, false);
    }

    /** Starts recording written frames as text, to read the welcome during setup. */
    void startCapture() {
        captured = new ArrayList<>();
    }

    /** Stops recording and returns what was written since {@link #startCapture()}. */
    List<String> stopCapture() {
        List<String> frames = captured;
        captured = null;
        return frames;
    }

    /** Marks the session as set up: from here on every frame written is a reliable message. */
    void ready() {
        framesAtReady = frames;
        acked = 0;
    }

    /**
     * Reliable messages written since {@link #ready()}: in these benchmarks nothing else is written
     * after the welcome (heartbeats are an hour apart), so this is also the session's last
     * sequence number.
     */
    long messages() {
        return frames - framesAtReady;
    }

    /** The last sequence number this connection acknowledged. */
    long acked() {
        return acked;
    }

    /**
     * Acknowledges everything written once at least {@code every} messages are unacknowledged,
     * as a client would, so the replay buffer never fills. I/O thread only.
     *
     * @return whether an ack was fed
     */
    boolean ackIfDue(int every) {
        long seq = messages();
        if (seq - acked < every) {
            return false;
        }
        acked = seq;
        feed(ackFrame(seq));
        return true;
    }

    /** Records that {@code seq} was acknowledged by a frame fed elsewhere (a shared ack frame). */
    void acked(long seq) {
        acked = seq;
    }

    boolean isClosed() {
        return closeCode != 0;
    }

    /** Why the engine closed this connection, for failure messages; empty while open. */
    String closeStatus() {
        return closeCode == 0 ? "" : "; connection closed " + closeCode + " " + closeReason;
    }

    // ------------------------------------------------------------ TransportConnection

    @Override
    public boolean write(Frame frame) {
        if (closeCode != 0) {
            return false;
        }
        sink.consume(frame);
        bytes += frame.length();
        frames++;
        if (captured != null) {
            captured.add(text(frame));
        }
        return true;
    }

    private static String text(Frame frame) {
        StringBuilder s = new StringBuilder();
        for (ByteBuffer part : frame.parts()) {
            ByteBuffer view = part.duplicate();
            byte[] b = new byte[view.remaining()];
            view.get(b);
            s.append(new String(b, StandardCharsets.UTF_8));
        }
        return s.toString();
    }

    @Override
    public void flush() {
        flushes++;
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public void suspendReads() {
        // Nothing to read from; the benchmarks never back handlers up far enough to get here.
    }

    @Override
    public void resumeReads() {
        // See suspendReads.
    }

    @Override
    public void close(int code, String reason) {
        if (closeCode != 0) {
            return;
        }
        closeReason = reason;
        closeCode = code;
        // The transport reports the end on the I/O thread, as a real one does.
        execute(() -> {
            if (!closedReported && listener != null) {
                closedReported = true;
                listener.onClosed(code, reason);
            }
        });
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return ADDRESS;
    }
}
