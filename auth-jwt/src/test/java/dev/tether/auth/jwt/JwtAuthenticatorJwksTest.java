package dev.tether.auth.jwt;

import static dev.tether.auth.jwt.Tokens.AUDIENCE;
import static dev.tether.auth.jwt.Tokens.ISSUER;
import static dev.tether.auth.jwt.Tokens.bearer;
import static dev.tether.auth.jwt.Tokens.claims;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import dev.tether.core.spi.AuthResult;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Keys from a JWKS URL served on 127.0.0.1: the first handshake waits for one download off the
 * calling thread, later ones are answered at once from the cache; a new {@code kid} refetches
 * (rate limited); an outage is ridden out with the cached set, and is a 503 when nothing is
 * cached; concurrent handshakes share one download.
 */
class JwtAuthenticatorJwksTest {

    private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    private static final Instant IN_A_DAY = NOW.plus(Duration.ofDays(1));
    private static final RSAKey A = Tokens.rsa("a");
    private static final ECKey B = Tokens.ec("b");
    private static final RSAKey C = Tokens.rsa("c");
    private static final long WAIT_S = 20;

    private final MutableClock clock = new MutableClock(NOW);
    private JwksServer jwks;
    private JwtAuthenticator authenticator;

    @BeforeEach
    void start() {
        jwks = new JwksServer(new JWKSet(List.<JWK>of(A)));
        authenticator = JwtAuthenticator.builder().jwksUrl(jwks.uri()).clock(clock).issuer(ISSUER).audience(AUDIENCE).build();
    }

    @AfterEach
    void stop() {
        authenticator.close();
        jwks.close();
    }

    private static String tokenA(String sub) {
        return Tokens.rs256(A, claims(sub, IN_A_DAY).build());
    }

    private CompletableFuture<AuthResult> authenticate(String token) {
        return authenticator.authenticate(bearer(token)).toCompletableFuture();
    }

    private AuthResult answer(String token) throws Exception {
        return authenticate(token).get(WAIT_S, TimeUnit.SECONDS);
    }

    private static String acceptedName(AuthResult result) {
        assertThat(result).isInstanceOf(AuthResult.Accepted.class);
        return ((AuthResult.Accepted) result).principal().getName();
    }

    private static void assertRefused(AuthResult result, int status, String reason) {
        assertThat(result).isInstanceOf(AuthResult.Refused.class);
        assertThat(((AuthResult.Refused) result).status()).isEqualTo(status);
        assertThat(((AuthResult.Refused) result).reason()).isEqualTo(reason);
    }

    @Test
    void theFirstHandshakeWaitsForOneDownloadOffTheCallingThreadLaterOnesAreAnsweredAtOnce() throws Exception {
        jwks.hold();
        CompletableFuture<AuthResult> first = authenticate(tokenA("alice"));
        // authenticate returned while the download is still held: it did not block the caller.
        assertThat(first).isNotDone();
        CompletableFuture<String> completedOn = first.thenApply(r -> Thread.currentThread().getName());
        jwks.release();

        assertThat(acceptedName(first.get(WAIT_S, TimeUnit.SECONDS))).isEqualTo("alice");
        assertThat(completedOn.get(WAIT_S, TimeUnit.SECONDS)).startsWith("tether-jwks-");
        CompletableFuture<AuthResult> second = authenticate(tokenA("bob"));
        assertThat(second).isDone();
        assertThat(acceptedName(second.join())).isEqualTo("bob");
        assertThat(jwks.fetches()).isEqualTo(1);
    }

    @Test
    void aNewKidIsAcceptedAfterOneRefetchAndUnknownKidsRefetchNoMoreThanTheRateLimitAllows() throws Exception {
        assertThat(acceptedName(answer(tokenA("alice")))).isEqualTo("alice");
        assertThat(jwks.fetches()).isEqualTo(1);

        jwks.publish(new JWKSet(List.<JWK>of(A, B))); // the issuer rotates: B joins
        assertThat(acceptedName(answer(Tokens.es256(B, claims("bob", IN_A_DAY).build())))).isEqualTo("bob");
        assertThat(jwks.fetches()).isEqualTo(2);
        CompletableFuture<AuthResult> again = authenticate(Tokens.es256(B, claims("bob", IN_A_DAY).build()));
        assertThat(again).isDone();
        assertThat(jwks.fetches()).isEqualTo(2);

        // C is published nowhere: within the refetch interval it costs no further download.
        String tokenC = Tokens.rs256(C, claims("carol", IN_A_DAY).build());
        assertRefused(answer(tokenC), 401, "unknown signing key");
        assertRefused(answer(tokenC), 401, "unknown signing key");
        assertThat(jwks.fetches()).isEqualTo(2);

        // After the interval, one more try.
        clock.advance(JwtAuthenticator.DEFAULT_JWKS_REFETCH_INTERVAL);
        assertRefused(answer(tokenC), 401, "unknown signing key");
        assertThat(jwks.fetches()).isEqualTo(3);
        // A is still known, and answered at once.
        assertThat(authenticate(tokenA("alice"))).isDone();
    }

