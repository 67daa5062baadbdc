package dev.tether.client.internal;

/** A frame from the server that breaks PROTOCOL.md: the client drops the connection and resumes. */
final class FrameException extends Exception {

    private static final long serialVersionUID = 1L;

    FrameException(String message) {
        super(message, null, false, false);
    }
}
