package dev.tether.auth.jwt.internal;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.CachingJWKSetSource;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.OutageTolerantJWKSetSource;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.jwk.source.RateLimitedJWKSetSource;
import com.nimbusds.jose.jwk.source.URLBasedJWKSetSource;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import java.io.IOException;
import java.net.URL;
import java.security.Key;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Keys from a JWKS URL, for RS256 and ES256.
 *
 * <p>The fetching, caching, rate limiting and outage tolerance are Nimbus's: the same
 * {@code JWKSetSource} chain that {@code JWKSourceBuilder} composes (URL, outage-tolerant cache,
 * rate limiter, cache), built here directly because the builder hides it behind a blocking
 * {@code JWKSource}, and a handshake must know whether the keys are in memory without blocking.
 * This class adds two things on top:
 * <ul>
 *   <li>a snapshot of the set Nimbus last answered with, valid for the cache's time to live, from
 *       which a token whose key is known is verified at once on the calling I/O thread;</li>
 *   <li>a single flight: when the snapshot is missing, expired or lacks a token's key, one task
 *       on the executor asks Nimbus for the set (Nimbus decides whether that means a download:
 *       a cache expiry or an unknown {@code kid} refetches, at most as often as its rate limit
 *       allows); every handshake that needs keys meanwhile waits for that same task.</li>
 * </ul>
 *
 * <p>Threading: {@link #keys} never blocks; downloads run on the executor.
 */
public final class JwksKeySource implements KeySource {

    private static final System.Logger LOG = System.getLogger("dev.tether.auth.jwt");
    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);

    private final URL url;
    private final JWKSetSource<SecurityContext> source;
    private final Executor executor;
    private final Clock clock;
    private final long ttlMs;
    private final AtomicReference<CompletableFuture<Snapshot>> flight = new AtomicReference<>();
    private volatile Snapshot snapshot;

    /**
     * @param url              the key set, {@code https} (or {@code http} on loopback)
     * @param ttl              how long a fetched set is used before it is fetched again
     * @param refetchInterval  the least time between two downloads (an unknown {@code kid}
     *                         refetches no more often than this allows); less than {@code ttl}
     * @param outageTolerance  how long a set is still used while the URL cannot be reached
     * @param timeout          connect and read timeout of one download
     * @param maxBytes         the largest key set document accepted
     * @param executor         where downloads run
     * @param clock            the time for cache expiry and rate limiting
     */
    public JwksKeySource(URL url, Duration ttl, Duration refetchInterval, Duration outageTolerance,
                         Duration timeout, int maxBytes, Executor executor, Clock clock) {
        this.url = url;
        this.executor = executor;
        this.clock = clock;
        this.ttlMs = ttl.toMillis();
        int timeoutMs = Math.toIntExact(timeout.toMillis());
        JWKSetSource<SecurityContext> chain = new URLBasedJWKSetSource<>(url,
                new DefaultResourceRetriever(timeoutMs, timeoutMs, maxBytes));
        chain = new OutageTolerantJWKSetSource<>(chain, outageTolerance.toMillis(), null);
        chain = new RateLimitedJWKSetSource<>(chain, refetchInterval.toMillis(), null);
        // Only our single flight waits on Nimbus's refresh lock; the timeout bounds it anyway.
        this.source = new CachingJWKSetSource<>(chain, ttlMs, 2L * timeoutMs + 1_000, null);
    }

    @Override
    public Set<JWSAlgorithm> algorithms() {
        return ALGORITHMS;
    }

    @Override
    public CompletableFuture<List<Key>> keys(JWSHeader header) {
        Snapshot s = snapshot;
        if (s != null && s.isFresh(clock.millis())) {
            List<Key> keys = s.select(header);
            if (!keys.isEmpty()) {
                return CompletableFuture.completedFuture(keys);
            }
        }
        return load().thenApply(fresh -> fresh.select(header));
    }

    @Override
    public void close() {
        // A download dropped or interrupted by the executor's shutdown must not leave handshakes waiting.
        CompletableFuture<Snapshot> pending = flight.getAndSet(null);
        if (pending != null) {
            pending.completeExceptionally(new KeysUnavailableException("the authenticator was closed", null));
        }
        try {
            source.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the JWKS source failed", e);
        }
    }

    /** The flight in progress, or a new one. */
    private CompletableFuture<Snapshot> load() {
        while (true) {
            CompletableFuture<Snapshot> current = flight.get();
            if (current != null) {
                return current;
            }
            CompletableFuture<Snapshot> mine = new CompletableFuture<>();
            if (flight.compareAndSet(null, mine)) {
                try {
                    executor.execute(() -> fetch(mine));
                } catch (RejectedExecutionException e) {
                    land(mine, null, new KeysUnavailableException("JWKS fetch rejected by its executor", e));
                }
                return mine;
            }
        }
    }

    private void fetch(CompletableFuture<Snapshot> mine) {
        Snapshot seen = snapshot;
        long now = clock.millis();
        // A fresh snapshot that lacked a key: ask for a newer set than it (Nimbus refetches,
        // rate limited). Otherwise Nimbus answers from its cache or refetches on expiry.
        JWKSetCacheRefreshEvaluator evaluator = seen != null && seen.isFresh(now)
                ? JWKSetCacheRefreshEvaluator.referenceComparison(seen.set)
                : JWKSetCacheRefreshEvaluator.noRefresh();
        try {
            JWKSet set = source.getJWKSet(evaluator, now, null);
            Snapshot next = seen != null && seen.set == set ? seen : new Snapshot(set, now, ttlMs);
            snapshot = next;
            land(mine, next, null);
        } catch (RateLimitReachedException e) {
            // Refetched very recently: the set we have is the newest there is.
            if (seen != null) {
                land(mine, seen, null);
            } else {
                land(mine, null, new KeysUnavailableException("JWKS not fetched yet (rate limited)", e));
            }
        } catch (KeySourceException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "TS040 JWKS at {0} unavailable: {1}", url, e.getMessage());
            land(mine, null, new KeysUnavailableException("JWKS unavailable", e));
        }
    }

    /** Ends a flight: the next caller that needs keys starts a new one. */
    private void land(CompletableFuture<Snapshot> mine, Snapshot result, Throwable failure) {
        flight.compareAndSet(mine, null);
        if (failure != null) {
            mine.completeExceptionally(failure);
        } else {
            mine.complete(result);
        }
    }

    /** A key set as Nimbus answered it, and until when it is used without asking again. */
    private static final class Snapshot {
        final JWKSet set;
        final long expiresAtMs;
        final JWSVerificationKeySelector<SecurityContext> selector;

        Snapshot(JWKSet set, long fetchedAtMs, long ttlMs) {
            this.set = set;
            this.expiresAtMs = fetchedAtMs + ttlMs;
            this.selector = new JWSVerificationKeySelector<>(ALGORITHMS, new ImmutableJWKSet<>(set));
        }

        boolean isFresh(long nowMs) {
            return nowMs < expiresAtMs;
        }

        List<Key> select(JWSHeader header) {
            try {
                return selector.selectJWSKeys(header, null);
            } catch (KeySourceException e) {
                throw new IllegalStateException("an in-memory key set failed", e); // ImmutableJWKSet never throws
            }
        }
    }
}
