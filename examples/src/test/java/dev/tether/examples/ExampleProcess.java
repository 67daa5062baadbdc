package dev.tether.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An example's {@code main} in a child JVM, started as {@code examples/run} starts it (with the
 * examples' log manager) on the test class path, its standard output and error merged and
 * collected line by line. {@link #close()} kills it by its PID if it is still alive.
 */
public final class ExampleProcess implements AutoCloseable {

    private final Process process;
    /** Guarded by itself; notified on every line and at the end of the output. */
    private final List<String> lines = new ArrayList<>();
    private boolean ended;
    private final Thread reader;

    private ExampleProcess(Process process) {
        this.process = process;
        this.reader = new Thread(this::read, "example-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code mainClass} with {@code env} added to this JVM's environment. */
    public static ExampleProcess start(Class<?> mainClass, Map<String, String> env) throws IOException {
        // Surefire runs the tests from a manifest-only jar; it names the real class path here.
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-Djava.util.logging.manager=" + ShutdownLogManager.class.getName(),
                "-cp", classPath, mainClass.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        return new ExampleProcess(builder.start());
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                synchronized (lines) {
                    lines.add(line);
                    lines.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process is gone; what it printed is in lines
        } finally {
            synchronized (lines) {
                ended = true;
                lines.notifyAll();
            }
        }
    }

    /** The first line, printed so far or later, that matches; fails after {@code timeout} or at the end of the output. */
    public String awaitLine(Predicate<String> wanted, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int next = 0;
        synchronized (lines) {
            for (;;) {
                for (; next < lines.size(); next++) {
                    if (wanted.test(lines.get(next))) {
                        return lines.get(next);
                    }
                }
                long leftNs = deadline - System.nanoTime();
                if (ended || leftNs <= 0) {
                    throw new AssertionError("no matching line " + (ended ? "before the output ended" : "within " + timeout)
                            + "; output:\n" + String.join("\n", lines));
                }
                TimeUnit.NANOSECONDS.timedWait(lines, leftNs);
            }
        }
    }

    /** The process's id. */
    public long pid() {
        return process.pid();
    }

    /**
     * Sends SIGTERM to its PID, as {@code kill PID} does. Through its {@link ProcessHandle}: a
     * {@link Process#destroy()} sends the same signal but then closes the pipes, and what the
     * process prints while it shuts down, the very thing to see, would be lost.
     */
    public void terminate() {
        process.toHandle().destroy();
    }

    /** Waits for the process to end and for its output to be read whole; returns its exit status. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("still running after " + timeout + "; output:\n" + String.join("\n", output()));
        }
        reader.join(timeout.toMillis());
        return process.exitValue();
    }

    /** Every line so far. */
    public List<String> output() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