    @Test
    void theKeySetIsFetchedAgainAfterItsTimeToLive() throws Exception {
        acceptedName(answer(tokenA("alice")));
        clock.advance(JwtAuthenticator.DEFAULT_JWKS_CACHE_TTL.minusSeconds(1));
        assertThat(authenticate(tokenA("alice"))).isDone();
        assertThat(jwks.fetches()).isEqualTo(1);

        clock.advance(Duration.ofSeconds(1));
        jwks.publish(new JWKSet(List.<JWK>of(B))); // A retired
        assertRefused(answer(tokenA("alice")), 401, "unknown signing key");
        assertThat(jwks.fetches()).isEqualTo(2);
    }

    @Test
    void aCachedKeyKeepsWorkingWhileTheKeySetIsDown() throws Exception {
        acceptedName(answer(tokenA("alice")));
        jwks.close();

        CompletableFuture<AuthResult> cached = authenticate(tokenA("alice"));
        assertThat(cached).isDone();
        assertThat(acceptedName(cached.join())).isEqualTo("alice");

        // Past the cache's time to live the download fails; the last set is used through the outage.
        clock.advance(JwtAuthenticator.DEFAULT_JWKS_CACHE_TTL.plusMinutes(1));
        assertThat(acceptedName(answer(tokenA("alice")))).isEqualTo("alice");

        // Past the outage tolerance it is not.
        clock.advance(JwtAuthenticator.DEFAULT_JWKS_OUTAGE_TOLERANCE);
        assertRefused(answer(tokenA("alice")), 503, "signing keys unavailable; retry later");
    }

    @Test
    void anUnreachableKeySetWithNothingCachedIs503() throws Exception {
        jwks.close();
        assertRefused(answer(tokenA("alice")), 503, "signing keys unavailable; retry later");
        assertRefused(answer(tokenA("alice")), 503, "signing keys unavailable; retry later");
    }

    @Test
    void closingAnswersTheHandshakesThatWaitForADownload() throws Exception {
        jwks.hold();
        CompletableFuture<AuthResult> waiting = authenticate(tokenA("alice"));
        assertThat(waiting).isNotDone();

        authenticator.close();

        assertRefused(waiting.get(WAIT_S, TimeUnit.SECONDS), 503, "signing keys unavailable; retry later");
        assertRefused(answer(tokenA("alice")), 503, "signing keys unavailable; retry later");
    }

    @Test
    void concurrentHandshakesShareOneDownload() throws Exception {
        jwks.hold();
        int threads = 8;
        int perThread = 16;
        ExecutorService callers = Executors.newFixedThreadPool(threads);
        List<Future<List<CompletableFuture<AuthResult>>>> calls = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                calls.add(callers.submit(() -> {
                    List<CompletableFuture<AuthResult>> mine = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        mine.add(authenticate(tokenA("user-" + thread + "-" + i)));
                    }
                    return mine;
                }));
            }
            List<CompletableFuture<AuthResult>> all = new ArrayList<>();
            for (Future<List<CompletableFuture<AuthResult>>> f : calls) {
                all.addAll(f.get(WAIT_S, TimeUnit.SECONDS)); // every call returned while the download is held
            }
            assertThat(all).hasSize(threads * perThread).noneMatch(CompletableFuture::isDone);
            jwks.release();

            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(WAIT_S, TimeUnit.SECONDS);
            assertThat(all).allMatch(f -> f.join() instanceof AuthResult.Accepted);
            assertThat(jwks.fetches()).isEqualTo(1);
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void anHs256TokenMadeWithAPublishedKeyAsTheSecretIsRefusedWithoutADownload() throws Exception {
        String confused = Tokens.sign(new MACSigner(A.toRSAPublicKey().getEncoded()),
                new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("a").build(), claims("mallory", IN_A_DAY).build());
        assertRefused(answer(confused), 401, "signature algorithm not accepted");
        assertThat(jwks.fetches()).isZero();
    }

    @Test
    void aGivenExecutorRunsTheDownloads() throws Exception {
        ExecutorService mine = Executors.newSingleThreadExecutor(r -> new Thread(r, "host-pool"));
        try (JwtAuthenticator a = JwtAuthenticator.builder().jwksUrl(jwks.uri()).clock(clock).executor(mine).build()) {
            CompletableFuture<String> completedOn = a.authenticate(bearer(tokenA("alice"))).toCompletableFuture()
                    .thenApply(r -> acceptedName(r) + "@" + Thread.currentThread().getName());
            assertThat(completedOn.get(WAIT_S, TimeUnit.SECONDS)).isEqualTo("alice@host-pool");
        } finally {
            mine.shutdownNow();
        }
        assertThat(mine.awaitTermination(WAIT_S, TimeUnit.SECONDS)).isTrue();
    }
}
