package dev.tether.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Stock {@code socket.io-client} (pinned in {@code src/test/node/package-lock.json}) under Node,
 * driven by {@code src/test/node/driver.js}: one process holding {@code count} sockets. Events
 * arrive as JSON lines; commands go to its stdin. The driver and the pinned package files are
 * copied to {@code target/node-socketio-client} and installed there with {@code npm ci} when its
 * {@code node_modules} is missing, so that a fresh clone's {@code mvn verify} works and
 * {@code mvn clean} removes them.
 *
 * <p>Every wait is bounded; {@link #close()} kills the process by its handle.
 */
public final class NodeSocketIoClient implements AutoCloseable {

    /** The driver's directory: this module's, also when run from a sibling module (through the test-jar). */
    /** Where the driver runs and its {@code node_modules} live: this module's {@code target/}. */
    public static final Path NODE_DIR = Path.of("target", "node-socketio-client").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Object INSTALL_LOCK = new Object();

    private final Process process;
    private final OutputStream stdin;
    private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
    private final StringBuffer stderr = new StringBuffer();
    /** Every event seen, for assertions after the fact. */
    private final List<JsonNode> seen = new ArrayList<>();

    private NodeSocketIoClient(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        Thread out = new Thread(() -> pump(process), "node-stdout-" + process.pid());
        out.setDaemon(true);
        out.start();
        Thread err = new Thread(() -> drain(process), "node-stderr-" + process.pid());
        err.setDaemon(true);
        err.start();
    }

    private static Path nodeSources() {
        Path here = Path.of("src", "test", "node").toAbsolutePath();
        Path sibling = Path.of("..", "transport-undertow", "src", "test", "node").toAbsolutePath().normalize();
        return Files.isRegularFile(here.resolve("driver.js")) ? here : sibling;
    }

    /** Runs {@code npm ci} once if the pinned client is not installed. */
    public static void ensureInstalled() throws IOException, InterruptedException {
        synchronized (INSTALL_LOCK) {
            Files.createDirectories(NODE_DIR);
            for (String file : new String[] {"driver.js", "package.json", "package-lock.json"}) {
                Files.copy(nodeSources().resolve(file), NODE_DIR.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
            if (Files.isDirectory(NODE_DIR.resolve("node_modules").resolve("socket.io-client"))) {
                return;
            }
            Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund")
                    .directory(NODE_DIR.toFile()).redirectErrorStream(true)
                    .redirectOutput(NODE_DIR.resolve("npm-ci.log").toFile()).start();
            try {
                if (!npm.waitFor(300, TimeUnit.SECONDS) || npm.exitValue() != 0) {
                    throw new IllegalStateException("npm ci failed in " + NODE_DIR + ", see npm-ci.log");
                }
            } finally {
                npm.destroyForcibly();
            }
        }
    }

    /**
     * Starts Node with {@code count} sockets to {@code url}.
     *
     * @param options socket.io-client options as JSON (plus {@code "quiet":true} to count
     *                events instead of printing each)
     */
    public static NodeSocketIoClient start(String url, int count, String options) throws IOException, InterruptedException {
        ensureInstalled();
        Process p = new ProcessBuilder("node", "driver.js", url, Integer.toString(count), options)
                .directory(NODE_DIR.toFile()).start();
        return new NodeSocketIoClient(p);
    }

    private void pump(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                try {
                    JsonNode event = JSON.readTree(line);
                    synchronized (seen) {
                        seen.add(event);
                    }
                    events.add(event);
                } catch (IOException e) {
                    stderr.append("unparsable stdout: ").append(line).append('\n');
                }
            }
        } catch (IOException ignored) {
            // the process died; waits time out with the stderr text
        }
    }

    private void drain(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                stderr.append(line).append('\n');
            }
        } catch (IOException ignored) {
            // the process died
        }
    }

    /** Sends one command line (JSON) to the driver. */
    public void send(String json) {
        try {
            stdin.write((json + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("node driver is gone; stderr: " + stderr, e);
        }
    }

    /** The next event of type {@code e} (other events are skipped), within {@code timeout}. */
    public JsonNode next(String e, Duration timeout) throws InterruptedException {
        return next(n -> n.path("e").asText().equals(e), e, timeout);
    }

    /** The next event matching {@code wanted}; others are skipped. */
    public JsonNode next(Predicate<JsonNode> wanted, String what, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            JsonNode n = left <= 0 ? null : events.poll(left, TimeUnit.NANOSECONDS);
            if (n == null) {
                throw new AssertionError("no " + what + " from node within " + timeout + "; stderr: " + stderr);
            }
            if (wanted.test(n)) {
                return n;
            }
        }
    }

    /**
     * An event of type {@code e} seen at any time, before or after this call (unlike
     * {@link #next}, which only looks forward): for events whose order is not defined.
     */
    public JsonNode awaitSeen(String e, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (JsonNode n : seen()) {
                if (n.path("e").asText().equals(e)) {
                    return n;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || events.poll(left, TimeUnit.NANOSECONDS) == null) {
                throw new AssertionError("no " + e + " from node within " + timeout + "; stderr: " + stderr);
            }
        }
    }

    /** A snapshot of every event seen so far. */
    public List<JsonNode> seen() {
        synchronized (seen) {
            return List.copyOf(seen);
        }
    }

    /** What Node wrote to stderr so far. */
    public String stderr() {
        return stderr.toString();
    }

    @Override
    public void close() {
        try {
            stdin.close();
        } catch (IOException ignored) {
            // already gone
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
