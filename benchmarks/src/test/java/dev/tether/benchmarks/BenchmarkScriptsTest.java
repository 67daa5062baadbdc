package dev.tether.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.HotSpotDiagnosticMXBean;
import dev.tether.redis.internal.Script;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two scripts {@code benchmarks/run} is built on, run as it runs them (needs {@code python3},
 * as {@code benchmarks/run} does):
 * <ul>
 *   <li>{@code scripts/procstat.py drive} runs the load generator and samples the server process at
 *       the phase changes its progress lines show. Here the "generator" is a short Python program
 *       printing such lines and a {@code RESULT}, and the "server" is this test's own JVM;</li>
 *   <li>{@code scripts/report.py} turns the two servers' measurements into the side-by-side
 *       Markdown table. Its inputs are the measurement files of a real echo run (the Tether and
 *       Socket.IO files of {@code results/echo-20261128T095336Z}, copied to the test resources)
 *       and the settings file {@code benchmarks/run} writes.</li>
 * </ul>
 */
@Timeout(60)
class BenchmarkScriptsTest {

    /** A stand-in generator: the progress lines of an echo run, then its RESULT, then an exit status. */
    private static String fakeGenerator(int connected, int exit) {
        return "import sys\n"
                + "print('[   0.5s] ramp   open=3 connected=3')\n"
                + "print('[   1.0s] echo   open=3 sent=10')\n"
                + "print('[   2.0s] grace  open=3 received=10')\n"
                + "print('RESULT {\"connected\": " + connected + ", \"lost\": 0}')\n"
                + "sys.exit(" + exit + ")\n";
    }

    @Test
    void driveSamplesTheServerAtThePhaseChangesAndKeepsTheGeneratorsResult(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run.json");
        Path log = dir.resolve("run.log");
        Run run = python(List.of(script("procstat.py").toString(), "drive",
                "--server-pid", Long.toString(ProcessHandle.current().pid()), "--scenario", "echo",
                "--seconds", "1", "--log", log.toString(), "--out", out.toString(),
                "--", "python3", "-c", fakeGenerator(3, 0)));

        assertThat(run.exit).as("procstat.py exit status; it printed: %s", run.printed).isZero();
        assertThat(run.printed).contains("[   1.0s] echo").contains("RESULT {\"connected\": 3");
        assertThat(Files.readString(log)).isEqualTo(run.printed);
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertThat(json.get("exit").asInt()).isZero();
        assertThat(json.get("result").get("connected").asInt()).isEqualTo(3);
        assertThat(json.get("generator_cpu_s")).hasSize(1);
        for (String phase : List.of("before", "run_start", "run_end", "after")) {
            JsonNode sample = json.get("samples").get(phase);
            assertThat(sample).as("sample %s in %s", phase, json).isNotNull();
            assertThat(sample.get("rss_kb").asLong()).as("%s rss_kb", phase).isPositive();
            assertThat(sample.get("cpu_s").asDouble()).as("%s cpu_s", phase).isPositive();
        }
    }

    @Test
    void driveRunsSeveralGeneratorsAtOnceAndExitsWithTheFirstFailure(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run.json");
        Run run = python(List.of(script("procstat.py").toString(), "drive",
                "--server-pid", Long.toString(ProcessHandle.current().pid()), "--scenario", "echo",
                "--seconds", "1", "--log", dir.resolve("run.log").toString(), "--out", out.toString(),
                "--", "python3", "-c", fakeGenerator(3, 0), "---", "python3", "-c", fakeGenerator(4, 3)));

        assertThat(run.exit).as("procstat.py exit status; it printed: %s", run.printed).isEqualTo(3);
        assertThat(run.printed).contains("[gen2] RESULT {\"connected\": 4");
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertThat(json.get("exit").asInt()).isEqualTo(3);
        assertThat(json.get("results")).hasSize(2);
        assertThat(json.get("results").get(1).get("connected").asInt()).isEqualTo(4);
        assertThat(json.get("generator_cpu_s")).hasSize(2);
    }

