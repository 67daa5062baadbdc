package dev.tether.benchmarks.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;
import org.HdrHistogram.Histogram;

/**
 * The load generator's entry point. Usage:
 * <pre>
 * LoadGenerator hold --connections N --rate R --hold-seconds T [options]
 * LoadGenerator echo --connections N --rate R --seconds T [--connect-rate C] [--grace-seconds G] [options]
 * LoadGenerator echo-search --connections N --rate R0 --seconds T [--p99-bound-ms B (20)] [--max-steps S (10)]
 *                           [--connect-rate C] [--grace-seconds G] [options]
 * LoadGenerator broadcast --connections N --publish-rate R --seconds T [--stalled-percent P]
 *                         [--connect-rate C] [--grace-seconds G] [options]
 * LoadGenerator storm --connections N --publish-rate R --seconds T [--storm-after-seconds S (3)]
 *                     [--connect-rate C] [--grace-seconds G] [options]
 * LoadGenerator failover --targets H:P,H:P[,...] --connections N --publish-rate R --seconds T
 *                        [--connect-rate C] [--grace-seconds G] [options]
 * options: --protocol tether|socketio   --host 127.x.y.z (default 127.0.0.1)   --port P (8080)
 *          --targets H:P,H:P,... (several servers: connection i to the (i mod n)-th, reconnects to the next)
 *          --path /target   --source-ips N   --loops 1|2   --handshake-timeout-ms MS (10000)
 *          --histogram-log FILE (every histogram of the run, HdrHistogram log format, values in µs)
 *          --source-ip-offset K (source addresses from 127.0.0.(2+K))
 *          echo-search only: --generators N --generator-index I --peer-dir DIR (lockstep, {@link EchoSearch})
 *          --warmup-handshakes N [--await-go]  (an unmeasured hold from this process first; see {@link LoadOptions})
 * LoadGenerator merge FILE.hlog...    one RESULT for several generator processes run at once ({@link ResultMerge})
 * </pre>
 * Prints progress every second, a table and a final {@code RESULT {json}} line on stdout; exits
 * 0 when the run completed (whatever it measured), 2 on bad arguments, 1 when it was aborted.
 *
 * <p>Threading: the calling thread coordinates (phases, progress, result); one or two
 * {@link ClientLoop} threads own the connections. Every phase is bounded in time, and no loop
 * outlives {@link LoadOptions#hardDeadlineSeconds()}.
 */
public final class LoadGenerator {

