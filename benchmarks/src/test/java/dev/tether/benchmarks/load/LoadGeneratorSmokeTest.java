package dev.tether.benchmarks.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.tether.core.InMemoryCluster;
import dev.tether.core.Message;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.testing.Await;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the short {@code hold} and {@code echo} scenarios against an in-process Tether server on an
 * ephemeral 127.0.0.1 port, with heartbeats 300 ms apart so that the generator must answer them.
 * Asserts that the runs complete and report, not timings.
 */
@Timeout(30)
class LoadGeneratorSmokeTest {

    /**
     * What the chat example grants the generator's clients (ChatServer): subscribing to and
     * publishing on {@code room}, the broadcast scenarios' topic, which the default refuses.
     */
    private static final Authorizer ROOM_FOR_CLIENTS = Authorizer.topics("room"::equals, "room"::equals);

    private Tether tether;
    private TetherServer server;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);

    @BeforeEach
    void startServer() {
        TetherConfig config = TetherConfig.builder()
                .authorizer(ROOM_FOR_CLIENTS)
                .heartbeatInterval(Duration.ofMillis(300))
                .heartbeatTimeout(Duration.ofMillis(300))
                .build();
        tether = Tether.create(config, new SessionHandler() {
            @Override
            public void onRequest(Session session, Message message, Responder responder) {
                if (message.event().equals("echo")) {
                    responder.reply(message.payload());
                } else {
                    SessionHandler.super.onRequest(session, message, responder);
                }
            }
        });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stopServer() {
        if (tether != null) {
            tether.close();
        }
        if (server != null) {
            server.close();
        }
        System.out.print(output.toString(StandardCharsets.UTF_8));
    }

    @Test
    void holdConnectsEveryClientAnswersHeartbeatsAndClosesCleanly() throws Exception {
        LoadResult r = LoadGenerator.run(LoadOptions.parse("hold", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "50", "--rate", "500",
                "--hold-seconds", "1", "--source-ips", "2"), out);

        assertThat(r.aborted()).isFalse();
        assertThat(r.connected()).isEqualTo(50);
        assertThat(r.failed()).isZero();
        assertThat(r.unexpectedDisconnects()).isZero();
        assertThat(r.closedCleanly()).isEqualTo(50);
        assertThat(r.pingsAnswered()).isPositive();
        assertThat(r.protocolErrors()).isZero();
        assertThat(r.handshakeMaxMs()).isPositive();
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("RESULT {\"scenario\":\"hold\"");
    }

    @Test
    void warmUpMakesItsHandshakesClosesThemAndGoesOnAtTheLineOnItsInput() throws Exception {
        LoadOptions options = LoadOptions.parse("echo", "--protocol", "tether", "--port", Integer.toString(server.port()),
                "--connections", "5", "--rate", "100", "--seconds", "1", "--warmup-handshakes", "30", "--await-go");
        LoadResult warm = LoadGenerator.warmUp(options, out,
                new ByteArrayInputStream("go\ngo\n".getBytes(StandardCharsets.US_ASCII)));

        assertThat(warm.scenario()).isEqualTo("hold");
        assertThat(warm.connected()).isEqualTo(15);
        assertThat(warm.closedCleanly()).isEqualTo(15);
        assertThat(output.toString(StandardCharsets.UTF_8))
                .contains(LoadOptions.WARMUP_DONE + ": round 1 of 2, 15 handshakes, 15 welcomed, 0 failed")
                .contains(LoadOptions.WARMUP_DONE + ": round 2 of 2, 15 handshakes, 15 welcomed, 0 failed")
                .doesNotContain("RESULT", "no go");
        // A normal close ends a Tether session at once: the warm-up leaves nothing behind.
        Await.until(() -> tether.sessions().isEmpty(), Duration.ofSeconds(5), "the warm-up sessions ended");
    }

    @Test
    void aStormsWarmUpResumesItsOwnSubscribersInTheSecondRound() throws Exception {
        LoadOptions options = LoadOptions.parse("storm", "--protocol", "tether", "--port", Integer.toString(server.port()),
                "--connections", "5", "--publish-rate", "10", "--seconds", "2", "--storm-after-seconds", "1", "--grace-seconds", "2",
                "--warmup-handshakes", "20");
        LoadResult warm = LoadGenerator.warmUp(options, out, new ByteArrayInputStream(new byte[0]));

        assertThat(warm.scenario()).isEqualTo("storm");
        FanoutResult f = warm.fanout();
        assertThat(f.cut()).isEqualTo(10);
        assertThat(f.resumed()).isEqualTo(10);
        assertThat(f.lost()).isZero();
        assertThat(f.duplicates()).isZero();
        assertThat(output.toString(StandardCharsets.UTF_8)).doesNotContain("RESULT");
    }

    @Test
    void warmUpOptionsAreAHoldOfTheRunsProtocolAndTargets() {
        LoadOptions options = LoadOptions.parse("storm", "--protocol", "socketio", "--port", "9000", "--connections",
                "10000", "--publish-rate", "10", "--seconds", "20", "--source-ips", "8", "--histogram-log", "x.hlog",
                "--warmup-handshakes", "4000");
        LoadOptions warmup = options.warmup(2000);

        assertThat(warmup.scenario()).isEqualTo(Scenario.HOLD);
        assertThat(warmup.protocol()).isEqualTo(options.protocol());
        assertThat(warmup.targets()).isEqualTo(options.targets());
        assertThat(warmup.sourceIps()).isEqualTo(8);
        assertThat(warmup.connections()).isEqualTo(2000);
        assertThat(warmup.connectRate()).isEqualTo(LoadOptions.WARMUP_RATE);
        assertThat(warmup.histogramLog()).isNull();
        assertThat(warmup.warmupHandshakes()).isZero();
        assertThat(options.warmup(2000, 1)).isEqualTo(warmup);
        LoadOptions secondRound = options.warmup(2000, 2);
        assertThat(secondRound.scenario()).as("a storm's second round is a small storm").isEqualTo(Scenario.STORM);
        assertThat(secondRound.connections()).isEqualTo(2000);
        assertThat(secondRound.messageRate()).isEqualTo(10);
        assertThat(secondRound.seconds()).isEqualTo(LoadOptions.WARMUP_STORM_SECONDS);
        assertThat(secondRound.stormAfterSeconds()).isEqualTo(1);
        assertThat(secondRound.histogramLog()).isNull();
        assertThat(secondRound.targets()).isEqualTo(options.targets());
        assertThat(LoadOptions.parse("echo", "--warmup-handshakes", "4000").warmup(2000, 2).scenario())
                .isEqualTo(Scenario.HOLD);
        assertThat(options.warmupRoundHandshakes(1)).isEqualTo(2000);
        assertThat(options.warmupRoundHandshakes(2)).isEqualTo(2000);
        LoadOptions longWarmUp = LoadOptions.parse("hold", "--warmup-handshakes", "16000");
        assertThat(longWarmUp.warmupRoundHandshakes(1)).as("the first round takes what the fixed second leaves").isEqualTo(14_000);
        assertThat(longWarmUp.warmupRoundHandshakes(2)).isEqualTo(LoadOptions.WARMUP_SECOND_ROUND);
        LoadOptions shortWarmUp = LoadOptions.parse("hold", "--warmup-handshakes", "31");
        assertThat(shortWarmUp.warmupRoundHandshakes(1)).isEqualTo(16);
        assertThat(shortWarmUp.warmupRoundHandshakes(2)).isEqualTo(15);
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--await-go"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--warmup-handshakes");
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--warmup-handshakes", "19001"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2..19000");
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--warmup-handshakes", "1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two rounds");
    }

    @Test
    void echoMeasuresEveryReplyFromItsIntendedSendTime(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("echo.hlog");
        LoadResult r = LoadGenerator.run(LoadOptions.parse("echo", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "20", "--connect-rate", "500",
                "--rate", "200", "--seconds", "2", "--grace-seconds", "2", "--histogram-log", log.toString()), out);

        assertThat(r.aborted()).isFalse();
        assertThat(r.connected()).isEqualTo(20);
        assertThat(r.failed()).isZero();
        assertThat(r.sent()).isEqualTo(400);
        assertThat(r.received()).isEqualTo(400);
        assertThat(r.lost()).isZero();
        assertThat(r.replyErrors()).isZero();
        assertThat(r.unsent()).isZero();
        assertThat(r.latencyCount()).isEqualTo(400);
        assertThat(r.latencyUs().getTotalCount()).isPositive();
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("RESULT {\"scenario\":\"echo\"");
        assertThat(tagsAndCounts(log)).containsExactly(entry("handshake_us", 20L), entry("latency_us", 400L));
        assertThat(Files.readString(log)).contains("#RESULT {\"scenario\":\"echo\"", "microseconds");
    }

    @Test
    void echoSearchRunsBoundedStepsOverTheSameConnectionsAndReportsTheBestRate(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("search.hlog");
        LoadResult r = LoadGenerator.run(LoadOptions.parse("echo-search", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "20", "--connect-rate", "500",
                "--rate", "100", "--seconds", "1", "--grace-seconds", "2", "--max-steps", "3",
                "--p99-bound-ms", "1000", "--histogram-log", log.toString()), out);

        assertThat(r.aborted()).isFalse();
        assertThat(r.connected()).isEqualTo(20);
        assertThat(r.unexpectedDisconnects()).isZero();
        assertThat(r.closedCleanly()).isEqualTo(20);
        EchoSearch.Result search = r.search();
        assertThat(search.steps()).hasSizeBetween(1, 3);
        EchoSearch.Step first = search.steps().get(0);
        assertThat(first.rate()).isEqualTo(100);
        assertThat(first.sent()).isEqualTo(100);
        assertThat(first.received()).isEqualTo(100);
        assertThat(first.lost()).isZero();
        assertThat(first.latencyUs().getTotalCount()).isEqualTo(100);
        assertThat(first.secondHalfUs().getTotalCount()).isEqualTo(50);
        // Whether a step is steady depends on this machine; what follows from it does not.
        int good = 0;
        int bad = 0;
        long replies = 0;
        for (int k = 0; k < search.steps().size(); k++) {
            EchoSearch.Step step = search.steps().get(k);
            assertThat(step.sent()).isEqualTo(step.rate());
            replies += step.latencyUs().getTotalCount();
            boolean hasNext = k + 1 < search.steps().size();
            if (step.repeated()) {
                assertThat(step.steady(1000)).isFalse();
                assertThat(step.attempt()).isEqualTo(1);
                assertThat(hasNext).isTrue();
                assertThat(search.steps().get(k + 1).rate()).isEqualTo(step.rate());
                assertThat(search.steps().get(k + 1).attempt()).isEqualTo(2);
                continue;
            }
            if (step.steady(1000)) {
                good = step.rate();
            } else {
                bad = step.rate();
            }
            if (hasNext) {
                assertThat(search.steps().get(k + 1).rate()).isEqualTo(EchoSearch.nextRate(step.rate(), good, bad));
                assertThat(search.steps().get(k + 1).attempt()).isEqualTo(1);
            }
        }
        assertThat(search.bestRate()).isEqualTo(good);
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("search step 1/3: rate 100/s",
                "\"searchBestRate\":" + good, "\"steps\":[{\"rate\":100,");
        assertThat(tagsAndCounts(log)).containsEntry("handshake_us", 20L).containsEntry("latency_us", replies)
                .containsKey("latency_second_half_us");
    }

    @Test
    void echoSearchRepeatsAnUnsteadyStepOnceAndCountsEveryAttemptAgainstMaxSteps() throws Exception {
        // No round trip is under a microsecond: every step fails the bound.
        LoadResult r = LoadGenerator.run(LoadOptions.parse("echo-search", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "10", "--connect-rate", "500",
                "--rate", "100", "--seconds", "1", "--grace-seconds", "2", "--max-steps", "3",
                "--p99-bound-ms", "0.001"), out);

        EchoSearch.Result search = r.search();
        assertThat(search.steps()).extracting(EchoSearch.Step::rate).containsExactly(100, 100, 50);
        assertThat(search.steps()).extracting(EchoSearch.Step::attempt).containsExactly(1, 2, 1);
        // The third is the last step allowed: no room to repeat it, so it counts as it is.
        assertThat(search.steps()).extracting(EchoSearch.Step::repeated).containsExactly(true, false, false);
        assertThat(search.bestRate()).isZero();
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("not steady, repeating once at 100/s",
                "rate 100/s (repeat)", "\"attempt\":2", "no, repeated");
    }

    @Test
    void echoSearchGrowsWhileSteadyThenBisectsUntilWithinTenPercent() {
        assertThat(EchoSearch.nextRate(2000, 2000, 0)).isEqualTo(3000);
        assertThat(EchoSearch.nextRate(3000, 3000, 0)).isEqualTo(4500);
        assertThat(EchoSearch.nextRate(4500, 3000, 4500)).isEqualTo(3750);
        assertThat(EchoSearch.nextRate(3750, 3750, 4500)).isEqualTo(4125);
        assertThat(EchoSearch.nextRate(4125, 4125, 4500)).isZero();
        assertThat(EchoSearch.nextRate(2000, 0, 2000)).isEqualTo(1000);
    }

    @Test
    void twoGeneratorProcessesSearchInLockstepAndMergeIntoOneResult(@TempDir Path dir) throws Exception {
        Path peers = dir.resolve("peers");
        Callable<LoadResult> first = () -> LoadGenerator.run(searchOptions(peers, 1, dir.resolve("g1.hlog")), out);
        Callable<LoadResult> second = () -> LoadGenerator.run(searchOptions(peers, 2, dir.resolve("g2.hlog")), out);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<LoadResult> f1 = pool.submit(first);
            Future<LoadResult> f2 = pool.submit(second);
            LoadResult r1 = f1.get(25, TimeUnit.SECONDS);
            LoadResult r2 = f2.get(25, TimeUnit.SECONDS);

            assertThat(r1.connected()).isEqualTo(10);
            assertThat(r2.connected()).isEqualTo(10);
            EchoSearch.Result s1 = r1.search();
            assertThat(s1.complete()).isTrue();
            assertThat(s1.generators()).isEqualTo(2);
            assertThat(s1.startRate()).isEqualTo(100);
            // Both decided on the same summed figures: the same steps, the same answer.
            assertThat(s1.steps()).extracting(EchoSearch.Step::rate)
                    .containsExactlyElementsOf(r2.search().steps().stream().map(EchoSearch.Step::rate).toList());
            assertThat(s1.steps()).extracting(EchoSearch.Step::sent)
                    .containsExactlyElementsOf(r2.search().steps().stream().map(EchoSearch.Step::sent).toList());
            assertThat(s1.steps().get(0).sent()).isEqualTo(100);
            assertThat(s1.steps().get(0).latencyUs().getTotalCount()).isEqualTo(s1.steps().get(0).received());
            assertThat(r2.search().bestRate()).isEqualTo(s1.bestRate());

            Map<String, String> merged = ResultMerge.fields(
                    ResultMerge.merge(List.of(dir.resolve("g1.hlog"), dir.resolve("g2.hlog"))));
            assertThat(merged).containsEntry("generators", "2").containsEntry("connected", "20")
                    .containsEntry("scenario", "\"echo-search\"")
                    .containsEntry("searchBestRate", Integer.toString(s1.bestRate()));
        } finally {
            pool.shutdownNow();
        }
    }

    private LoadOptions searchOptions(Path peers, int index, Path log) {
        return LoadOptions.parse("echo-search", "--protocol", "tether", "--port", Integer.toString(server.port()),
                "--connections", "10", "--connect-rate", "500", "--rate", "100", "--seconds", "1",
                "--grace-seconds", "2", "--max-steps", "2", "--p99-bound-ms", "1000", "--loops", "1",
                "--generators", "2", "--generator-index", Integer.toString(index), "--peer-dir", peers.toString(),
                "--source-ips", "1", "--source-ip-offset", Integer.toString(index - 1),
                "--histogram-log", log.toString());
    }

    @Test
    void mergeSumsCountsAndTakesPercentilesFromTheAddedHistograms(@TempDir Path dir) throws Exception {
        for (int g = 1; g <= 2; g++) {
            LoadGenerator.run(LoadOptions.parse("echo", "--protocol", "tether", "--port",
                    Integer.toString(server.port()), "--connections", "10", "--connect-rate", "500", "--rate", "100",
                    "--seconds", "1", "--source-ips", "1", "--source-ip-offset", Integer.toString(g - 1),
                    "--histogram-log", dir.resolve("g" + g + ".hlog").toString()), out);
        }
        List<Path> logs = List.of(dir.resolve("g1.hlog"), dir.resolve("g2.hlog"));

        Map<String, String> merged = ResultMerge.fields(ResultMerge.merge(logs));

        Histogram all = new Histogram(3);
        for (Path log : logs) {
            all.add(HistogramLog.mergedByTag(log).get("latency_us"));
        }
        assertThat(all.getTotalCount()).isEqualTo(200);
        assertThat(merged).containsEntry("generators", "2").containsEntry("connected", "20")
                .containsEntry("sent", "200").containsEntry("latencyCount", "200").containsEntry("seconds", "1")
                .containsEntry("messageRateTarget", "200").containsEntry("aborted", "false")
                .containsEntry("latencyP99Ms", String.format(Locale.ROOT, "%.3f", LoadResult.ms(all, 99)))
                .containsEntry("latencyMaxMs", String.format(Locale.ROOT, "%.3f", LoadResult.maxMs(all)));
    }

    @Test
    void sourceAddressesStartAfterTheOffsetAndStayInLoopback() throws Exception {
        assertThat(LoadGenerator.sourceAddresses(2, 5, out)).extracting(InetAddress::getHostAddress)
                .containsExactly("127.0.0.7", "127.0.0.8");
        assertThat(LoadGenerator.sourceAddresses(1, 300, out)).extracting(InetAddress::getHostAddress)
                .containsExactly("127.0.1.46");
        assertThatThrownBy(() -> LoadOptions.parse("echo", "--source-ips", "2", "--source-ip-offset", "64999"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--source-ip-offset");
        assertThatThrownBy(() -> LoadOptions.parse("echo", "--generators", "2"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("echo-search");
    }

    /** Reads the log back with HdrHistogram's own reader: tag to count, in log order. */
    private static Map<String, Long> tagsAndCounts(Path log) throws Exception {
        Map<String, Long> counts = new LinkedHashMap<>();
        try (HistogramLogReader reader = new HistogramLogReader(log.toFile())) {
            for (int i = 0; i < 100 && reader.hasNext(); i++) {
                EncodableHistogram h = reader.nextIntervalHistogram();
                counts.merge(h.getTag(), ((Histogram) h).getTotalCount(), Long::sum);
            }
        }
        return counts;
    }

    @Test
    void broadcastDeliversEveryPublishToEverySubscriber() throws Exception {
        LoadResult r = LoadGenerator.run(LoadOptions.parse("broadcast", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "20", "--connect-rate", "500",
                "--publish-rate", "50", "--seconds", "2", "--grace-seconds", "2"), out);

        assertThat(r.aborted()).isFalse();
        assertThat(r.connected()).isEqualTo(21);
        assertThat(r.failed()).isZero();
        assertThat(r.unsent()).isZero();
        FanoutResult f = r.fanout();
        assertThat(f.subscribers()).isEqualTo(20);
        assertThat(f.healthy()).isEqualTo(20);
        assertThat(f.published()).isEqualTo(100);
        assertThat(f.expected()).isEqualTo(2000);
        assertThat(f.delivered()).isEqualTo(2000);
        assertThat(f.lost()).isZero();
        assertThat(f.duplicates()).isZero();
        assertThat(f.completed()).isEqualTo(100);
        assertThat(f.incomplete()).isZero();
        assertThat(f.completionMaxMs()).isPositive();
        assertThat(r.protocolErrors()).isZero();
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("RESULT {\"scenario\":\"broadcast\"");
    }

    @Test
    void broadcastReportsStalledSubscribersApart() throws Exception {
        LoadResult r = LoadGenerator.run(LoadOptions.parse("broadcast", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "20", "--connect-rate", "500",
                "--publish-rate", "50", "--seconds", "2", "--grace-seconds", "2", "--stalled-percent", "10"), out);

        assertThat(r.aborted()).isFalse();
        FanoutResult f = r.fanout();
        assertThat(f.stalled()).isEqualTo(2);
        assertThat(f.healthy()).isEqualTo(18);
        assertThat(f.expected()).isEqualTo(18 * f.published());
        assertThat(f.lost()).isZero();
        assertThat(f.duplicates()).isZero();
        assertThat(r.unexpectedDisconnects()).isZero();
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("\"stalledClosedByServer\":");
    }

    @Test
    void stormResumesEverySubscriberWithoutLossOrDuplicates(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("storm.hlog");
        LoadResult r = LoadGenerator.run(LoadOptions.parse("storm", "--protocol", "tether",
                "--port", Integer.toString(server.port()), "--connections", "20", "--connect-rate", "500",
                "--publish-rate", "50", "--seconds", "3", "--storm-after-seconds", "1", "--grace-seconds", "3",
                "--histogram-log", log.toString()), out);

        assertThat(r.aborted()).isFalse();
        assertThat(r.connected()).isEqualTo(21);
        FanoutResult f = r.fanout();
        assertThat(f.cut()).isEqualTo(20);
        assertThat(f.resumed()).isEqualTo(20);
        assertThat(f.resumedFalse()).isZero();
        assertThat(f.notResumed()).isZero();
        assertThat(f.resume100Ms()).isPositive();
        assertThat(f.published()).isEqualTo(150);
        assertThat(f.lost()).isZero();
        assertThat(f.duplicates()).isZero();
        assertThat(f.delivered()).isEqualTo(20 * 150);
        assertThat(f.subscribersWithLoss()).isZero();
        assertThat(f.rejoin()).startsWith("resume");
        assertThat(output.toString(StandardCharsets.UTF_8)).contains("RESULT {\"scenario\":\"storm\"");
        assertThat(tagsAndCounts(log)).containsExactly(entry("handshake_us", 21L), entry("delivery_us", 3000L),
                entry("completion_us", 150L), entry("resume_us", 20L));
    }

    @Test
    void failoverResumesTheSubscribersOfAStoppedServerOnTheOtherWithoutLossOrDuplicates(@TempDir Path dir)
            throws Exception {
        // Two hubs of one cluster, each behind its own server; the second server stops mid-run.
        InMemoryCluster cluster = new InMemoryCluster();
        Tether first = Tether.create(TetherConfig.builder().broker(cluster.node()).authorizer(ROOM_FOR_CLIENTS).build(),
                new SessionHandler() { });
        Tether second = Tether.create(TetherConfig.builder().broker(cluster.node()).authorizer(ROOM_FOR_CLIENTS).build(),
                new SessionHandler() { });
        TetherServer one = TetherServer.start(first, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        TetherServer two = TetherServer.start(second, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        ExecutorService stopper = Executors.newSingleThreadExecutor();
        try {
            Path log = dir.resolve("failover.hlog");
            Future<?> stopped = stopper.submit(() -> {
                // Mid-run: the second server's 10 subscribers connected and 30 publishes delivered to each.
                Await.until(() -> second.stats().connections() == 10 && second.stats().messagesOut() >= 300,
                        Duration.ofSeconds(10), "the second server's subscribers receiving");
                two.close();
                return null;
            });
            LoadResult r = LoadGenerator.run(LoadOptions.parse("failover", "--protocol", "tether",
                    "--targets", "127.0.0.1:" + one.port() + ",127.0.0.1:" + two.port(), "--connections", "20",
                    "--connect-rate", "500", "--publish-rate", "50", "--seconds", "3", "--grace-seconds", "3",
                    "--histogram-log", log.toString()), out);
            stopped.get(10, TimeUnit.SECONDS);

            assertThat(r.aborted()).isFalse();
            assertThat(r.connected()).isEqualTo(21);
            FanoutResult f = r.fanout();
            assertThat(f.cut()).as("the subscribers of the second server (odd run indexes)").isEqualTo(10);
            assertThat(f.resumed()).isEqualTo(10);
            assertThat(f.resumedFalse()).isZero();
            assertThat(f.notResumed()).isZero();
            assertThat(f.allResumedMs()).isPositive();
            assertThat(f.published()).isEqualTo(150);
            assertThat(f.lost()).isZero();
            assertThat(f.duplicates()).isZero();
            assertThat(f.delivered()).isEqualTo(20 * 150);
            assertThat(output.toString(StandardCharsets.UTF_8)).contains("RESULT {\"scenario\":\"failover\"")
                    .contains("\"allResumedAfterFirstLossMs\":");
            assertThat(tagsAndCounts(log)).contains(entry("resume_us", 10L));
        } finally {
            stopper.shutdownNow();
            two.close();
            one.close();
            second.close();
            first.close();
        }
    }

    @Test
    void targetsMustBeLoopbackAddressesWithPortsAndFailoverNeedsTwo() {
        assertThat(LoadOptions.parse("hold", "--targets", "127.0.0.1:8081,127.0.0.2:8082").targets())
                .extracting(t -> t.getAddress().getHostAddress() + ":" + t.getPort())
                .containsExactly("127.0.0.1:8081", "127.0.0.2:8082");
        assertThat(LoadOptions.parse("hold", "--port", "9000").targets()).hasSize(1);
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--targets", "10.0.0.1:80"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--targets");
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--targets", "127.0.0.1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--targets");
        assertThatThrownBy(() -> LoadOptions.parse("failover", "--targets", "127.0.0.1:8081"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two --targets");
    }

    @Test
    void socketIoReconnectWaitsAsSocketIoClientWithItsDefaults() {
        // backo2: 1000 ms x 2^attempts, deviation floor(rand x 0.5 x ms), sign from floor(rand x 10) & 1, cap 5000.
        assertThat(ClientLoop.socketIoBackoffMs(0, 0.0)).isEqualTo(1000);
        assertThat(ClientLoop.socketIoBackoffMs(0, 0.05)).isEqualTo(975);
        assertThat(ClientLoop.socketIoBackoffMs(0, 0.15)).isEqualTo(1075);
        assertThat(ClientLoop.socketIoBackoffMs(0, 0.85)).isEqualTo(575);
        assertThat(ClientLoop.socketIoBackoffMs(0, 0.99)).isEqualTo(1495);
        assertThat(ClientLoop.socketIoBackoffMs(1, 0.99)).isEqualTo(2990);
        assertThat(ClientLoop.socketIoBackoffMs(2, 0.05)).isEqualTo(3900);
        assertThat(ClientLoop.socketIoBackoffMs(3, 0.85)).isEqualTo(4600);
        assertThat(ClientLoop.socketIoBackoffMs(3, 0.95)).isEqualTo(5000);
        assertThat(ClientLoop.socketIoBackoffMs(60, 0.5)).isEqualTo(5000);
        for (int i = 0; i < 1000; i++) {
            assertThat(ClientLoop.socketIoBackoffMs(0, i / 1000.0)).isBetween(500L, 1500L);
            assertThat(ClientLoop.socketIoBackoffMs(1, i / 1000.0)).isBetween(1000L, 3000L);
            assertThat(ClientLoop.socketIoBackoffMs(5, i / 1000.0)).isBetween(4000L, 5000L);
        }
    }

    @Test
    void refusesAServerOutsideLoopback() {
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--host", "10.0.0.1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--host");
        assertThatThrownBy(() -> LoadOptions.parse("hold", "--host", "example.com"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--host");
    }

    @Test
    void readsTheTopLevelFieldsOfAServerFrame() {
        TetherProtocol p = new TetherProtocol(null);
        byte[] frame = "{\"t\":\"reply\",\"x\":{\"rid\":9,\"s\":\"}\\\"\"},\"rid\":7,\"d\":12345}"
                .getBytes(StandardCharsets.UTF_8);
        assertThat(p.scan(frame, 0, frame.length)).isTrue();
        assertThat(p.rid()).isEqualTo(7);
    }
}
