package dev.tether.benchmarks.load;

import java.util.Locale;

/** The application protocol spoken over each WebSocket. */
enum WireProtocol {
    /** Tether's native protocol, {@code tether-json/1} (PROTOCOL.md). */
    TETHER("/tether"),
    /** Socket.IO v4: Engine.IO v4 over WebSocket, default namespace. */
    SOCKETIO("/socket.io/?EIO=4&transport=websocket");

    private final String defaultPath;

    WireProtocol(String defaultPath) {
        this.defaultPath = defaultPath;
    }

    /** The request target of the upgrade request when {@code --path} is not given. */
    String defaultPath() {
        return defaultPath;
    }

    static WireProtocol parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown protocol '" + name + "' (tether, socketio)", e);
        }
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
