package dev.tether.undertow.internal;

import dev.tether.core.CloseCodes;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.socketio.SocketIo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The listener of a WebSocket that upgrades a long-polling Engine.IO session: answers the probe
 * ({@code 2probe} with {@code 3probe}; the pending GET then gets a noop), and on the
 * client's {@code 5} moves the session onto this WebSocket through a {@link HopConnection}. From
 * then on it forwards every event to the session's thread. Anything else before the upgrade
 * closes this WebSocket (the session carries on over polling).
 *
 * <p>Threading: called on the WebSocket's I/O thread, like every {@link ConnectionListener}.
 */
public final class UpgradeProbe implements ConnectionListener {

    private static final int PROBING = 0;
    private static final int UPGRADED = 1;
    private static final int REFUSED = 2;

    private final SocketIo io;
    private final PollingTransport polling;
    private final UndertowConnection webSocket;
    private final HopConnection hop;
    private int state = PROBING;

    public UpgradeProbe(SocketIo io, PollingTransport polling, UndertowConnection webSocket, int highWaterBytes) {
        this.io = io;
        this.polling = polling;
        this.webSocket = webSocket;
        this.hop = new HopConnection(polling, webSocket, highWaterBytes);
    }

    @Override
    public void onFrame(ByteBuffer data, boolean binary) {
        if (state == UPGRADED) {
            byte[] copy = new byte[data.remaining()];
            data.get(copy);
            hop.onFrame(copy, binary);
            return;
        }
        if (state == REFUSED) {
            return;
        }
        String text = binary ? "" : StandardCharsets.UTF_8.decode(data).toString();
        if (text.equals("2probe")) {
            webSocket.write(Frame.text(ByteBuffer.wrap("3probe".getBytes(StandardCharsets.US_ASCII))));
            webSocket.flush();
            polling.execute(polling::probed);
        } else if (text.equals("5")) {
            state = UPGRADED;
            polling.upgradeRequested(); // before the hop: a poll that comes after this one is refused
            polling.execute(this::switchOver);
        } else {
            state = REFUSED;
            webSocket.close(CloseCodes.BAD_REQUEST, "expected the upgrade probe");
        }
    }

    /** On the session's thread: the session moves to the WebSocket. */
    private void switchOver() {
        hop.engine(polling.listener());
        if (!polling.isOpen()) {
            webSocket.close(CloseCodes.BAD_REQUEST, "session gone");
            return;
        }
        polling.retireInto(hop);
        io.upgrade(polling.listener(), hop);
    }

    @Override
    public void onWritable() {
        if (state == UPGRADED) {
            hop.onWritable();
        }
    }

    @Override
    public void onClosed(int code, String reason) {
        if (state == UPGRADED) {
            hop.onClosed(code, reason);
            polling.forget();
        } else {
            polling.releaseUpgrade(); // another WebSocket may try
        }
    }
}
