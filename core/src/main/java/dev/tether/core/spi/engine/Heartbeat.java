package dev.tether.core.spi.engine;

import dev.tether.core.spi.TransportConnection;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The server-driven heartbeat of one connection, for every wire protocol: a ping every interval,
 * and the owner is told when nothing was heard within the timeout after one.
 *
 * <p>Cheap when idle, because idle wake-ups are most of an idle server's CPU: with an interval of
 * {@value #GRID_MIN_INTERVAL_MS} ms or more, pings are aligned on a grid shared by all connections
 * (see {@link #alignUp}), so the pings due in one grid step reach each I/O thread in one wake-up;
 * and the pong deadline is checked on the timer thread, so a connection that answered schedules
 * its next ping without waking its I/O thread. Only a silent connection hops to its I/O thread to
 * be failed there.
 *
 * <p>Precise at small intervals: below {@value #GRID_MIN_INTERVAL_MS} ms there is no grid, and the
 * pong deadline counts from when the ping was due, not from when the timer's tick got to it, so
 * a client that stays silent is failed within one timer tick of interval + timeout; and
 * {@link #overdue} lets a protocol whose client can look without sending anything (a long-polling
 * request) fail it at the exact deadline.
 *
 * <p>Small: one exists per connection, and what the heartbeats of a hub have in common (the timer,
 * the interval and the timeout) is a {@link Schedule} they share.
 *
 * <p>Threading: {@link #heard} on the connection's I/O thread (release; read with acquire by the
 * timer thread); {@link Owner} callbacks on the I/O thread; {@link #cancel} from any thread. A
 * cancel racing with the timer thread scheduling the next ping may miss it: that ping then
 * finds its owner closing and does nothing.
 *
 * @since 0.1.0
 */
public final class Heartbeat implements Runnable {

    /**
     * What the heartbeat needs from its connection. I/O thread.
     *
     * @since 0.1.0
     */
    public interface Owner {
        /**
         * Writes and flushes a ping.
         *
         * @return false when closing: no ping, the heartbeat stops
         */
        boolean sendPing();

        /** Nothing was heard within the timeout after a ping. */
        void timedOut();
    }

    /**
     * What the heartbeats of one hub share: its timer, and when to ping and how long to wait for
     * an answer. Immutable.
     *
     * @since 0.1.0
     */
    public static final class Schedule {
        private final Scheduler timer;
        private final long timeoutNanos;
        /** From a pong deadline to the next ping. */
        private final long restNanos;
        /** A twentieth of the interval, at most {@value #MAX_GRID_MS} ms; 0 (none) for short intervals. */
        private final long gridNanos;

        /**
         * A schedule.
         *
         * @param timer    the hub's timer ({@link Engine#timer()})
         * @param interval from one ping to the next
         * @param timeout  how long after a ping an answer must arrive
         */
        public Schedule(Scheduler timer, Duration interval, Duration timeout) {
            this.timer = Objects.requireNonNull(timer, "timer");
            this.timeoutNanos = timeout.toNanos();
            this.restNanos = Math.max(interval.minus(timeout).toNanos(), 1);
            this.gridNanos = interval.toMillis() < GRID_MIN_INTERVAL_MS ? 0
                    : Math.min(TimeUnit.MILLISECONDS.toNanos(MAX_GRID_MS), interval.toNanos() / 20);
        }
    }

    /** The coarsest grid that pings are aligned on. */
    private static final long MAX_GRID_MS = 250;
    /** The shortest interval whose pings are aligned on a grid. */
    private static final long GRID_MIN_INTERVAL_MS = 5_000;
    /**
     * How late a ping may be sent (timer tick, a busy I/O thread) and still have its deadline count
     * from when it was due; a later ping's client gets the whole timeout minus this.
     */
    private static final long LATENESS_ALLOWANCE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final long GRID_ORIGIN = System.nanoTime();
    private static final VarHandle LAST_HEARD;

    static {
        try {
            LAST_HEARD = MethodHandles.lookup().findVarHandle(Heartbeat.class, "lastHeardNanos", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Schedule schedule;
    private final TransportConnection connection;
    private final Owner owner;
    private long lastHeardNanos;
    /** When the next ping is due; written before its task is handed to the timer, which publishes it. */
    private long pingDueNanos;
    /** Written on the I/O thread before the pong deadline is scheduled; the timer's hand-off publishes it. */
    private long pingSentNanos;
    /** When the last ping must have been answered. I/O thread. */
    private long pongDeadlineNanos;
    /** A ping was sent. I/O thread. */
    private boolean pinged;
    /**
     * What the pending timeout is for: false, the next ping; true, the last ping's answer.
     * Written before the timeout is handed to the timer, which publishes it.
     */
    private boolean awaitingPong;
    private volatile Scheduler.Timeout pending;

    /**
     * A heartbeat, not started yet.
     *
     * @param schedule   the hub's ({@link Engine#heartbeatSchedule()})
     * @param connection the connection, whose I/O thread runs the owner's callbacks
     * @param owner      the connection's side
     */
    public Heartbeat(Schedule schedule, TransportConnection connection, Owner owner) {
        this.schedule = Objects.requireNonNull(schedule, "schedule");
        this.connection = connection;
        this.owner = owner;
        this.lastHeardNanos = System.nanoTime();
    }

    /**
     * Schedules the first ping about {@code delayNanos} from now.
     *
     * @param delayNanos the delay before the first ping
     */
    public void start(long delayNanos) {
        schedulePing(delayNanos);
    }

    /**
     * Something that counts as an answer arrived. I/O thread.
     *
     * @param nanos when, by {@link System#nanoTime()}
     */
    public void heard(long nanos) {
        LAST_HEARD.setRelease(this, nanos);
    }

    /**
     * Whether the last ping went unanswered past its deadline, even if the timer has not got to
     * it yet: the caller fails the connection then, as {@link Owner#timedOut} would. The deadline
     * here counts from when the ping was due, however late the timer sent it (the timer's own
     * deadline forgives the server's lateness beyond a small allowance): a client that looks after
     * pingInterval + pingTimeout without having answered finds its session gone. I/O thread.
     *
     * @param nowNanos now, by {@link System#nanoTime()}
     * @return true if a ping is unanswered and its deadline has passed
     */
    public boolean overdue(long nowNanos) {
        // The answer counted from when the ping was due, without the timer's lateness, is the
        // deadline a client that looks is held to. pingDueNanos is still the last ping's: the
        // next one is only scheduled once this one was answered.
        long answerDueNanos = pingDueNanos + schedule.timeoutNanos;
        return pinged && !heardSincePing() && nowNanos - Math.min(pongDeadlineNanos, answerDueNanos) >= 0;
    }

    /** Stops the heartbeat. */
    public void cancel() {
        Scheduler.Timeout t = pending;
        if (t != null) {
            t.cancel();
        }
    }

    private void schedulePing(long delayNanos) {
        long now = System.nanoTime();
        long grid = schedule.gridNanos;
        long delay = grid <= 0 ? delayNanos : alignUp(now - GRID_ORIGIN, delayNanos, grid);
        pingDueNanos = now + delay;
        // A hub that closed has closed its timer: its connections are going away, no more pings.
        awaitingPong = false;
        pending = schedule.timer.scheduleIfOpen(this, delay, TimeUnit.NANOSECONDS);
    }

    private void ping() {
        if (owner.sendPing()) {
            long sent = System.nanoTime();
            pingSentNanos = sent;
            long timeout = schedule.timeoutNanos;
            pongDeadlineNanos = sent + timeout - Math.min(Math.max(sent - pingDueNanos, 0), LATENESS_ALLOWANCE_NANOS);
            pinged = true;
            awaitingPong = true;
            pending = schedule.timer.scheduleIfOpen(this, pongDeadlineNanos - sent, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * The timer's callback: a ping is due (it is sent on the I/O thread), or a pong deadline
     * passed. Only the timer calls it; the heartbeat is its own timer task, so that a connection
     * does not carry one besides.
     */
    @Override
    public void run() {
        if (awaitingPong) {
            pongDeadline();
        } else {
            connection.execute(this::ping);
        }
    }

    /** Timer thread. */
    private void pongDeadline() {
        if (heardSincePing()) {
            schedulePing(schedule.restNanos);
        } else {
            connection.execute(this::checkPong);
        }
    }

    /** I/O thread: the final word, after anything still queued on it was read. */
    private void checkPong() {
        if (heardSincePing()) {
            schedulePing(schedule.restNanos);
        } else {
            owner.timedOut();
        }
    }

    private boolean heardSincePing() {
        return (long) LAST_HEARD.getAcquire(this) - pingSentNanos >= 0;
    }

    /**
     * The delay, at least {@code delayNanos} and less than {@code delayNanos + grid}, that ends
     * on a multiple of {@code grid} counted from the origin; {@code sinceOrigin} is now.
     */
    static long alignUp(long sinceOrigin, long delayNanos, long grid) {
        return (sinceOrigin + delayNanos + grid - 1) / grid * grid - sinceOrigin;
    }
}