    static final String USAGE = String.join(System.lineSeparator(),
            "usage: LoadGenerator hold --connections N --rate R --hold-seconds T [options]",
            "       LoadGenerator echo --connections N --rate R --seconds T [--connect-rate C] [--grace-seconds G] [options]",
            "       LoadGenerator echo-search --connections N --rate R0 --seconds T [--p99-bound-ms B] [--max-steps S]",
            "                 [--connect-rate C] [--grace-seconds G] [options]",
            "           echo steps of T s each over the same connections, from R0/s: x1.5 while steady (p99 and",
            "           p99 of the 2nd half <= B ms (20), achieved >= 98 %, nothing lost), then bisection until",
            "           within 10 %; a step that is not steady is repeated once at the same rate and the repeat",
            "           decides (both in the table); at most S (10) steps, attempts included; prints each step,",
            "           the step table and searchBestRate",
            "       LoadGenerator broadcast --connections N --publish-rate R --seconds T [--stalled-percent P]",
            "                 [--connect-rate C] [--grace-seconds G] [options]",
            "           N subscribers on topic 'room' plus one publisher; P % of the subscribers stop reading",
            "       LoadGenerator storm --connections N --publish-rate R --seconds T [--storm-after-seconds S]",
            "                 [--connect-rate C] [--grace-seconds G] [options]",
            "           every subscriber is cut (RST) S s (default 3) after publishing starts and comes back:",
            "           tether resumes (backoff with full jitter, base 100 ms, cap 5 s, 503 Retry-After honoured);",
            "           socketio reconnects as socket.io-client does (1000 ms x 2^n +-50 %, cap 5 s), fresh",
            "           Engine.IO handshake and 40, no recovery: lost = published while away (publish-number holes)",
            "       LoadGenerator failover --targets H:P,H:P[,...] --connections N --publish-rate R --seconds T",
            "                 [--connect-rate C] [--grace-seconds G] [options]",
            "           broadcast over several servers (a cluster); a subscriber whose server goes away during the",
            "           run (killed, drained) resumes its session on the next server of --targets, storm's backoff",
            "options: --protocol tether|socketio  --host 127.x.y.z (127.0.0.1)  --port P (8080)  --path /target",
            "         --targets H:P,H:P,...  several servers instead of --host/--port: connection i goes to the",
            "                                (i mod n)-th (the publisher to the first), a reconnect to the next",
            "         --source-ips N  --loops 1|2  --handshake-timeout-ms MS (10000)",
            "         --histogram-log FILE   write every histogram of the run (HdrHistogram log, values in us)",
            "         --source-ip-offset K   source addresses from 127.0.0.(2+K) (several generator processes)",
            "         echo-search in lockstep with other processes: --generators N --generator-index I --peer-dir DIR",
            "         --warmup-handshakes N  first N handshakes at 2000/s from this process, in two rounds (the",
            "                                second min(2000, N/2)), each",
            "                                held 1 s and closed, not measured (a warm generator: its own JIT is",
            "                                not the server's latency)",
            "         --await-go     after each warm-up round print 'load: warm-up done' and wait for a line on",
            "                        standard input (at most 120 s)",
            "       LoadGenerator merge FILE.hlog...   one RESULT (sums, exact merged percentiles) for hold/echo/",
            "                 echo-search runs of several generator processes at once, from their --histogram-log files");

