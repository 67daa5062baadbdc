package dev.tether.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Records what the library logs at or above a level while it is open, for tests that assert a
 * path is quiet. {@link System.Logger} is backed by {@code java.util.logging} unless an
 * application installs another {@code LoggerFinder} (the tests do not), and its loggers inherit
 * handlers by name prefix, so a handler on the logger {@code dev.tether} sees every logger of the
 * library ({@code dev.tether.core}, {@code dev.tether.undertow}, {@code dev.tether.client}).
 * Records still reach the console as before, unless captured {@link #quiet}ly: then the test
 * that provokes them asserts them and the build log stays free of their stack traces.
 *
 * <p>Threading: records arrive from any thread; {@link #records()} may be called from any thread.
 */
public final class LogCapture implements AutoCloseable {

    /** Held strongly: {@code java.util.logging} keeps loggers weakly, and the handler with them. */
    private final Logger logger;
    private final Handler handler;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final boolean quiet;
    private final boolean parentHandlersBefore;

    private LogCapture(String loggerName, Level level, boolean quiet) {
        this.logger = Logger.getLogger(loggerName);
        this.quiet = quiet;
        this.parentHandlersBefore = logger.getUseParentHandlers();
        this.handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= level.intValue()) {
                    records.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        handler.setLevel(Level.ALL);
        logger.addHandler(handler);
        if (quiet) {
            logger.setUseParentHandlers(false);
        }
    }

    /** Records what loggers named {@code loggerName} or below it log at {@code level} or above. */
    public static LogCapture start(String loggerName, Level level) {
        return new LogCapture(loggerName, level, false);
    }

    /**
     * As {@link #start}, and keeps what those loggers log off the console while open: for a test
     * that provokes a failure on purpose and asserts its record.
     */
    public static LogCapture quiet(String loggerName, Level level) {
        return new LogCapture(loggerName, level, true);
    }

    /** Every record so far. */
    public List<LogRecord> records() {
        return List.copyOf(records);
    }

    /** The records so far, one line each (logger, level, message, thrown), for an assertion's message. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        for (LogRecord r : records) {
            b.append('\n').append(r.getLoggerName()).append(' ').append(r.getLevel()).append(": ")
                    .append(r.getMessage());
            if (r.getThrown() != null) {
                b.append(" (").append(r.getThrown()).append(')');
            }
        }
        return b.toString();
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
        if (quiet) {
            logger.setUseParentHandlers(parentHandlersBefore);
        }
    }
}
