package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.spi.ErrorHandler;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The default error handler logs each context under its component's logger, with its code. */
class ServerLogTest {

    /** Held strongly: java.util.logging keeps loggers weakly, and the handler with them. */
    private final Logger tether = Logger.getLogger("dev.tether");
    private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private boolean parentHandlersBefore;

    @BeforeEach
    void capture() {
        tether.addHandler(capture);
        parentHandlersBefore = tether.getUseParentHandlers();
        tether.setUseParentHandlers(false); // these failures are provoked: keep them off the console
    }

    @AfterEach
    void release() {
        tether.removeHandler(capture);
        tether.setUseParentHandlers(parentHandlersBefore);
    }

    private LogRecord reported(String context) {
        logged.clear();
        ErrorHandler.LOGGING.onError(context, new IllegalStateException("test: provoked"));
        assertThat(logged).hasSize(1);
        return logged.get(0);
    }

    @Test
    void eachContextIsLoggedAtWarningUnderItsComponentWithItsCodeAndTheStackTrace() {
        LogRecord handler = reported("handler.onMessage");
        assertThat(handler.getLoggerName()).isEqualTo("dev.tether.core");
        assertThat(handler.getLevel()).isEqualTo(Level.WARNING);
        assertThat(handler.getMessage()).isEqualTo("TS001 handler.onMessage: a SessionHandler callback threw");
        assertThat(handler.getThrown()).hasMessage("test: provoked");

        assertThat(reported("broker: publish failed").getLoggerName()).isEqualTo("dev.tether.core.cluster");
        assertThat(reported("socketio.middleware").getMessage()).startsWith("TS021 socketio.middleware: ");
        assertThat(reported("socketio.middleware").getLoggerName()).isEqualTo("dev.tether.socketio");
        assertThat(reported("socketio.connection").getMessage()).startsWith("TS020 ");
        assertThat(reported("transport.upgrade").getLoggerName()).isEqualTo("dev.tether.undertow");
        assertThat(reported("transport.onFrame").getMessage()).startsWith("TS031 transport.onFrame: ");
        assertThat(reported("something new").getMessage()).startsWith("TS000 something new: ");
    }

    @Test
    void everyDocumentedContextHasItsOwnCode() {
        assertThat(ServerLog.kind("handler").code()).isEqualTo("TS001");
        assertThat(ServerLog.kind("presence.onGap").code()).isEqualTo("TS002");
        assertThat(ServerLog.kind("authenticate").code()).isEqualTo("TS003");
        assertThat(ServerLog.kind("protocol.decode").code()).isEqualTo("TS004");
        assertThat(ServerLog.kind("timer.task").code()).isEqualTo("TS005");
        assertThat(ServerLog.kind("executor.rejected").code()).isEqualTo("TS006");
        assertThat(ServerLog.kind("broker").code()).isEqualTo("TS007");
        assertThat(ServerLog.kind("socketio.decode").code()).isEqualTo("TS022");
        assertThat(ServerLog.kind("transport.upgrade").code()).isEqualTo("TS030");
        assertThat(ServerLog.kind(null).code()).isEqualTo("TS000");
    }
}