    @Test
    void driveLetsWarmingGeneratorsGoOnlyWhenEveryOneOfThemIsWarm(@TempDir Path dir) throws Exception {
        // A generator run with --await-go: after each of its two warm-up rounds a line, then it waits
        // (at most 20 s) for a line on its input.
        String round = "print('load: warm-up done: round %d of 2 (not measured)', flush=True)\n"
                + "ready, _, _ = select.select([sys.stdin], [], [], 20)\n"
                + "print('round %d went on after ' + (repr(sys.stdin.readline()) if ready else 'no go'), flush=True)\n";
        String warming = "import select, sys\n" + round.formatted(1, 1) + round.formatted(2, 2)
                + fakeGenerator(3, 0).substring("import sys\n".length());
        Path out = dir.resolve("run.json");
        Run run = python(List.of(script("procstat.py").toString(), "drive",
                "--server-pid", Long.toString(ProcessHandle.current().pid()), "--scenario", "echo",
                "--seconds", "1", "--log", dir.resolve("run.log").toString(), "--out", out.toString(),
                "--", "python3", "-c", warming, "--await-go", "---", "python3", "-c", warming, "--await-go"));

        assertThat(run.exit).as("procstat.py exit status; it printed: %s", run.printed).isZero();
        assertThat(run.printed).contains("round 1 went on after 'go\\n'", "[gen2] round 1 went on after 'go\\n'",
                "round 2 went on after 'go\\n'", "[gen2] round 2 went on after 'go\\n'").doesNotContain("no go");
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertThat(json.get("samples").get("warm").get("cpu_s").asDouble())
                .isGreaterThanOrEqualTo(json.get("samples").get("before").get("cpu_s").asDouble());
        assertThat(json.get("results")).hasSize(2);
    }

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

        Run run = python(List.of(script("report.py").toString(), meta.toString(), tether.toString(),
                socketIo.toString(), out.toString()));
        assertThat(run.exit).as("report.py exit status; it printed: %s", run.printed).isZero();

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

    private record Run(int exit, String printed) {
    }

    @Test
    void clusterNamesEachScriptByTheShaRedisBrokerSends() throws Exception {
        // cluster.py attributes what MONITOR shows to scripts by the SHA-1 of each EVALSHA.
        Run run = python(List.of("-c", "import json, sys; sys.path.insert(0, sys.argv[1]); import cluster; "
                + "print(json.dumps(cluster.script_shas()))", script("cluster.py").getParent().toString()));

        assertThat(run.exit).as("it printed: %s", run.printed).isZero();
        JsonNode shas = new ObjectMapper().readTree(run.printed);
        for (String name : List.of("publish", "checkpoint", "create", "claim", "read", "heartbeat", "touch", "end")) {
            assertThat(shas.path(Script.load(name).sha()).asText()).as(name).isEqualTo(name + ".lua");
        }
    }

    /** What {@link #hprofPathsNamesTheFieldThatKeepsAnObjectAlive} looks for in a heap dump of this JVM. */
    static final class Kept {
    }

    /** Holds a {@link Kept} the way a long-lived structure would; referred to only from a static field. */
    static final class Holder {
        final Object kept = new Kept();
    }

    private static final Holder HOLDER = new Holder();

    @Test
    void hprofPathsNamesTheFieldThatKeepsAnObjectAlive(@TempDir Path dir) throws Exception {
        Path dump = dir.resolve("heap.hprof");
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(dump.toString(), true);

        Run run = python(List.of(script("hprof-paths.py").toString(), dump.toString(), Kept.class.getName()));

        assertThat(run.exit).as("it printed: %s", run.printed).isZero();
        assertThat(run.printed).contains("1 instances of " + Kept.class.getName())
                .contains("1  referred to by " + Holder.class.getName() + ".kept")
                .contains("from " + Holder.class.getName() + ":")
                .contains("    " + Holder.class.getName() + ".kept\n    -> " + Kept.class.getName());
        assertThat(HOLDER.kept).isInstanceOf(Kept.class);
    }

    /** Runs {@code python3 ARGS...} to completion (at most 30 s), with its output. */
    private static Run python(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add("python3");
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("python3 " + args + " did not finish within 30 s; it printed: " + printed);
        }
        return new Run(p.exitValue(), printed);
    }

    /** {@code scripts/NAME} from the module directory surefire runs in, or from the repository root. */
    private static Path script(String name) {
        for (Path candidate : new Path[] {Path.of("scripts", name), Path.of("benchmarks", "scripts", name)}) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath();
            }
        }
        throw new AssertionError("scripts/" + name + " not found from " + Path.of("").toAbsolutePath());
    }

    private static Path copyResource(String name, Path target) throws IOException {
        try (InputStream in = BenchmarkScriptsTest.class.getClassLoader().getResourceAsStream(name)) {
            assertThat(in).as("test resource %s", name).isNotNull();
            Files.copy(in, target);
        }
        return target;
    }
}
