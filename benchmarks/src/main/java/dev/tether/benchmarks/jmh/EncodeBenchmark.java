package dev.tether.benchmarks.jmh;

import dev.tether.core.Payload;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.EncodedMessage;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.Protocol;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The protocol's two steps for an application message: {@code encode} (once per send or
 * publish, the session-independent bytes) and {@code frame} (once per delivery, the per-session
 * prefix around the shared bytes).
 *
 * <p>Mode: average time, ns per call. Payloads: a small JSON object
 * ({@code {"user":"alice","text":"hello, world","n":42}}) and a short text, published to a topic
 * as {@code Tether.publish} encodes them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class EncodeBenchmark {

    private final Protocol protocol = TetherConfig.defaults().protocol();
    private final Payload json = BenchHub.smallJson();
    private final Payload text = Payload.text("hello, world");
    private final EncodedMessage encoded = protocol.encode("tick", json, "room-1");
    private long seq = 1_000_000;

    /** Encodes a small JSON payload for a topic. */
    @Benchmark
    public EncodedMessage encodeJson() {
        return protocol.encode("tick", json, "room-1");
    }

    /** Encodes a short text payload for a topic. */
    @Benchmark
    public EncodedMessage encodeText() {
        return protocol.encode("tick", text, "room-1");
    }

    /** Frames an encoded message for one delivery (a 7-digit sequence number, no request id). */
    @Benchmark
    public Frame frame() {
        return protocol.frame(++seq, 0, encoded);
    }
}
