package dev.tether.benchmarks.load;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;
import org.HdrHistogram.Histogram;

/**
 * {@code echo-search}: over connections opened once, runs echo steps of {@code --seconds} each with
 * fresh histograms, to find the highest total rate whose step is <em>steady</em>: p99 at most
 * {@code --p99-bound-ms}, p99 of the requests intended in the second half of the step also at
 * most the bound (a queue still growing at the end fails even if the first half hid it), achieved
 * rate at least {@value #MIN_ACHIEVED_SHARE} of the target (the generator kept up), and no
 * request lost, refused or unsent. From {@code --rate} the rate grows by {@value #GROWTH} while
 * steps are steady, then bisects between the last steady and the first unsteady rate until they
 * are within {@value #CLOSE_ENOUGH} of each other, or after {@code --max-steps} steps.
 *
 * <p>A step that is not steady is run once more at the same rate before it counts: one latency
 * spike (a GC pause, a neighbour on the machine) can push a whole step's p99 over the bound
 * while the rate is sustainable (seen: 4,500/s failed with p99 211 ms, its second half 4.9 ms).
 * The repeat decides; both attempts are reported. Every attempt counts against
 * {@code --max-steps}, so the search stays bounded; a failure on the last allowed step is not
 * repeated and counts.
 *
 * <p>Each step waits at most {@code --grace-seconds} after its last request for the replies; what
 * has not arrived by then is lost for that step, and a reply that arrives later is counted apart
 * ({@code lateReplies}), never in a later step.
 *
 * <p>Several generator processes can search together ({@code --generators N --generator-index I
 * --peer-dir DIR}, the same {@code --rate} for all, the total): each sends its share of every
 * step's total rate over its own connections,
 * and after each step writes its figures and histograms to {@code DIR/step-K.gen-I.hlog}, waits
 * (at most {@value #PEER_WAIT_SECONDS} s) for every other process's file and decides on the sum,
 * with the histograms added exactly. Every process reads the same files, so all take the same
 * next rate and report the same steps; step 0 is a barrier before the first step.
 *
 * <p>Threading: runs on the coordinating thread while the loops send; it reads the loops'
 * {@link ClientLoop#stepLatencyUs} recorders, which are made for a reader on another thread.
 */
final class EchoSearch {

    static final double GROWTH = 1.5;
    static final double CLOSE_ENOUGH = 0.10;
    static final double MIN_ACHIEVED_SHARE = 0.98;
    /** The longest wait for the other generator processes' figures of a step. */
    static final int PEER_WAIT_SECONDS = 60;
    /** Between steps the schedule is parked this far ahead: nothing is due, every reply is late. */
    private static final long PARKED_NS = TimeUnit.DAYS.toNanos(1);

    /**
     * One step, summed over the generator processes of the run.
     *
     * @param rate       target requests per second, total
     * @param sent       requests sent for the step
     * @param sendingNs  from the step's start until its last request was sent (at least its
     *                   length; more when the generator fell behind): achieved = sent / this
     * @param received   successful replies within the step's grace period
     * @param lost       sent, but neither reply nor error reply within the grace period
     * @param errors     error replies plus requests not sent for want of an open connection
     * @param attempt    1, or 2 for the repeat of an unsteady step at the same rate
     * @param repeated   this attempt was not steady and was repeated: the repeat decided, not it
     */
    record Step(int rate, long sendingNs, long sent, long received, long lost, long errors,
                Histogram latencyUs, Histogram secondHalfUs, long startMs, long endMs, int attempt,
                boolean repeated) {

        Step asAttempt(int attempt, boolean repeated) {
            return new Step(rate, sendingNs, sent, received, lost, errors, latencyUs, secondHalfUs, startMs, endMs,
                    attempt, repeated);
        }

        double achieved() {
            return sent * 1e9 / sendingNs;
        }

        boolean steady(double boundMs) {
            return latencyUs.getTotalCount() > 0
                    && LoadResult.ms(latencyUs, 99) <= boundMs
                    && LoadResult.ms(secondHalfUs, 99) <= boundMs
                    && achieved() >= MIN_ACHIEVED_SHARE * rate
                    && lost == 0 && errors == 0;
        }
    }

