package dev.tether.socketio.internal;

/**
 * The Socket.IO private session id ({@code pid}) of a session: its public id and its resume token,
 * so that a reconnecting client that presents it names the session and proves it holds the
 * secret. A secret: never logged.
 */
final class PrivateSessionId {

    /** Not in the URL-safe base64 alphabet the ids and tokens are made of. */
    private static final char SEPARATOR = '~';

    private PrivateSessionId() {
    }

    static String of(String sessionId, String resumeToken) {
        return sessionId + SEPARATOR + resumeToken;
    }

    /** {@code {sessionId, token}}, or {@code null} if {@code pid} is not one of ours. */
    static String[] parse(String pid) {
        int at = pid.lastIndexOf(SEPARATOR);
        if (at <= 0 || at == pid.length() - 1 || pid.length() > 200) {
            return null;
        }
        return new String[] {pid.substring(0, at), pid.substring(at + 1)};
    }
}
