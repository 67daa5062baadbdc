package dev.tether.benchmarks.load;

import java.util.Locale;

/**
 * What a {@code broadcast} or {@code storm} run measured, beyond the connection figures of
 * {@link LoadResult}. Latencies in milliseconds, from each publish's intended time.
 *
 * @param subscribers          subscribers subscribed when publishing started
 * @param healthy              of them, those that kept reading (latency, loss and completion are theirs)
 * @param stalled              subscribers that stopped reading ({@code --stalled-percent})
 * @param published            publishes sent; {@code unsent} is in {@link LoadResult#unsent()}
 * @param expected             healthy subscribers x published
 * @param delivered            deliveries to healthy subscribers, in order, without duplicates
 * @param deliveriesPerSecond  delivered / (first intended publish to the last delivery)
 * @param lost                 expected - delivered after the grace period
 * @param gapLost              of the lost, reported by gap frames (Tether)
 * @param seqHoles             of the lost, skipped by a jump in the numbers (Tether: the server's seq;
 *                             Socket.IO: the publish number its intended time gives)
 * @param duplicates           messages with a number not above the last delivered
 * @param completed            publishes every healthy subscriber received; completion = intended
 *                             publish time to the last subscriber's receipt
 * @param incomplete           publishes some healthy subscriber did not receive
 * @param stalledDelivered     messages the stalled subscribers read, after they resumed reading
 * @param stalledClosed        stalled subscribers the server closed (close frame or TCP close)
 * @param stalledCloseCodes    "code x count" list (0: closed without a close frame)
 * @param cut                  storm: subscribers cut; failover: subscribers that lost their server
 * @param resumed              storm: back and receiving after the cut: Tether, welcomes with
 *                             resumed:true; Socket.IO, reconnects that got their {@code 40} (a
 *                             fresh session in the room: see {@code rejoin})
 * @param resumedFalse         storm: welcomes with resumed:false (fresh session)
 * @param notResumed           storm: cut subscribers still reconnecting at the end
 * @param reconnectAttempts    storm: connects after the cut (first tries and retries)
 * @param reconnectFailures    storm: of them, those that failed before a welcome
 * @param reconnectFailureReasons storm: why they failed, "reason xN; ..." most frequent first ("none")
 * @param retryAfterHonoured   storm: 503 refusals whose Retry-After set the wait
 * @param resume50Ms           storm: from the cut until 50 % of the cut subscribers resumed (-1: never);
 *                             failover: of the resume times, each from its own subscriber's loss
 * @param allResumedMs         failover: from the first subscriber's loss to the last resume (-1: not all
 *                             resumed, or none lost)
 * @param subscribersWithLoss  storm: healthy subscribers that received fewer than {@code published}
 * @param lostMaxPerSubscriber storm: the most messages one subscriber did not receive
 * @param rejoin               storm: what coming back means for this protocol
 * @param resumes              storm or failover: the resume figures apply
 * @param failover             failover: {@code cut} are losses of a server, not cuts
 */