    /**
     * What the search found: {@code bestRate} 0 if no step was steady; {@code complete} false when
     * it stopped early (a loop ended, the deadline neared, a peer process did not report).
     */
    record Result(double boundMs, int startRate, int bestRate, List<Step> steps, long lateReplies, int generators,
                  boolean complete) {

        void json(StringBuilder b) {
            LoadResult.field(b, "searchGenerators", generators);
            LoadResult.field(b, "searchComplete", complete);
            LoadResult.field(b, "searchBoundMs", boundMs);
            LoadResult.field(b, "searchStartRate", startRate);
            LoadResult.field(b, "searchBestRate", bestRate);
            LoadResult.field(b, "lateReplies", lateReplies);
            b.append("\"steps\":[");
            for (Step s : steps) {
                b.append('{');
                LoadResult.field(b, "rate", s.rate());
                LoadResult.field(b, "attempt", s.attempt());
                LoadResult.field(b, "achieved", s.achieved());
                LoadResult.field(b, "sent", s.sent());
                LoadResult.field(b, "received", s.received());
                LoadResult.field(b, "p50Ms", LoadResult.ms(s.latencyUs(), 50));
                LoadResult.field(b, "p99Ms", LoadResult.ms(s.latencyUs(), 99));
                LoadResult.field(b, "p99SecondHalfMs", LoadResult.ms(s.secondHalfUs(), 99));
                LoadResult.field(b, "maxMs", LoadResult.maxMs(s.latencyUs()));
                LoadResult.field(b, "lost", s.lost());
                LoadResult.field(b, "errors", s.errors());
                LoadResult.field(b, "steady", s.steady(boundMs));
                LoadResult.field(b, "repeated", s.repeated());
                b.setLength(b.length() - 1);
                b.append("},");
            }
            if (!steps.isEmpty()) {
                b.setLength(b.length() - 1);
            }
            b.append("],");
        }

        void table(StringBuilder b) {
            LoadResult.row(b, "search: p99 bound", fmt(boundMs) + " ms");
            LoadResult.row(b, "search: start / best rate", startRate + " / " + bestRate + " per s"
                    + (generators > 1 ? " (" + generators + " processes)" : ""));
            if (!complete) {
                LoadResult.row(b, "search: INCOMPLETE", "stopped early (see above)");
            }
            LoadResult.row(b, "search: late replies", Long.toString(lateReplies));
            b.append(System.lineSeparator());
            b.append(String.format(Locale.ROOT,
                    "| %4s | %7s | %8s | %10s | %8s | %8s | %8s | %8s | %8s | %6s | %-12s |%n", "step", "attempt",
                    "rate/s", "achieved/s", "p50 ms", "p99 ms", "p99 2nd", "max ms", "lost", "errors", "steady"));
            int k = 1;
            for (Step s : steps) {
                b.append(String.format(Locale.ROOT,
                        "| %4d | %7d | %8d | %10.1f | %8.2f | %8.2f | %8.2f | %8.2f | %8d | %6d | %-12s |%n", k++,
                        s.attempt(), s.rate(), s.achieved(), LoadResult.ms(s.latencyUs(), 50),
                        LoadResult.ms(s.latencyUs(), 99), LoadResult.ms(s.secondHalfUs(), 99),
                        LoadResult.maxMs(s.latencyUs()), s.lost(), s.errors(),
                        s.steady(boundMs) ? "yes" : s.repeated() ? "no, repeated" : "no"));
            }
        }
    }

    private final LoadOptions options;
    private final RunControl control;
    private final ClientLoop[] loops;
    private final LoadGenerator.Progress progress;
    private final PrintStream out;
    private final LongUnaryOperator wallMs;

    EchoSearch(LoadOptions options, RunControl control, ClientLoop[] loops, LoadGenerator.Progress progress,
               PrintStream out, LongUnaryOperator wallMs) {
        this.options = options;
        this.control = control;
        this.loops = loops;
        this.progress = progress;
        this.out = out;
        this.wallMs = wallMs;
    }

