package dev.tether.auth.jwt.internal;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import java.security.Key;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** One key held in memory (a shared secret or a public key) for exactly one algorithm. */
public final class FixedKeySource implements KeySource {

    private final Set<JWSAlgorithm> algorithms;
    private final CompletableFuture<List<Key>> keys;

    public FixedKeySource(JWSAlgorithm algorithm, Key key) {
        this.algorithms = Set.of(Objects.requireNonNull(algorithm, "algorithm"));
        this.keys = CompletableFuture.completedFuture(List.of(Objects.requireNonNull(key, "key")));
    }

    @Override
    public Set<JWSAlgorithm> algorithms() {
        return algorithms;
    }

    @Override
    public CompletableFuture<List<Key>> keys(JWSHeader header) {
        // A shared, already completed future: dependents run on the caller, and none can complete it.
        return keys.copy();
    }
}
