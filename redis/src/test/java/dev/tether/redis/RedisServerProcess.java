package dev.tether.redis;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code redis-server} child process on a free loopback port, without persistence, for
 * tests (this module's and, through its test-jar, the multi-process cluster tests). Fails
 * (never skips) when redis-server is not installed.
 */
public final class RedisServerProcess implements AutoCloseable {

    private static final long START_TIMEOUT_MS = 10_000;

    private final String executable;
    private final int port;
    private volatile Process process;

    private RedisServerProcess(String executable, int port) {
        this.executable = executable;
        this.port = port;
        // A test JVM stopped from outside (Ctrl-C, SIGTERM) must not leave its redis-server behind.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Process p = process;
            if (p != null) {
                p.destroyForcibly();
            }
        }, "redis-server-" + port + "-stop"));
    }

    /** Starts a server on a free port and waits until it answers PING. */
    public static RedisServerProcess start() {
        RedisServerProcess server = new RedisServerProcess(findExecutable(), freePort());
        server.launch();
        return server;
    }

    private static String findExecutable() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(dir, "redis-server");
            if (f.canExecute()) {
                return f.getPath();
            }
        }
        File usual = new File("/usr/bin/redis-server");
        if (usual.canExecute()) {
            return usual.getPath();
        }
        throw new AssertionError("redis-server not found: install the Debian package redis-server (.ci/run does)");
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new AssertionError("no free port on 127.0.0.1", e);
        }
    }

    private void launch() {
        try {
            process = new ProcessBuilder(List.of(executable, "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new AssertionError("cannot start " + executable, e);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MS);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("redis-server exited with " + process.exitValue() + " on port " + port);
            }
            if ("+PONG".equals(command("PING"))) {
                return;
            }
            pause(20);
        }
        process.destroyForcibly();
        throw new AssertionError("redis-server on port " + port + " did not answer PING within " + START_TIMEOUT_MS + " ms");
    }

    /** {@code redis://127.0.0.1:<port>}. */
    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /**
     * Sends one inline command and returns the first line of the answer, or null if the server
     * cannot be reached.
     */
    public String command(String inline) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            s.setSoTimeout(2_000);
            OutputStream out = s.getOutputStream();
            out.write((inline + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        } catch (IOException e) {
            return null;
        }
    }

    /** Stops the server (its data is lost) and waits for it to exit. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new AssertionError("redis-server on port " + port + " did not exit");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while stopping redis-server", e);
        }
        process = null;
    }

    /** Starts the server again on the same port, empty. */
    public void restart() {
        stop();
        launch();
    }

    /** Freezes the server ({@code kill -STOP}): connections stay open, nothing answers. */
    public void pause() {
        signal("-STOP");
    }

    /** Thaws a {@link #pause()}d server. */
    public void resume() {
        signal("-CONT");
    }

    private void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new AssertionError("kill " + signal + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run kill", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Override
    public void close() {
        if (process != null) {
            resume();
            stop();
        }
    }
}