    /** Runs the steps; returns early (with the steps so far) if a loop ends or the hard deadline nears. */
    Result run() throws IOException, InterruptedException {
        List<Step> steps = new ArrayList<>();
        int generators = options.generators();
        int rate = options.messageRate();
        int good = 0;
        int bad = 0;
        boolean complete = true;
        try {
            if (generators > 1) {
                exchange(0, new Step(0, 1, 0, 0, 0, 0, new Histogram(3), new Histogram(3), 0, 0, 1, false), 0);
            }
        } catch (IOException e) {
            out.println("search: stopped before step 1: " + e.getMessage());
            rate = 0;
            complete = false;
        }
        int attempt = 1;
        for (int k = 1; k <= options.maxSteps() && rate >= 1; k++) {
            if (!enoughTimeFor() || LoadGenerator.anyFinished(loops)) {
                out.println("search: stopped before step " + k + " (a loop ended or the hard deadline is near)");
                complete = false;
                break;
            }
            Step step = step(k, rate);
            if (generators > 1) {
                try {
                    step = exchange(k, step, rate);
                } catch (IOException e) {
                    out.println("search: stopped after step " + k + ": " + e.getMessage());
                    complete = false;
                    break;
                }
            }
            boolean steady = step.steady(options.p99BoundMs());
            // Every process decides this on the same summed step, so all repeat together.
            boolean repeat = !steady && attempt == 1 && k < options.maxSteps();
            step = step.asAttempt(attempt, repeat);
            steps.add(step);
            String what = attempt == 2 ? " (repeat)" : "";
            if (repeat) {
                out.printf(Locale.ROOT, "search step %d/%d: rate %d/s achieved %.1f/s p50 %.2f p99 %.2f (2nd half %.2f)"
                                + " max %.2f ms lost %d errors %d: not steady, repeating once at %d/s%n", k,
                        options.maxSteps(), rate, step.achieved(), LoadResult.ms(step.latencyUs(), 50),
                        LoadResult.ms(step.latencyUs(), 99), LoadResult.ms(step.secondHalfUs(), 99),
                        LoadResult.maxMs(step.latencyUs()), step.lost(), step.errors(), rate);
                attempt = 2;
                continue;
            }
            attempt = 1;
            if (steady) {
                good = rate;
            } else {
                bad = rate;
            }
            int next = nextRate(rate, good, bad);
            out.printf(Locale.ROOT, "search step %d/%d: rate %d/s%s achieved %.1f/s p50 %.2f p99 %.2f (2nd half %.2f)"
                            + " max %.2f ms lost %d errors %d: %s%s%n", k, options.maxSteps(), rate, what,
                    step.achieved(), LoadResult.ms(step.latencyUs(), 50), LoadResult.ms(step.latencyUs(), 99),
                    LoadResult.ms(step.secondHalfUs(), 99), LoadResult.maxMs(step.latencyUs()),
                    step.lost(), step.errors(), steady ? "steady" : "not steady",
                    next > 0 && k < options.maxSteps() ? ", next " + next + "/s" : ", done");
            rate = next;
        }
        return new Result(options.p99BoundMs(), options.messageRate(), good, steps,
                control.lateReplies.get(), generators, complete);
    }

    /**
     * The rate of the step after one at {@code rate}, given the highest steady rate so far
     * ({@code good}, 0 if none) and the lowest unsteady one ({@code bad}, 0 if none); 0 when the
     * search is done.
     */
    static int nextRate(int rate, int good, int bad) {
        if (bad == 0) {
            return (int) Math.min(Integer.MAX_VALUE / 2, Math.round(rate * GROWTH));
        }
        if (good == 0) {
            return rate / 2;
        }
        if (bad <= good * (1 + CLOSE_ENOUGH)) {
            return 0;
        }
        return (good + bad) / 2;
    }

    private boolean enoughTimeFor() {
        long needNs = TimeUnit.SECONDS.toNanos(options.seconds() + options.graceSeconds() + 2L);
        return control.hardDeadlineNs - System.nanoTime() > needNs;
    }

    /**
     * Writes this process's figures of step {@code k} for the other processes, waits for theirs and
     * returns the sum (the histograms added), at {@code totalRate}.
     */
    private Step exchange(int k, Step own, int totalRate) throws IOException, InterruptedException {
        Path dir = Path.of(options.peerDir());
        StringBuilder json = new StringBuilder("{");
        LoadResult.field(json, "sent", own.sent());
        LoadResult.field(json, "received", own.received());
        LoadResult.field(json, "lost", own.lost());
        LoadResult.field(json, "errors", own.errors());
        LoadResult.field(json, "sendingNs", own.sendingNs());
        json.setLength(json.length() - 1);
        json.append('}');
        HistogramLog.write(dir.resolve("step-" + k + ".gen-" + options.generatorIndex() + ".hlog"),
                List.of("STEP " + json), own.startMs(), List.of(
                        new HistogramLog.Entry("latency_us", own.latencyUs(), own.startMs(), own.endMs()),
                        new HistogramLog.Entry("latency_second_half_us", own.secondHalfUs(), own.startMs(),
                                own.endMs())));
        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(PEER_WAIT_SECONDS);
        long sent = 0;
        long received = 0;
        long lost = 0;
        long errors = 0;
        long sendingNs = 1;
        long startMs = own.startMs();
        long endMs = own.endMs();
        Histogram latency = new Histogram(3);
        Histogram secondHalf = new Histogram(3);
        for (int g = 1; g <= options.generators(); g++) {
            Path file = dir.resolve("step-" + k + ".gen-" + g + ".hlog");
            while (!Files.exists(file)) {
                if (System.nanoTime() - deadlineNs > 0 || !LoadGenerator.beforeDeadline(control)) {
                    throw new IOException("generator " + g + " did not report step " + k + " within "
                            + PEER_WAIT_SECONDS + " s (" + file + ")");
                }
                progress.tick("peers", 10);
            }
            Map<String, String> f = ResultMerge.fields(HistogramLog.comment(file, "STEP"));
            sent += Long.parseLong(f.get("sent"));
            received += Long.parseLong(f.get("received"));
            lost += Long.parseLong(f.get("lost"));
            errors += Long.parseLong(f.get("errors"));
            sendingNs = Math.max(sendingNs, Long.parseLong(f.get("sendingNs")));
            for (Histogram h : HistogramLog.read(file)) {
                ("latency_us".equals(h.getTag()) ? latency : secondHalf).add(h);
                startMs = Math.min(startMs, h.getStartTimeStamp());
                endMs = Math.max(endMs, h.getEndTimeStamp());
            }
        }
        return new Step(totalRate, sendingNs, sent, received, lost, errors, latency, secondHalf, startMs, endMs,
                own.attempt(), own.repeated());
    }

