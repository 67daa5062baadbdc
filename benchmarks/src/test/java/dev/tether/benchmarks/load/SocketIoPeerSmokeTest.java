package dev.tether.benchmarks.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs a tiny {@code storm} against the real Node.js Socket.IO peer ({@code socketio-peer/server.js
 * --broadcast}) on an ephemeral 127.0.0.1 port. Skipped, saying why, when {@code node} is not on
 * the PATH; when the peer's {@code node_modules} is missing, installs it from the lock file with
 * {@code npm ci}, as {@code socketio-peer/run.sh} does (a fresh clone has none). Asserts that the run
 * completes and reports what the seed server does: every subscriber back, and the messages
 * published while it was away lost, not timings.
 */
@Timeout(60)
class SocketIoPeerSmokeTest {

    private static final Pattern READY = Pattern.compile("socket\\.io peer listening on 127\\.0\\.0\\.1:(\\d+) mode=broadcast");

    private Process peer;
    private int port;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);

    @BeforeEach
    void startPeer() throws Exception {
        Path sources = peerDirectory();
        // Real components the test needs fail it, saying what is missing; never a silent skip.
        assertThat(sources).as("socketio-peer/server.js from " + Path.of("").toAbsolutePath()).isNotNull();
        assertThat(nodeRuns()).as("node (Node.js 20) on the PATH").isTrue();
        Path dir = installPeer(sources);
        ProcessBuilder builder = new ProcessBuilder("node", "server.js", "--broadcast").directory(dir.toFile())
                .redirectErrorStream(true);
        builder.environment().put("PORT", "0");
        builder.environment().put("HOST", "127.0.0.1");
        builder.environment().remove("LOG");
        builder.environment().remove("MODE");
        peer = builder.start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(peer.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                return lines.readLine();
            } catch (IOException e) {
                return "read failed: " + e.getMessage();
            }
        });
        String line;
        try {
            line = ready.get(20, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the Socket.IO peer printed no ready line within 20 s", e);
        }
        Matcher m = READY.matcher(line == null ? "" : line);
        assertThat(m.find()).as("ready line of the peer: %s", line).isTrue();
        port = Integer.parseInt(m.group(1));
    }

    /**
     * Copies the peer's server and pinned package files to {@code target/socketio-peer} and installs
     * them there ({@code mvn clean} removes them; {@code benchmarks/run} keeps its own install).
     *
     * @return the directory to run the peer from
     */
    private static synchronized Path installPeer(Path sources) throws IOException, InterruptedException {
        Path dir = Path.of("target", "socketio-peer").toAbsolutePath();
        Files.createDirectories(dir);
        for (String file : new String[] {"server.js", "package.json", "package-lock.json"}) {
            Files.copy(sources.resolve(file), dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        if (Files.isDirectory(dir.resolve("node_modules/socket.io"))) {
            return dir;
        }
        Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("npm-ci.log").toFile()).start();
        try {
            if (!npm.waitFor(300, TimeUnit.SECONDS) || npm.exitValue() != 0) {
                throw new AssertionError("npm ci failed in " + dir + ", see npm-ci.log there");
            }
        } finally {
            npm.destroyForcibly();
        }
        return dir;
    }

    @AfterEach
    void stopPeer() throws InterruptedException {
        if (peer != null) {
            peer.destroy();
            if (!peer.waitFor(10, TimeUnit.SECONDS)) {
                peer.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        System.out.print(output.toString(StandardCharsets.UTF_8));
    }

    @Test
    void stormReconnectsEverySubscriberAndCountsWhatWasPublishedWhileAwayAsLost(@TempDir Path tmp) throws Exception {
        Path log = tmp.resolve("storm.hlog");
        LoadResult r = LoadGenerator.run(LoadOptions.parse("storm", "--protocol", "socketio",
                "--port", Integer.toString(port), "--connections", "20", "--connect-rate", "500",
                "--publish-rate", "50", "--seconds", "4", "--storm-after-seconds", "1", "--grace-seconds", "2",
                "--histogram-log", log.toString()), out);

        assertThat(r.aborted()).isFalse();
        assertThat(r.connected()).isEqualTo(21);
        assertThat(r.protocolErrors()).isZero();
        FanoutResult f = r.fanout();
        assertThat(f.cut()).isEqualTo(20);
        assertThat(f.resumed()).isEqualTo(20);
        assertThat(f.notResumed()).isZero();
        // socket.io-client's first reconnect comes at least 500 ms after the disconnect.
        assertThat(f.resume50Ms()).isGreaterThanOrEqualTo(500);
        assertThat(f.published()).isEqualTo(200);
        assertThat(f.expected()).isEqualTo(20 * 200);
        // No connection state recovery: away at least 500 ms at 50/s, every subscriber missed messages.
        assertThat(f.lost()).isPositive();
        assertThat(f.delivered() + f.lost()).isEqualTo(f.expected());
        assertThat(f.seqHoles()).isPositive().isLessThanOrEqualTo(f.lost());
        assertThat(f.duplicates()).isZero();
        assertThat(f.subscribersWithLoss()).isEqualTo(20);
        assertThat(f.rejoin()).startsWith("reconnect");
        assertThat(output.toString(StandardCharsets.UTF_8))
                .contains("RESULT {\"scenario\":\"storm\",\"protocol\":\"socketio\"");
        assertThat(resumeCount(log)).isEqualTo(20);
    }

    private static long resumeCount(Path log) throws Exception {
        long count = 0;
        try (HistogramLogReader reader = new HistogramLogReader(log.toFile())) {
            for (int i = 0; i < 100 && reader.hasNext(); i++) {
                EncodableHistogram h = reader.nextIntervalHistogram();
                if ("resume_us".equals(h.getTag())) {
                    count += ((Histogram) h).getTotalCount();
                }
            }
        }
        return count;
    }

    /** {@code socketio-peer} next to the module directory surefire runs in, or under {@code benchmarks/}. */
    private static Path peerDirectory() {
        for (Path candidate : new Path[] {Path.of("socketio-peer"), Path.of("benchmarks", "socketio-peer")}) {
            if (Files.isRegularFile(candidate.resolve("server.js"))) {
                return candidate.toAbsolutePath();
            }
        }
        return null;
    }

    private static boolean nodeRuns() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
