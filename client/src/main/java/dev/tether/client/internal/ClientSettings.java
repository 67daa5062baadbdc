package dev.tether.client.internal;

import dev.tether.client.TetherClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The validated settings of one client, as {@link TetherClient.Builder#build()} hands them over.
 *
 * @param uri              the server's WebSocket address
 * @param headers          upgrade headers as {@code [name, value]} pairs
 * @param tokens           the bearer tokens for {@code Authorization}, asked on every connect
 *                         and refresh request; {@code null} for none
 * @param listener         the application's listener
 * @param backoffBaseMs    reconnect backoff base
 * @param backoffCapMs     reconnect backoff cap
 * @param ackEvery         acknowledge after this many server messages at the latest
 * @param ackDelayMs       acknowledge this long after the first unacknowledged one at the latest
 * @param maxUnacked       bound on reliable messages not yet acknowledged by the server
 * @param connectTimeoutMs bound on the upgrade, and on the wait for the welcome
 * @param httpClient       the JDK client to use, or {@code null} for the shared default
 * @param callbackExecutor where callbacks run, or {@code null} for the shared default pool
 */
public record ClientSettings(
        URI uri,
        List<String[]> headers,
        Supplier<? extends CompletionStage<String>> tokens,
        TetherClient.Listener listener,
        long backoffBaseMs,
        long backoffCapMs,
        int ackEvery,
        long ackDelayMs,
        int maxUnacked,
        long connectTimeoutMs,
        HttpClient httpClient,
        Executor callbackExecutor) {

    /** Copies the header list so that the builder can go on being used. */
    public ClientSettings {
        headers = List.copyOf(headers);
    }
}