    /** This process's requests per second when the total is {@code totalRate}: an even share, the remainder to the first. */
    private int share(int totalRate) {
        int n = options.generators();
        return totalRate / n + (options.generatorIndex() - 1 < totalRate % n ? 1 : 0);
    }

    /** One step at {@code totalRate} requests per second (this process: its share): send, wait for the replies, close. */
    private Step step(int k, int totalRate) throws InterruptedException {
        int rate = share(totalRate);
        long sent0 = control.sent.get();
        long received0 = control.received.get();
        long replyErrors0 = control.replyErrors.get();
        long unsent0 = control.unsent.get();
        long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
        long endNs = startNs + TimeUnit.SECONDS.toNanos(options.seconds());
        control.echoRate = rate;
        control.secondHalfNs = startNs + (endNs - startNs) / 2;
        control.sendEndNs = endNs;
        control.sendStartNs = startNs;
        LoadGenerator.wakeAll(loops);
        String label = "step" + k;
        while (System.nanoTime() - endNs < 0 && LoadGenerator.beforeDeadline(control)
                && !LoadGenerator.anyFinished(loops)) {
            progress.tick(label, Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(endNs - System.nanoTime()))));
        }
        // Every request of the step is due by now; a loop that fell behind still sends them (late, which
        // its latency shows): wait for them, then for their replies, within the grace period.
        long due = (long) rate * options.seconds();
        long sendingNs = 0;
        boolean first = true;
        long graceEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.graceSeconds());
        while (System.nanoTime() - graceEndNs < 0 && LoadGenerator.beforeDeadline(control)
                && !LoadGenerator.anyFinished(loops)) {
            long sent = control.sent.get() - sent0;
            if (sendingNs == 0 && sent + control.unsent.get() - unsent0 >= due) {
                // All sent by the first look: on time as far as this thread can tell (latency says the rest).
                sendingNs = (first ? endNs : Math.max(endNs, System.nanoTime())) - startNs;
            }
            first = false;
            if (sendingNs != 0 && control.received.get() - received0 + control.replyErrors.get() - replyErrors0 >= sent) {
                break;
            }
            progress.tick("settle", 10);
        }
        if (sendingNs == 0) {
            sendingNs = System.nanoTime() - startNs;
        }
        // Park the schedule: nothing more is sent for this step, and a reply from now on is late.
        long parked = System.nanoTime() + PARKED_NS;
        control.sendEndNs = parked;
        control.sendStartNs = parked;
        long endMs = wallMs.applyAsLong(System.nanoTime());
        Histogram latency = new Histogram(3);
        Histogram secondHalf = new Histogram(3);
        for (ClientLoop loop : loops) {
            latency.add(loop.stepLatencyUs.getIntervalHistogram());
            secondHalf.add(loop.stepSecondHalfUs.getIntervalHistogram());
        }
        long sent = control.sent.get() - sent0;
        long received = control.received.get() - received0;
        long replyErrors = control.replyErrors.get() - replyErrors0;
        return new Step(rate, sendingNs, sent, received, sent - received - replyErrors,
                replyErrors + control.unsent.get() - unsent0, latency, secondHalf, wallMs.applyAsLong(startNs), endMs,
                1, false);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
