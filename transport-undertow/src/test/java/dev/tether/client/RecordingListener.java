package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Message;
import dev.tether.core.Responder;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Records a client's events as short strings, in order, and the threads they ran on. Requests are
 * answered by {@link #onRequest}, replaceable per test.
 */
class RecordingListener implements TetherClient.Listener {

    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    final List<Message> messages = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();
    final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    volatile BiConsumer<Message, Responder> requests =
            (m, r) -> r.fail("unhandled", "no request handler for '" + m.event() + "'");
    volatile Throwable closedCause;

    private void record(String event) {
        threads.add(Thread.currentThread().getName());
        events.add(event);
    }

    /** The next event; fails the test if none comes in time. */
    String next() throws InterruptedException {
        String event = events.poll(ScriptedServer.WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(event).as("an event from the client").isNotNull();
        return event;
    }

    /** The next event that starts with {@code prefix}, skipping others. */
    String next(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ScriptedServer.WAIT_SECONDS);
        while (System.nanoTime() < deadline) {
            String event = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (event != null && event.startsWith(prefix)) {
                return event;
            }
        }
        throw new AssertionError("no event starting with '" + prefix + "'");
    }

    @Override
    public void onOpen(TetherClient client, boolean resumed) {
        record("open:" + resumed);
    }

    @Override
    public void onMessage(TetherClient client, Message message) {
        messages.add(message);
        record("msg:" + message.event() + ":" + message.payload().asText()
                + (message.topic() == null ? "" : "@" + message.topic()));
    }

    @Override
    public void onRequest(TetherClient client, Message message, Responder responder) {
        record("req:" + message.event());
        requests.accept(message, responder);
    }

    @Override
    public void onGap(TetherClient client, long fromSeq, long toSeq, String reason) {
        record("gap:" + fromSeq + ".." + toSeq + ":" + reason);
    }

    @Override
    public void onSessionLost(TetherClient client, String reason, List<Message> unacknowledged) {
        StringBuilder events = new StringBuilder();
        for (Message m : unacknowledged) {
            events.append(events.length() == 0 ? "" : ",").append(m.event());
        }
        record("lost:" + reason + ":[" + events + "]");
    }

    @Override
    public void onDisconnected(TetherClient client, int code, String reason) {
        record("disconnected:" + code);
    }

    @Override
    public void onError(TetherClient client, Throwable error) {
        errors.add(error);
        record("error:" + error.getMessage());
    }

    @Override
    public void onClosed(TetherClient client, Throwable cause) {
        closedCause = cause;
        record("closed:" + (cause == null ? "-" : cause.getClass().getSimpleName()));
    }
}
