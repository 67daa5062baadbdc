package dev.tether.core.spi.engine;

import dev.tether.core.spi.AuthResult;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * Reads an authenticator's answer the same way wherever one is awaited: the handshake, a
 * Socket.IO namespace's middleware, a token refresh inside a session. A stage that failed, was
 * cancelled or completed with {@code null} is a failure, handed to the caller's {@code onFailure}
 * (which reports it and says what refusal it becomes).
 *
 * @since 0.1.0
 */
public final class AuthAnswers {

    private AuthAnswers() {
    }

    /**
     * The answer of a stage that is done.
     *
     * @param done      a completed stage
     * @param who       names the authenticator in the failure of a missing result
     * @param onFailure what a failure becomes
     * @return the stage's result, or what {@code onFailure} makes of its failure
     */
    public static AuthResult settled(CompletableFuture<AuthResult> done, String who,
                                     Function<Throwable, ? extends AuthResult> onFailure) {
        try {
            return outcome(done.getNow(null), null, who, onFailure);
        } catch (CompletionException e) {
            return outcome(null, e.getCause(), who, onFailure);
        } catch (CancellationException e) {
            return outcome(null, e, who, onFailure);
        }
    }

    /**
     * {@code result}, or what {@code onFailure} makes of {@code failure} (unwrapped from a
     * {@link CompletionException}) or of a missing result.
     *
     * @param result    the result, or null
     * @param failure   the failure, or null
     * @param who       names the authenticator in the failure of a missing result
     * @param onFailure what a failure becomes
     * @return {@code result} or what {@code onFailure} returns
     */
    public static AuthResult outcome(AuthResult result, Throwable failure, String who,
                                     Function<Throwable, ? extends AuthResult> onFailure) {
        if (failure != null) {
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            return onFailure.apply(cause);
        }
        return result != null ? result : onFailure.apply(new IllegalStateException(who + " completed with null"));
    }
}
