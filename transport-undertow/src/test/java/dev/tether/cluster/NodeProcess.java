package dev.tether.cluster;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A cluster node ({@link ClusterNodeMain}) in a child JVM of this test, started on the test's
 * classpath and stopped by its PID: {@link #kill()} is {@code kill -9}. Its standard error goes to
 * {@code target/cluster-nodes/<name>.log}; its standard output is kept as lines (the
 * {@code error ...} lines of its error handler among them).
 */
final class NodeProcess implements AutoCloseable {

    private static final long START_TIMEOUT_SECONDS = 90; // a JVM and its Redis connections, on a loaded 2-core machine

    private final String name;
    private final Process process;
    private final CompletableFuture<Integer> listening = new CompletableFuture<>();
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final int port;
    private volatile int socketIoPort;
    private final PrintWriter stdin;

    private NodeProcess(String name, String redisUri) throws IOException {
        this.name = name;
        File logs = new File("target/cluster-nodes");
        if (!logs.isDirectory() && !logs.mkdirs()) {
            throw new IOException("cannot create " + logs.getAbsolutePath());
        }
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        process = new ProcessBuilder(List.of(java, "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", classpath, ClusterNodeMain.class.getName(), redisUri))
                .redirectError(ProcessBuilder.Redirect.appendTo(new File(logs, name + ".log")))
                .start();
        stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread reader = new Thread(this::readOutput, "node-output-" + name);
        reader.setDaemon(true);
        reader.start();
        try {
            port = listening.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IOException("interrupted while node " + name + " started", e);
        } catch (ExecutionException | TimeoutException e) {
            close();
            throw new IOException("node " + name + " did not start within " + START_TIMEOUT_SECONDS
                    + " s; output " + lines + ", see target/cluster-nodes/" + name + ".log", e);
        }
    }

    /** Starts a node that joins the cluster on {@code redisUri} and waits until it listens. */
    static NodeProcess start(String name, String redisUri) throws IOException {
        return new NodeProcess(name, redisUri);
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                synchronized (lines) {
                    lines.add(line);
                    lines.notifyAll();
                }
                if (line.startsWith("socketio ")) {
                    socketIoPort = Integer.parseInt(line.substring("socketio ".length()));
                }
                if (line.startsWith("listening ")) {
                    listening.complete(Integer.parseInt(line.substring("listening ".length())));
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
        listening.completeExceptionally(new IOException("node " + name + " exited"));
    }

    String name() {
        return name;
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    /** Where its Socket.IO server listens. */
    InetSocketAddress socketIoAddress() {
        return new InetSocketAddress("127.0.0.1", socketIoPort);
    }

    URI uri() {
        return URI.create("ws://127.0.0.1:" + port + "/tether");
    }

    /** What the node printed so far, in order. */
    List<String> output() {
        return List.copyOf(lines);
    }

    /** Sends a command line to the node ({@link ClusterNodeMain}). */
    void command(String line) {
        stdin.println(line);
    }

    /** Waits for an output line starting with {@code prefix}; null if none came in time. */
    String awaitLine(String prefix, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            for (;;) {
                for (String line : lines) {
                    if (line.startsWith(prefix)) {
                        return line;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                TimeUnit.NANOSECONDS.timedWait(lines, left); // woken by every new line
            }
        }
    }

    /** {@code kill -9}: no goodbye to Redis, to its clients or to anyone. Waits until it is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("node " + name + " (pid " + process.pid() + ") survived SIGKILL");
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            stdin.close(); // the end of its input tells the node to stop
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    @Override
    public String toString() {
        return "node " + name + " (pid " + process.pid() + ", port " + port + ")";
    }
}
