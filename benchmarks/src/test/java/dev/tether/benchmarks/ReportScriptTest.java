package dev.tether.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The last step of {@code benchmarks/run}: {@code scripts/report.py} turns the two servers'
 * measurements into the side-by-side Markdown table. The inputs are the measurement files of a
 * real echo run (the Tether and Socket.IO files of {@code results/echo-20261128T095336Z}, copied
 * to the test resources) and the settings file {@code benchmarks/run} writes; the test checks the
 * table's ratios and that the report says how both servers were run. Needs {@code python3}, as
 * {@code benchmarks/run} does.
 */
@Timeout(60)
class ReportScriptTest {

    private static final String META = """
            {"scenario": "echo", "size": "full", "timestamp": "20261128T095336Z",
             "log": "echo-20261128T095336Z.log", "generators": 1,
             "java_opts": "-XX:NativeMemoryTracking=summary",
             "socketio_log": true, "warmup": "4000 handshakes, then 15 s of echo",
             "histogram_logs": {"tether": "echo-20261128T095336Z.tether.hlog",
                                "socketio": "echo-20261128T095336Z.socketio.hlog"},
             "jvm_flags": "-XX:+UseG1GC",
             "machine": {"nproc": 2},
             "versions": {"java": "17", "node": "v20", "socket.io": "4.8.4"},
             "commands": ["benchmarks/run echo --size full --generators 1"]}
            """;

    @Test
    void writesTheSideBySideTableWithRatiosAndHowBothServersRan(@TempDir Path dir) throws Exception {
        Path meta = Files.writeString(dir.resolve("meta.json"), META);
        Path tether = copyResource("report/tether.json", dir.resolve("tether.json"));
        Path socketIo = copyResource("report/socketio.json", dir.resolve("socketio.json"));
        Path out = dir.resolve("report.md");

        Process p = new ProcessBuilder("python3", script().toString(), meta.toString(), tether.toString(),
                socketIo.toString(), out.toString()).redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("report.py finished").isTrue();
        assertThat(p.exitValue()).as("report.py exit status; it printed: %s", printed).isZero();

        String report = Files.readString(out);
        assertThat(report)
                .startsWith("# `echo` (full): Tether vs Socket.IO, 20261128T095336Z")
                // the generator's figures and the server-side ones, each with Tether / Socket.IO
                .contains("| latencyP99Ms | 3.509 | 6.771 | 0.518 |")
                .contains("| lost | 0 | 0 | — |")
                .contains("| server CPU per message (µs) = CPU in window / received | 80.267 | 76.833 | 1.04 |")
                .contains("- JAVA_OPTS for the Tether server: `-XX:NativeMemoryTracking=summary`")
                .contains("- Socket.IO peer: with the seed's per-message `console.log` (`SOCKETIO_LOG=1`)")
                .contains("- Unmeasured warm-up of each server: 4000 handshakes, then 15 s of echo")
                .contains("benchmarks/run echo --size full --generators 1")
                .contains("echo-20261128T095336Z.tether.hlog");
    }

    /** {@code scripts/report.py} from the module directory surefire runs in, or from the repository root. */
    private static Path script() {
        for (Path candidate : new Path[] {Path.of("scripts", "report.py"), Path.of("benchmarks", "scripts", "report.py")}) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath();
            }
        }
        throw new AssertionError("scripts/report.py not found from " + Path.of("").toAbsolutePath());
    }

    private static Path copyResource(String name, Path target) throws IOException {
        try (InputStream in = ReportScriptTest.class.getClassLoader().getResourceAsStream(name)) {
            assertThat(in).as("test resource %s", name).isNotNull();
            Files.copy(in, target);
        }
        return target;
    }
}
