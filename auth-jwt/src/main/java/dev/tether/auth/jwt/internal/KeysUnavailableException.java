package dev.tether.auth.jwt.internal;

/** The verification keys could not be had now (the key set is out of reach); a handshake gets 503. */
public final class KeysUnavailableException extends RuntimeException {

    public KeysUnavailableException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
