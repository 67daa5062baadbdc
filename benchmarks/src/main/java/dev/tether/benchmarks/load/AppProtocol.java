package dev.tether.benchmarks.load;

/**
 * The application protocol on top of WebSocket text messages. An instance belongs to one
 * {@link ClientLoop} and is called on its thread only; it answers through the loop.
 */
interface AppProtocol {

    /** The upgrade completed: send what the protocol sends first (Tether's {@code hello}). */
    void onUpgraded(ClientConnection connection);

    /** One complete text message, {@code length} bytes of {@code bytes} from {@code offset}. */
    void onText(ClientConnection connection, byte[] bytes, int offset, int length, long nowNs);

    /** Sends one echo request carrying {@code intendedNs}, its intended send time relative to the run's epoch. */
    void sendEcho(ClientConnection connection, long intendedNs);

    /** Broadcast / storm: the publisher publishes one message on topic {@code room} carrying {@code intendedNs}. */
    void sendPublish(ClientConnection connection, long intendedNs);

    /**
     * The run is over and the connection is about to be closed normally: send what ends the
     * session for good, if the WebSocket close alone does not (so that the server does not keep
     * it for a resume the generator will never make).
     */
    default void onClosing(ClientConnection connection) {
    }

    static AppProtocol of(WireProtocol protocol, ClientLoop loop) {
        return switch (protocol) {
            case TETHER -> new TetherProtocol(loop);
            case SOCKETIO -> new SocketIoProtocol(loop);
        };
    }
}
