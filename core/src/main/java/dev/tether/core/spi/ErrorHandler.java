package dev.tether.core.spi;

import dev.tether.core.internal.ServerLog;

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

    /**
     * The default: logs at WARNING through {@link System.Logger}, with the stack trace, under the
     * logger of the component the context names ({@code dev.tether.core}, {@code .core.cluster},
     * {@code dev.tether.socketio}, {@code dev.tether.undertow}) and a message that starts with the
     * code of that kind of failure, for example {@code "TS001 handler.onMessage: a SessionHandler
     * callback threw"}. The codes are listed in docs/LOGGING.md.
     */
    ErrorHandler LOGGING = ServerLog::report;

    /**
     * Reports a failure.
     *
     * @param context short stable description of where it happened, e.g. {@code "handler.onMessage"}
     * @param error   the failure
     */
    void onError(String context, Throwable error);
}
