package dev.tether.benchmarks.load;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The load generator's entry point. Usage:
 * <pre>
 * LoadGenerator hold --connections N --rate R --hold-seconds T [options]
 * LoadGenerator echo --connections N --rate R --seconds T [--connect-rate C] [--grace-seconds G] [options]
 * options: --protocol tether|socketio   --host 127.x.y.z (default 127.0.0.1)   --port P (8080)
 *          --path /target   --source-ips N   --loops 1|2   --handshake-timeout-ms MS (10000)
 * </pre>
 * Prints progress every second, a table and a final {@code RESULT {json}} line on stdout; exits
 * 0 when the run completed (whatever it measured), 2 on bad arguments, 1 when it was aborted.
 *
 * <p>Threading: the calling thread coordinates (phases, progress, result); one or two
 * {@link ClientLoop} threads own the connections. Every phase is bounded in time, and no loop
 * outlives {@link LoadOptions#hardDeadlineSeconds()}.
 */
public final class LoadGenerator {

    private LoadGenerator() {
    }

    public static void main(String[] args) throws Exception {
        LoadOptions options;
        try {
            options = LoadOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("usage: LoadGenerator hold|echo --connections N --rate R "
                    + "(--hold-seconds T | --seconds T) [--protocol tether|socketio] [--port P] ...");
            System.exit(2);
            return;
        }
        LoadResult result = run(options, System.out);
        System.exit(result.aborted() ? 1 : 0);
    }

    /** Runs one scenario to the end, printing progress, the table and the RESULT line to {@code out}. */
    static LoadResult run(LoadOptions options, PrintStream out) throws IOException, InterruptedException {
        InetAddress[] sources = sourceAddresses(options.sourceIps(), out);
        long epochNs = System.nanoTime();
        RunControl control = new RunControl(options, epochNs);
        ClientLoop[] loops = new ClientLoop[Math.min(options.loops(), options.connections())];
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new ClientLoop(i, loops.length, options, control, sources);
        }
        out.printf(Locale.ROOT, "load: %s %s, %d connections at %d/s to %s:%d%s from %d source address(es), %d loop(s)%n",
                options.scenario().label(), options.protocol().label(), options.connections(), options.connectRate(),
                options.host().getHostAddress(), options.port(), options.path(), sources.length, loops.length);
        for (ClientLoop loop : loops) {
            loop.start();
        }
        Progress progress = new Progress(control, out, epochNs);

        // Ramp: until every connection is open or failed.
        while (!allRampDone(loops) && beforeDeadline(control)) {
            progress.tick("ramp", 100);
        }
        long rampEndNs = System.nanoTime();
        long runStartNs = rampEndNs;
        long runEndNs;
        if (options.scenario() == Scenario.ECHO) {
            runStartNs = rampEndNs + TimeUnit.MILLISECONDS.toNanos(50);
            runEndNs = runStartNs + TimeUnit.SECONDS.toNanos(options.seconds());
            control.sendStartNs = runStartNs;
            control.sendEndNs = runEndNs;
        } else {
            runEndNs = runStartNs + TimeUnit.SECONDS.toNanos(options.seconds());
        }
        control.phase = RunControl.RUN;
        wakeAll(loops);
        while (System.nanoTime() - runEndNs < 0 && beforeDeadline(control) && !allFinished(loops)) {
            progress.tick(options.scenario() == Scenario.ECHO ? "echo" : "hold", 100);
        }
        if (options.scenario() == Scenario.ECHO) {
            long graceEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.graceSeconds());
            while (control.received.get() + control.replyErrors.get() < control.sent.get()
                    && System.nanoTime() - graceEndNs < 0 && beforeDeadline(control) && !allFinished(loops)) {
                progress.tick("grace", 10);
            }
        }
        long lostAtEnd = control.sent.get() - control.received.get() - control.replyErrors.get();
        control.phase = RunControl.CLOSE;
        wakeAll(loops);
        for (ClientLoop loop : loops) {
            loop.join(TimeUnit.NANOSECONDS.toMillis(control.hardDeadlineNs - System.nanoTime()) + 5_000);
        }
        progress.print("closed");

        Histogram handshake = new Histogram(3);
        Histogram latency = new Histogram(3);
        boolean aborted = false;
        long cpuNs = 0;
        long lastJoinedNs = epochNs;
        for (ClientLoop loop : loops) {
            if (!loop.finished()) {
                aborted = true;
                continue;
            }
            aborted |= loop.aborted();
            handshake.add(loop.handshakeUs);
            latency.add(loop.latencyUs);
            cpuNs += loop.cpuNs();
            if (loop.lastJoinedNs() != 0 && loop.lastJoinedNs() - lastJoinedNs > 0) {
                lastJoinedNs = loop.lastJoinedNs();
            }
        }
        // From the first intended connect to the last welcome.
        double rampSeconds = Math.max(1e-9, (lastJoinedNs - epochNs) / 1e9);
        LoadResult result = new LoadResult(options.scenario().label(), options.protocol().label(),
                options.connections(), sources.length, loops.length,
                control.attempted.get(), control.connected.get(), control.failed.get(),
                control.unexpectedDisconnects.get(), control.closedCleanly.get(),
                options.connectRate(), control.connected.get() / rampSeconds,
                LoadResult.ms(handshake, 50), LoadResult.ms(handshake, 99), LoadResult.maxMs(handshake),
                options.seconds(), options.scenario() == Scenario.ECHO ? options.messageRate() : 0,
                options.scenario() == Scenario.ECHO ? control.sent.get() / (double) options.seconds() : 0,
                control.sent.get(), control.received.get(), control.replyErrors.get(), control.unsent.get(),
                Math.max(0, lostAtEnd), latency.getTotalCount(),
                LoadResult.ms(latency, 50), LoadResult.ms(latency, 90), LoadResult.ms(latency, 99),
                LoadResult.ms(latency, 99.9), LoadResult.maxMs(latency),
                control.pingsAnswered.get(), control.protocolErrors.get(), cpuNs / 1e6, aborted, latency);
        out.print(result.table());
        out.println("RESULT " + result.toJson());
        return result;
    }

    /**
     * 127.0.0.2 .. 127.0.0.(1+n). Linux routes all of 127.0.0.0/8 to loopback, so binding them needs
     * no set-up; where it fails, every connection uses 127.0.0.1 and the run says so.
     */
    static InetAddress[] sourceAddresses(int n, PrintStream out) throws IOException {
        InetAddress[] sources = new InetAddress[n];
        for (int i = 0; i < n; i++) {
            sources[i] = InetAddress.getByAddress(new byte[] {127, 0, (byte) ((i + 2) >> 8), (byte) (i + 2)});
        }
        try (SocketChannel probe = SocketChannel.open()) {
            probe.bind(new InetSocketAddress(sources[n - 1], 0));
        } catch (IOException e) {
            out.println("load: cannot bind " + sources[n - 1].getHostAddress() + " (" + e.getMessage()
                    + "); falling back to 127.0.0.1 for every connection");
            return new InetAddress[] {InetAddress.getByAddress(new byte[] {127, 0, 0, 1})};
        }
        return sources;
    }

    private static boolean beforeDeadline(RunControl control) {
        return System.nanoTime() - control.hardDeadlineNs < 0;
    }

    private static boolean allRampDone(ClientLoop[] loops) {
        for (ClientLoop loop : loops) {
            if (!loop.rampDone()) {
                return false;
            }
        }
        return true;
    }

    private static boolean allFinished(ClientLoop[] loops) {
        for (ClientLoop loop : loops) {
            if (!loop.finished()) {
                return false;
            }
        }
        return true;
    }

    private static void wakeAll(ClientLoop[] loops) {
        for (ClientLoop loop : loops) {
            loop.wakeup();
        }
    }

    /** Prints one progress line per second: open connections, rates over the last second, errors. */
    private static final class Progress {
        private final RunControl control;
        private final PrintStream out;
        private final long epochNs;
        private long nextPrintNs;
        private long lastPrintNs;
        private long lastConnected;
        private long lastSent;
        private long lastReceived;

        Progress(RunControl control, PrintStream out, long epochNs) {
            this.control = control;
            this.out = out;
            this.epochNs = epochNs;
            this.lastPrintNs = epochNs;
            this.nextPrintNs = epochNs + TimeUnit.SECONDS.toNanos(1);
        }

        void tick(String phase, long sleepMs) throws InterruptedException {
            Thread.sleep(sleepMs);
            if (System.nanoTime() - nextPrintNs >= 0) {
                print(phase);
                nextPrintNs += TimeUnit.SECONDS.toNanos(1);
            }
        }

        void print(String phase) {
            long now = System.nanoTime();
            double seconds = Math.max(1e-9, (now - lastPrintNs) / 1e9);
            long connected = control.connected.get();
            long sent = control.sent.get();
            long received = control.received.get();
            out.printf(Locale.ROOT, "[%6.1fs] %-6s open=%d connected=%d (%.0f/s) failed=%d disconnects=%d "
                            + "sent=%d (%.0f/s) received=%d (%.0f/s) errors=%d%n",
                    (now - epochNs) / 1e9, phase, control.open.get(), connected, (connected - lastConnected) / seconds,
                    control.failed.get(), control.unexpectedDisconnects.get(), sent, (sent - lastSent) / seconds,
                    received, (received - lastReceived) / seconds,
                    control.protocolErrors.get() + control.replyErrors.get());
            lastPrintNs = now;
            lastConnected = connected;
            lastSent = sent;
            lastReceived = received;
        }
    }
}
