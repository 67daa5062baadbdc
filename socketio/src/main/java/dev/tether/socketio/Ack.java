package dev.tether.socketio;

/**
 * The client's acknowledgement callback of one event. Only the first {@link #send} counts. Any
 * thread.
 *
 * @since 0.1.0
 */
public interface Ack {

    /** The callback of an event that asked for none. */
    Ack NONE = new Ack() {
        @Override
        public void send(Object... args) {
        }

        @Override
        public boolean requested() {
            return false;
        }
    };

    /**
     * Calls the client's callback with these arguments (see {@link Socket#emit} for types).
     *
     * @param args the arguments of the client's callback
     */
    void send(Object... args);

    /** {@return whether the client passed a callback} */
    boolean requested();
}
