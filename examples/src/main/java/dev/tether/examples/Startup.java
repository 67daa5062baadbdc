package dev.tether.examples;

import java.io.UncheckedIOException;
import java.util.function.Supplier;

/** How the examples start their server from {@code main}. */
public final class Startup {

    private Startup() {
    }

    /**
     * Starts a server, or, if it cannot listen (a busy port: {@code TetherServer.start} throws an
     * {@link UncheckedIOException} naming the address and the reason), prints that one line to
     * standard error and exits with status 1: an operator's mistake deserves no stack trace.
     */
    public static <T> T orExit(Supplier<T> start) {
        try {
            return start.get();
        } catch (UncheckedIOException e) {
            System.err.println(e.getMessage());
            System.exit(1);
            throw e; // not reached
        }
    }
}
