package dev.tether.core.spi;

import java.lang.System.Logger.Level;

/**
 * Receives failures that have no caller to report to: a user callback that threw, a write that
 * failed on an I/O thread, a timer task that threw.
 *
 * <p>Called from any thread, including I/O threads, so an implementation must be quick and must
 * never throw; the engine catches and ignores anything it throws.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface ErrorHandler {

    /** Logs at WARNING through {@link System.Logger} under the name {@code dev.tether}. */
    ErrorHandler LOGGING = (context, error) ->
            System.getLogger("dev.tether").log(Level.WARNING, "tether: " + context, error);

    /**
     * Reports a failure.
     *
     * @param context short stable description of where it happened, e.g. {@code "handler.onMessage"}
     * @param error   the failure
     */
    void onError(String context, Throwable error);
}
