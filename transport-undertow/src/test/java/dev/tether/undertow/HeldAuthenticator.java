package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.HandshakeRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * An authenticator (or Socket.IO middleware) whose every answer the test gives. A call reaches
 * the test through {@link #next()} once the server waits for it, that is once the server has
 * registered its continuation on the stage: completing it then exercises the server's
 * asynchronous path, never the one for an answer that is there at once.
 */
final class HeldAuthenticator implements Authenticator {

    private static final Duration WAIT = Duration.ofSeconds(20);

    /** One call: what the request carried, and the answer the test owes. */
    record Call(String token, HandshakeRequest request, Answer answer) {

        /** Completes the answer from a thread that is neither the test's nor the server's. */
        void answerElsewhere(AuthResult result) throws Exception {
            CompletableFuture.runAsync(() -> answer.complete(result)).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The stage of one call. It keeps the continuations the server registers where a
     * reachability walk finds them (a {@link CompletableFuture}'s own are out of its reach).
     */
    static final class Answer extends CompletableFuture<AuthResult> {
        private final List<Object> continuations = new CopyOnWriteArrayList<>();
        private volatile Runnable onAwaited = () -> { };

        @Override
        public CompletableFuture<AuthResult> whenComplete(BiConsumer<? super AuthResult, ? super Throwable> action) {
            continuations.add(action);
            CompletableFuture<AuthResult> next = super.whenComplete(action);
            Runnable awaited = onAwaited;
            onAwaited = () -> { }; // it holds the call, token included: not for a walk from here
            awaited.run();
            return next;
        }
    }

    private final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();

    @Override
    public CompletionStage<AuthResult> authenticate(HandshakeRequest request) {
        Answer answer = new Answer();
        Call call = new Call(request.bearerToken().orElse(""), request, answer);
        answer.onAwaited = () -> calls.add(call);
        return answer;
    }

    /** The next call the server waits for. */
    Call next() throws InterruptedException {
        Call call = calls.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(call).as("the server waits for an answer").isNotNull();
        return call;
    }

    /** Whether no call is waiting for the test. */
    boolean isEmpty() {
        return calls.isEmpty();
    }
}
