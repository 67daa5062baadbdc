package dev.tether.auth.jwt.internal;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import java.security.Key;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Where the keys that verify token signatures come from, with the algorithms it accepts pinned.
 *
 * <p>Threading: {@link #keys} is called on I/O threads and must not block. A source that has the
 * keys in memory returns a completed future; one that must fetch them completes it later, on a
 * thread of its own.
 */
public interface KeySource {

    /** The only signature algorithms this source's keys may verify. */
    Set<JWSAlgorithm> algorithms();

    /**
     * The candidate keys for a token with {@code header} (whose algorithm is one of
     * {@link #algorithms()}); an empty list if no key matches. Completes exceptionally with
     * {@link KeysUnavailableException} if the keys cannot be had now.
     */
    CompletableFuture<List<Key>> keys(JWSHeader header);

    /** Releases what the source holds (a thread, a connection); the default does nothing. */
    default void close() {
    }
}