    private LoadGenerator() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("merge")) {
            ResultMerge.main(List.of(args).subList(1, args.length));
            return;
        }
        LoadOptions options;
        try {
            options = LoadOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        if (options.warmupHandshakes() > 0) {
            warmUp(options, System.out, System.in);
        }
        LoadResult result = run(options, System.out);
        System.exit(result.aborted() ? 1 : 0);
    }

    /**
     * {@code --warmup-handshakes}: unmeasured holds from this process before the run, in two
     * rounds. A cold generator's JIT compiles its connect and upgrade path during the run's first
     * seconds, and its handshakes then wait for it (in a 10,000-client arrival at 4,000/s, a p99 of
     * 140–370 ms cold against 17–45 ms warm, on the same warm server: benchmarks/README.md). Two
     * rounds, so that a caller that forces a GC to sample the server's heap does it between them,
     * not just before the run; a storm's second round is a small storm ({@link LoadOptions#warmup(int, int)}).
     * How many handshakes each round makes: {@link LoadOptions#warmupRoundHandshakes(int)}.
     *
     * @return the second round's result
     */
    static LoadResult warmUp(LoadOptions options, PrintStream out, InputStream in)
            throws IOException, InterruptedException {
        Semaphore go = options.awaitGo() ? goes(in) : null;
        LoadResult result = null;
        for (int round = 1; round <= 2; round++) {
            int handshakes = options.warmupRoundHandshakes(round);
            result = run(options.warmup(handshakes, round), new PrintStream(OutputStream.nullOutputStream()));
            out.printf(Locale.ROOT, "%s: round %d of 2, %d handshakes, %d welcomed, %d failed (not measured)%n",
                    LoadOptions.WARMUP_DONE, round, handshakes, result.connected(), result.failed());
            out.flush();
            if (go != null && !go.tryAcquire(LoadOptions.AWAIT_GO_SECONDS, TimeUnit.SECONDS)) {
                out.println("load: no go on standard input within " + LoadOptions.AWAIT_GO_SECONDS + " s; running");
            }
        }
        return result;
    }

    /**
     * {@code --await-go}: one permit per line of {@code in}, read by one daemon thread, and every
     * wait let through once the input ends (a closed input is a go as well).
     */
    private static Semaphore goes(InputStream in) {
        Semaphore go = new Semaphore(0);
        Thread reader = new Thread(() -> {
            try {
                BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
                while (lines.readLine() != null) {
                    go.release();
                }
            } catch (IOException e) {
                // the end of the input, as far as the waits are concerned
            }
            go.release(Integer.MAX_VALUE / 2);
        }, "await-go");
        reader.setDaemon(true);
        reader.start();
        return go;
    }

    /** Runs one scenario to the end, printing progress, the table and the RESULT line to {@code out}. */
    static LoadResult run(LoadOptions options, PrintStream out) throws IOException, InterruptedException {
        InetAddress[] sources = sourceAddresses(options.sourceIps(), options.sourceIpOffset(), out);
        long epochNs = System.nanoTime();
        long epochMs = System.currentTimeMillis();
        RunControl control = new RunControl(options, epochNs);
        ClientLoop[] loops = new ClientLoop[Math.min(options.loops(), options.totalConnections())];
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new ClientLoop(i, loops.length, options, control, sources);
        }
        out.printf(Locale.ROOT, "load: %s %s, %d connections at %d/s to %s%s from %d source address(es), %d loop(s)%n",
                options.scenario().label(), options.protocol().label(), options.totalConnections(), options.connectRate(),
                targetList(options), options.path(), sources.length, loops.length);
        for (ClientLoop loop : loops) {
            loop.start();
        }
        Progress progress = new Progress(control, out, epochNs);

        // Ramp: until every connection is open or failed.
        while (!allRampDone(loops) && beforeDeadline(control)) {
            progress.tick("ramp", 100);
        }
        if (options.scenario().fanout()) {
            // Every welcomed subscriber must be subscribed before the first publish.
            long subscribeEndNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.handshakeTimeoutMs());
            while (control.subscribed.get() < control.connected.get() - 1 && System.nanoTime() - subscribeEndNs < 0
                    && beforeDeadline(control)) {
                progress.tick("subscribe", 10);
            }
        }
        long rampEndNs = System.nanoTime();
        long runStartNs = rampEndNs;
        long runEndNs;
        long subscribers = control.subscribed.get();
        long stalled = control.stalledSubscribed.get();
        if (options.scenario().fanout()) {
            runStartNs = rampEndNs + TimeUnit.MILLISECONDS.toNanos(50);
            runEndNs = runStartNs + TimeUnit.SECONDS.toNanos(options.seconds());
            control.sendStartNs = runStartNs;
            control.sendEndNs = runEndNs;
            if (options.scenario() == Scenario.STORM) {
                control.stormAtNs = runStartNs + TimeUnit.SECONDS.toNanos(options.stormAfterSeconds());
            }
        } else if (options.scenario() == Scenario.ECHO) {
            runStartNs = rampEndNs + TimeUnit.MILLISECONDS.toNanos(50);
            runEndNs = runStartNs + TimeUnit.SECONDS.toNanos(options.seconds());
            control.echoRate = options.messageRate();
            control.sendEndNs = runEndNs;
            control.sendStartNs = runStartNs;
        } else if (options.scenario() == Scenario.ECHO_SEARCH) {
            runEndNs = runStartNs; // the search times its own steps
        } else {
            runEndNs = runStartNs + TimeUnit.SECONDS.toNanos(options.seconds());
        }
        control.phase = RunControl.RUN;
        wakeAll(loops);
        while (System.nanoTime() - runEndNs < 0 && beforeDeadline(control) && !allFinished(loops)) {
            progress.tick(options.scenario().label(), 100);
        }
        LongUnaryOperator wallMs = ns -> epochMs + TimeUnit.NANOSECONDS.toMillis(ns - epochNs);
        EchoSearch.Result search = options.scenario() == Scenario.ECHO_SEARCH
                ? new EchoSearch(options, control, loops, progress, out, wallMs).run()
                : null;
        long healthy = subscribers - stalled;
        long expected = 0;
        long lastDeliveryNs = runStartNs;
        if (options.scenario().fanout()) {
            long graceEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.graceSeconds());
            expected = healthy * control.published.get();
            // A hole in the numbers is lost for good (a late copy would count as a duplicate).
            while (control.delivered.get() + control.gapLost.get() + control.seqHoles.get() < expected
                    && System.nanoTime() - graceEndNs < 0 && beforeDeadline(control) && !allFinished(loops)) {
                progress.tick("grace", 10);
            }
            lastDeliveryNs = System.nanoTime();
            if (stalled > 0) {
                control.publishedFinal = control.published.get();
                control.drainStalled = true;
                wakeAll(loops);
                long drainEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(LoadOptions.STALLED_DRAIN_SECONDS);
                while (control.stalledResolved.get() < stalled && System.nanoTime() - drainEndNs < 0
                        && beforeDeadline(control) && !allFinished(loops)) {
                    progress.tick("drain", 10);
                }
            }
        }
        long deliveredAtEnd = control.delivered.get();
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

        long endNs = System.nanoTime();
        Histogram handshake = new Histogram(3);
        Histogram latency = new Histogram(3);
        Histogram completion = new Histogram(3);
        Histogram resume = new Histogram(3);
        FanoutResult fanout = options.scenario().fanout()
                ? fanout(options, control, loops, subscribers, healthy, stalled, expected, deliveredAtEnd, runStartNs,
                        lastDeliveryNs, completion, resume)
                : null;
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
                control.pingsAnswered.get(), control.protocolErrors.get(), cpuNs / 1e6, aborted, latency, fanout,
                search, RunControl.tally(control.problems));
        out.print(result.table());
        out.println("RESULT " + result.toJson());
        if (options.histogramLog() != null) {
            List<HistogramLog.Entry> logged = new ArrayList<>();
            logged.add(new HistogramLog.Entry("handshake_us", handshake, epochMs, wallMs.applyAsLong(lastJoinedNs)));
            if (options.scenario() == Scenario.ECHO) {
                logged.add(new HistogramLog.Entry("latency_us", latency, wallMs.applyAsLong(runStartNs),
                        wallMs.applyAsLong(endNs)));
            } else if (options.scenario().fanout()) {
                long start = wallMs.applyAsLong(runStartNs);
                long end = wallMs.applyAsLong(endNs);
                logged.add(new HistogramLog.Entry("delivery_us", latency, start, end));
                logged.add(new HistogramLog.Entry("completion_us", completion, start, end));
                if (options.scenario().resumes()) {
                    logged.add(new HistogramLog.Entry("resume_us", resume, start, end));
                }
            } else if (search != null) {
                for (EchoSearch.Step step : search.steps()) {
                    logged.add(new HistogramLog.Entry("latency_us", step.latencyUs(), step.startMs(), step.endMs()));
                    logged.add(new HistogramLog.Entry("latency_second_half_us", step.secondHalfUs(), step.startMs(),
                            step.endMs()));
                }
            }
            writeHistogramLog(options, result, epochMs, logged);
            out.println("load: histograms written to " + options.histogramLog());
        }
        return result;
    }

    private static void writeHistogramLog(LoadOptions options, LoadResult result, long epochMs,
                                          List<HistogramLog.Entry> logged) throws IOException {
        List<String> comments = List.of(
                "Tether load generator: scenario " + options.scenario().label() + ", protocol "
                        + options.protocol().label(),
                "options: " + options,
                "values in microseconds; Interval_Max column = max value / 1e6 (seconds)",
                "tags: handshake_us = TCP connect start to welcome / 40; latency_us = echo round trip from the"
                        + " intended send time; delivery_us = broadcast publish intended time to each delivery;"
                        + " completion_us = publish intended time to its last healthy delivery;"
                        + " resume_us = storm cut (failover: loss of the server) to each resumed welcome",
                "echo-search: one latency_us and one latency_second_half_us interval per step, in step order"
                        + " (the second half: requests intended in the second half of the step)",
                "RESULT " + result.toJson());
        HistogramLog.write(Path.of(options.histogramLog()), comments, epochMs, logged);
    }

    /** Merges the loops' broadcast figures (after they finished). */
    private static FanoutResult fanout(LoadOptions options, RunControl control, ClientLoop[] loops, long subscribers,
                                       long healthy, long stalled, long expected, long delivered, long runStartNs,
                                       long graceEndNs, Histogram completion, Histogram resume) {
        long published = control.published.get();
        Histogram latency = new Histogram(3);
        long lastDeliveryNs = runStartNs;
        long lastResumedNs = 0;
        int planned = (int) options.plannedPublishes();
        long completed = 0;
        long incomplete = 0;
        long rate = options.messageRate();
        int cutCount = 0;
        long subscribersWithLoss = 0;
        long mostLost = 0;
        for (ClientLoop loop : loops) {
            if (loop.finished()) {
                latency.add(loop.latencyUs);
                cutCount += loop.resumeCount;
                if (loop.lastResumedAtNs != 0 && (lastResumedNs == 0 || loop.lastResumedAtNs - lastResumedNs > 0)) {
                    lastResumedNs = loop.lastResumedAtNs;
                }
                long[] loss = loop.subscriberLoss(published);
                subscribersWithLoss += loss[0];
                mostLost = Math.max(mostLost, loss[1]);
            }
        }
        long[] resumes = new long[cutCount];
        int r = 0;
        for (ClientLoop loop : loops) {
            if (loop.finished()) {
                System.arraycopy(loop.resumeNs, 0, resumes, r, loop.resumeCount);
                r += loop.resumeCount;
            }
        }
        // Publishes are numbered 0.. in intended order; those not sent (publisher down) are not counted.
        for (int k = 0; k < planned; k++) {
            int count = 0;
            long last = 0;
            for (ClientLoop loop : loops) {
                if (!loop.finished()) {
                    continue;
                }
                count += loop.broadcastCount[k];
                long l = loop.broadcastLastNs[k];
                if (l != 0 && (last == 0 || l - last > 0)) {
                    last = l;
                }
            }
            if (last != 0 && last - lastDeliveryNs > 0) {
                lastDeliveryNs = last;
            }
            if (healthy > 0 && count >= healthy) {
                completed++;
                long intended = runStartNs + k * 1_000_000_000L / rate;
                completion.recordValue(Math.max(0, TimeUnit.NANOSECONDS.toMicros(last - intended)));
            } else if (count > 0 || k < published) {
                incomplete++;
            }
        }
        java.util.Arrays.sort(resumes);
        for (long ns : resumes) {
            resume.recordValue(TimeUnit.NANOSECONDS.toMicros(ns));
        }
        long cut = control.cut.get();
        long firstLossNs = control.firstLossNs.get();
        // Failover: from the first subscriber's loss of its server (about the kill) to the last resume.
        double allResumedMs = firstLossNs == 0 || lastResumedNs == 0 || control.resumed.get() < cut ? -1
                : (lastResumedNs - firstLossNs) / 1e6;
        double seconds = Math.max(1e-9, (Math.min(lastDeliveryNs, graceEndNs) - runStartNs) / 1e9);
        StringBuilder codes = new StringBuilder();
        control.stalledCloseCodes.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> codes.append(codes.length() == 0 ? "" : " ").append(e.getKey()).append('x')
                        .append(e.getValue().get()));
        return new FanoutResult((int) subscribers, healthy, stalled, options.messageRate(), published,
                published / (double) options.seconds(), expected, delivered, delivered / seconds,
                Math.max(0, expected - delivered), control.gapLost.get(), control.seqHoles.get(),
                control.duplicates.get(),
                LoadResult.ms(latency, 50), LoadResult.ms(latency, 90), LoadResult.ms(latency, 99),
                LoadResult.ms(latency, 99.9), LoadResult.maxMs(latency),
                completed, incomplete, LoadResult.ms(completion, 50), LoadResult.ms(completion, 99),
                LoadResult.maxMs(completion),
                control.stalledDelivered.get(), control.stalledClosedByServer.get(),
                codes.length() == 0 ? "none" : codes.toString(),
                cut, control.resumed.get(), control.resumedFalse.get(), control.notResumedAtEnd.get(),
                control.reconnectAttempts.get(), control.reconnectFailures.get(),
                RunControl.tally(control.reconnectFailureReasons), control.retryAfterHonoured.get(),
                timeToShare(resumes, cut, 0.50), timeToShare(resumes, cut, 0.99), timeToShare(resumes, cut, 1.0),
                allResumedMs, subscribersWithLoss, mostLost,
                options.protocol() == WireProtocol.TETHER ? "resume (session and missed messages restored)"
                        : "reconnect (fresh session, rejoined the room, no recovery)",
                options.scenario().resumes(), options.scenario() == Scenario.FAILOVER);
    }

    private static String targetList(LoadOptions options) {
        StringBuilder b = new StringBuilder();
        for (InetSocketAddress t : options.targets()) {
            b.append(b.length() == 0 ? "" : ",").append(t.getAddress().getHostAddress()).append(':').append(t.getPort());
        }
        return b.toString();
    }

    /** Milliseconds from the cut until {@code share} of the {@code cut} subscribers resumed; -1 if never. */
    static double timeToShare(long[] sortedResumeNs, long cut, double share) {
        if (cut == 0) {
            return 0;
        }
        long needed = (long) Math.ceil(cut * share);
        if (needed > sortedResumeNs.length) {
            return -1;
        }
        return sortedResumeNs[(int) Math.max(0, needed - 1)] / 1e6;
    }

    /**
     * 127.0.0.(2+offset) .. 127.0.0.(1+offset+n), carrying into the third byte past .255 (the options
     * keep {@code 1 + offset + n} below 65,536). Linux routes all of 127.0.0.0/8 to loopback, so
     * binding them needs no set-up; where it fails, every connection uses 127.0.0.1 and the run says so.
     */
    static InetAddress[] sourceAddresses(int n, int offset, PrintStream out) throws IOException {
        InetAddress[] sources = new InetAddress[n];
        for (int i = 0; i < n; i++) {
            int a = i + 2 + offset;
            sources[i] = InetAddress.getByAddress(new byte[] {127, 0, (byte) (a >> 8), (byte) a});
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

    static boolean beforeDeadline(RunControl control) {
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

    /** Whether some loop has ended (failed or reached the hard deadline) before it was told to close. */
    static boolean anyFinished(ClientLoop[] loops) {
        for (ClientLoop loop : loops) {
            if (loop.finished()) {
                return true;
            }
        }
        return false;
    }

    static void wakeAll(ClientLoop[] loops) {
        for (ClientLoop loop : loops) {
            loop.wakeup();
        }
    }

    /** Prints one progress line per second: open connections, rates over the last second, errors. */
    static final class Progress {
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
            long sent = control.sent.get() + control.published.get();
            long received = control.received.get() + control.delivered.get();
            out.printf(Locale.ROOT, "[%6.1fs] %-6s open=%d connected=%d (%.0f/s) failed=%d disconnects=%d "
                            + "sent=%d (%.0f/s) received=%d (%.0f/s) errors=%d%n",
                    (now - epochNs) / 1e9, phase, control.open.get(), connected, (connected - lastConnected) / seconds,
                    control.failed.get(), control.unexpectedDisconnects.get(), sent, (sent - lastSent) / seconds,
                    received, (received - lastReceived) / seconds,
                    control.protocolErrors.get() + control.replyErrors.get());
            if (control.cut.get() > 0) {
                out.printf(Locale.ROOT, "           cut=%d resumed=%d resumed:false=%d reconnects=%d duplicates=%d%n",
                        control.cut.get(), control.resumed.get(), control.resumedFalse.get(),
                        control.reconnectAttempts.get(), control.duplicates.get());
            }
            lastPrintNs = now;
            lastConnected = connected;
            lastSent = sent;
            lastReceived = received;
        }
    }
}