record FanoutResult(int subscribers, long healthy, long stalled, int publishRateTarget, long published,
                    double publishRateAchieved, long expected, long delivered, double deliveriesPerSecond,
                    long lost, long gapLost, long seqHoles, long duplicates,
                    double latencyP50Ms, double latencyP90Ms, double latencyP99Ms, double latencyP999Ms,
                    double latencyMaxMs,
                    long completed, long incomplete, double completionP50Ms, double completionP99Ms,
                    double completionMaxMs,
                    long stalledDelivered, long stalledClosed, String stalledCloseCodes,
                    long cut, long resumed, long resumedFalse, long notResumed, long reconnectAttempts,
                    long reconnectFailures, String reconnectFailureReasons, long retryAfterHonoured,
                    double resume50Ms, double resume99Ms, double resume100Ms, double allResumedMs,
                    long subscribersWithLoss, long lostMaxPerSubscriber, String rejoin, boolean resumes,
                    boolean failover) {

    void json(StringBuilder b) {
        LoadResult.field(b, "subscribers", subscribers);
        LoadResult.field(b, "healthySubscribers", healthy);
        LoadResult.field(b, "stalledSubscribers", stalled);
        LoadResult.field(b, "publishRateTarget", publishRateTarget);
        LoadResult.field(b, "published", published);
        LoadResult.field(b, "publishRateAchieved", publishRateAchieved);
        LoadResult.field(b, "expectedDeliveries", expected);
        LoadResult.field(b, "delivered", delivered);
        LoadResult.field(b, "deliveriesPerSecond", deliveriesPerSecond);
        LoadResult.field(b, "lost", lost);
        LoadResult.field(b, "gapLost", gapLost);
        LoadResult.field(b, "seqHoles", seqHoles);
        LoadResult.field(b, "duplicates", duplicates);
        LoadResult.field(b, "latencyP50Ms", latencyP50Ms);
        LoadResult.field(b, "latencyP90Ms", latencyP90Ms);
        LoadResult.field(b, "latencyP99Ms", latencyP99Ms);
        LoadResult.field(b, "latencyP999Ms", latencyP999Ms);
        LoadResult.field(b, "latencyMaxMs", latencyMaxMs);
        LoadResult.field(b, "broadcastsCompleted", completed);
        LoadResult.field(b, "broadcastsIncomplete", incomplete);
        LoadResult.field(b, "completionP50Ms", completionP50Ms);
        LoadResult.field(b, "completionP99Ms", completionP99Ms);
        LoadResult.field(b, "completionMaxMs", completionMaxMs);
        if (stalled > 0) {
            LoadResult.field(b, "stalledDelivered", stalledDelivered);
            LoadResult.field(b, "stalledClosedByServer", stalledClosed);
            LoadResult.field(b, "stalledCloseCodes", stalledCloseCodes);
        }
        if (resumes) {
            LoadResult.field(b, "cut", cut);
            LoadResult.field(b, "resumed", resumed);
            LoadResult.field(b, "resumedFalse", resumedFalse);
            LoadResult.field(b, "notResumed", notResumed);
            LoadResult.field(b, "reconnectAttempts", reconnectAttempts);
            LoadResult.field(b, "reconnectFailures", reconnectFailures);
            LoadResult.field(b, "reconnectFailureReasons", reconnectFailureReasons);
            LoadResult.field(b, "retryAfterHonoured", retryAfterHonoured);
            LoadResult.field(b, "resume50Ms", resume50Ms);
            LoadResult.field(b, "resume99Ms", resume99Ms);
            LoadResult.field(b, "resume100Ms", resume100Ms);
            if (failover) {
                LoadResult.field(b, "allResumedAfterFirstLossMs", allResumedMs);
            }
            LoadResult.field(b, "subscribersWithLoss", subscribersWithLoss);
            LoadResult.field(b, "lostMaxPerSubscriber", lostMaxPerSubscriber);
            LoadResult.field(b, "rejoin", rejoin);
        }
    }

    void table(StringBuilder b) {
        LoadResult.row(b, "subscribers healthy / stalled", healthy + " / " + stalled);
        LoadResult.row(b, "publish rate target / achieved", publishRateTarget + " / " + fmt(publishRateAchieved) + " per s");
        LoadResult.row(b, "published / expected deliveries", published + " / " + expected);
        LoadResult.row(b, "delivered / lost / duplicated", delivered + " / " + lost + " / " + duplicates);
        LoadResult.row(b, "lost in gaps / in seq holes", gapLost + " / " + seqHoles);
        LoadResult.row(b, "deliveries per second", fmt(deliveriesPerSecond));
        LoadResult.row(b, "delivery p50 / p90 / p99", fmt(latencyP50Ms) + " / " + fmt(latencyP90Ms) + " / "
                + fmt(latencyP99Ms) + " ms");
        LoadResult.row(b, "delivery p99.9 / max", fmt(latencyP999Ms) + " / " + fmt(latencyMaxMs) + " ms");
        LoadResult.row(b, "broadcasts complete / incomplete", completed + " / " + incomplete);
        LoadResult.row(b, "completion p50 / p99 / max", fmt(completionP50Ms) + " / " + fmt(completionP99Ms) + " / "
                + fmt(completionMaxMs) + " ms");
        if (stalled > 0) {
            LoadResult.row(b, "stalled: read after drain", Long.toString(stalledDelivered));
            LoadResult.row(b, "stalled: closed by server", stalledClosed + " (" + stalledCloseCodes + ")");
        }
        if (resumes) {
            LoadResult.row(b, (failover ? "lost server" : "cut") + " / resumed / resumed:false",
                    cut + " / " + resumed + " / " + resumedFalse);
            LoadResult.row(b, "not resumed at end", Long.toString(notResumed));
            LoadResult.row(b, "reconnects / failed / retry-after", reconnectAttempts + " / " + reconnectFailures
                    + " / " + retryAfterHonoured);
            if (reconnectFailures > 0) {
                LoadResult.row(b, "reconnects failed because", reconnectFailureReasons);
            }
            LoadResult.row(b, "resumed 50 % / 99 % / 100 %", fmt(resume50Ms) + " / " + fmt(resume99Ms) + " / "
                    + fmt(resume100Ms) + " ms");
            if (failover) {
                LoadResult.row(b, "first loss to last resume", fmt(allResumedMs) + " ms");
            }
            LoadResult.row(b, "subscribers with loss / most lost", subscribersWithLoss + " / " + lostMaxPerSubscriber);
            LoadResult.row(b, "rejoin", rejoin);
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
