package dev.tether.auth.jwt;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import dev.tether.auth.jwt.internal.FixedKeySource;
import dev.tether.auth.jwt.internal.JwksKeySource;
import dev.tether.auth.jwt.internal.KeySource;
import dev.tether.auth.jwt.internal.TokenVerifier;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.HandshakeRequest;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.security.Principal;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.spec.SecretKeySpec;

/**
 * Authenticates handshakes with a signed JWT: the bearer token of the upgrade request
 * ({@code Authorization: Bearer …} or {@code ?access_token=…}), or the {@code auth.token} of a
 * Socket.IO connect when used as namespace middleware ({@code io.use(jwt)}). An accepted
 * connection's principal is a {@link JwtPrincipal} named by the token's {@code sub}, and the
 * result carries the token's {@code exp} so that the server asks for a fresh token in time
 * ({@link #refresh} checks it exactly like a handshake's).
 *
 * <p>Keys, one source per authenticator, each with its algorithm pinned (a token signed with any
 * other algorithm is refused, so {@code alg: none} and HS256-with-a-public-key confusion are
 * refused too):
 * <ul>
 *   <li>{@link Builder#hmacSecret(byte[])}: HS256 with a shared secret of at least 256 bits;</li>
 *   <li>{@link Builder#publicKey(PublicKey)}: RS256 with an RSA key of at least 2048 bits, or
 *       ES256 with an EC key on P-256;</li>
 *   <li>{@link Builder#jwksUrl(URI)}: RS256 and ES256 with the keys an identity provider
 *       publishes, cached for {@link Builder#jwksCacheTtl}; a token whose {@code kid} is not in
 *       the cached set makes one refetch, at most once per {@link Builder#jwksRefetchInterval};
 *       while the URL cannot be reached the last set is still used for
 *       {@link Builder#jwksOutageTolerance}.</li>
 * </ul>
 *
 * <p>Checks, in order, each refused with 401 and a short reason safe to show a client: a token
 * is present and is a compact JWS; its algorithm is the pinned one; a key of the source verifies
 * its signature; {@code sub} is a non-blank string; {@code exp} is present (unless
 * {@link Builder#requireExpiry(boolean) requireExpiry(false)}) and not past; {@code nbf}, if
 * present, is not in the future (both give or take {@link Builder#clockSkew}); {@code iss} is
 * the {@link Builder#issuer} and {@code aud} holds the {@link Builder#audience}, when those are
 * set. If the key set cannot be fetched and no key is cached, the answer is 503
 * ({@link AuthResult#unavailable}), and the client retries later.
 *
 * <p>Threading: thread-safe. {@link #authenticate} reads the token on the calling I/O thread and
 * never blocks it: with a secret, a public key or a JWKS key already cached the returned stage
 * is complete on return; otherwise one download at a time runs on the authenticator's executor
 * (every handshake that needs keys meanwhile waits for that one) and the stage completes there.
 * {@link #close()} stops the executor the authenticator made for itself.
 *
 * @since 0.1.0
 */
public final class JwtAuthenticator implements Authenticator, AutoCloseable {

    /** Default {@link Builder#clockSkew}: 30 seconds. */
    public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
    /** Default {@link Builder#jwksCacheTtl}: 5 minutes. */
    public static final Duration DEFAULT_JWKS_CACHE_TTL = Duration.ofMinutes(5);
    /** Default {@link Builder#jwksRefetchInterval}: 30 seconds. */
    public static final Duration DEFAULT_JWKS_REFETCH_INTERVAL = Duration.ofSeconds(30);
    /** Default {@link Builder#jwksOutageTolerance}: 1 hour. */
    public static final Duration DEFAULT_JWKS_OUTAGE_TOLERANCE = Duration.ofHours(1);
    /** Default {@link Builder#jwksTimeout}: 2 seconds. */
    public static final Duration DEFAULT_JWKS_TIMEOUT = Duration.ofSeconds(2);
    /** The largest key set document accepted from a JWKS URL: {@value} bytes. */
    public static final int JWKS_MAX_BYTES = 64 * 1024;

    private static final int MIN_SECRET_BYTES = 32;
    private static final int MIN_RSA_BITS = 2048;
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final KeySource keys;
    private final TokenVerifier verifier;
    private final ExecutorService ownExecutor;

    private JwtAuthenticator(KeySource keys, TokenVerifier verifier, ExecutorService ownExecutor) {
        this.keys = keys;
        this.verifier = verifier;
        this.ownExecutor = ownExecutor;
    }

    /** {@return a builder with every default set and no key source} */
    public static Builder builder() {
        return new Builder();
    }

    /** Verifies the request's bearer token; see the class description. */
    @Override
    public CompletionStage<AuthResult> authenticate(HandshakeRequest request) {
        // The request is valid only during this call: read the token now.
        Optional<String> token = request.bearerToken();
        return verifier.verify(token.orElse(null));
    }

    /**
     * Verifies a fresh token exactly as at the handshake; the engine keeps the session only if
     * the new token names the same subject.
     */
    @Override
    public CompletionStage<AuthResult> refresh(Principal current, String token) {
        return verifier.verify(token);
    }

    /**
     * Stops the download thread this authenticator made, if any (an executor given to the builder
     * is left alone); handshakes still waiting for a download are answered 503.
     */
    @Override
    public void close() {
        if (ownExecutor != null) {
            ownExecutor.shutdownNow();
        }
        keys.close();
    }

    /**
     * Configures a {@link JwtAuthenticator}: exactly one key source, then optional checks.
     * Validated in {@link #build()}, with an exception that names the setting.
     */
    public static final class Builder {
        private byte[] hmacSecret;
        private PublicKey publicKey;
        private URI jwksUrl;
        private String issuer;
        private String audience;
        private Duration clockSkew = DEFAULT_CLOCK_SKEW;
        private boolean requireExpiry = true;
        private Duration jwksCacheTtl = DEFAULT_JWKS_CACHE_TTL;
        private Duration jwksRefetchInterval = DEFAULT_JWKS_REFETCH_INTERVAL;
        private Duration jwksOutageTolerance = DEFAULT_JWKS_OUTAGE_TOLERANCE;
        private Duration jwksTimeout = DEFAULT_JWKS_TIMEOUT;
        private Executor executor;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /**
         * Verifies HS256 tokens with this shared secret, at least 256 bits (32 bytes); copied.
         *
         * @param secret the shared secret
         * @return this builder
         */
        public Builder hmacSecret(byte[] secret) {
            this.hmacSecret = Objects.requireNonNull(secret, "hmacSecret").clone();
            return this;
        }

        /**
         * Verifies RS256 tokens with an RSA key (at least 2048 bits), or ES256 with an EC key on
         * P-256.
         *
         * @param key the RSA or EC public key
         * @return this builder
         */
        public Builder publicKey(PublicKey key) {
            this.publicKey = Objects.requireNonNull(key, "publicKey");
            return this;
        }

        /**
         * Verifies RS256 and ES256 tokens with the keys published at this JWKS URL: {@code https},
         * or {@code http} to {@code localhost} or a loopback address only.
         *
         * @param url the JWKS URL
         * @return this builder
         */
        public Builder jwksUrl(URI url) {
            this.jwksUrl = Objects.requireNonNull(url, "jwksUrl");
            return this;
        }

        /**
         * Default: none (any issuer). If set, a token's {@code iss} must equal it.
         *
         * @param issuer the required {@code iss}
         * @return this builder
         */
        public Builder issuer(String issuer) {
            this.issuer = issuer;
            return this;
        }

        /**
         * Default: none (any audience). If set, a token's {@code aud} (a string or an array) must contain it.
         *
         * @param audience the required {@code aud} entry
         * @return this builder
         */
        public Builder audience(String audience) {
            this.audience = audience;
            return this;
        }

        /**
         * Default 30 s; not negative. How far {@code exp} and {@code nbf} may be off this server's clock.
         *
         * @param skew the clock skew allowed
         * @return this builder
         */
        public Builder clockSkew(Duration skew) {
            this.clockSkew = skew;
            return this;
        }

        /**
         * Default {@code true}: a token without {@code exp} is refused.
         *
         * @param require whether a token must have {@code exp}
         * @return this builder
         */
        public Builder requireExpiry(boolean require) {
            this.requireExpiry = require;
            return this;
        }

        /**
         * Default 5 min; positive. How long a fetched key set is used before it is fetched again.
         *
         * @param ttl how long a fetched key set is used
         * @return this builder
         */
        public Builder jwksCacheTtl(Duration ttl) {
            this.jwksCacheTtl = ttl;
            return this;
        }

        /**
         * Default 30 s; positive, less than {@link #jwksCacheTtl}. The least time between two
         * downloads: a token with an unknown {@code kid} refetches the set only if none was
         * fetched more recently than this (two downloads per interval at most).
         *
         * @param interval the least time between two downloads
         * @return this builder
         */
        public Builder jwksRefetchInterval(Duration interval) {
            this.jwksRefetchInterval = interval;
            return this;
        }

        /**
         * Default 1 h; not negative. How long the last fetched key set is still used while the URL cannot be reached.
         *
         * @param tolerance how long the last key set outlives an outage
         * @return this builder
         */
        public Builder jwksOutageTolerance(Duration tolerance) {
            this.jwksOutageTolerance = tolerance;
            return this;
        }

        /**
         * Default 2 s; positive. Connect and read timeout of one key set download.
         *
         * @param timeout the timeout of one download
         * @return this builder
         */
        public Builder jwksTimeout(Duration timeout) {
            this.jwksTimeout = timeout;
            return this;
        }

        /**
         * Default: a daemon thread of the authenticator's own, started on the first download and
         * ended after 30 s idle. Where key set downloads run (one at a time), and the checks of
         * the handshakes that waited for them. Not shut down by {@link JwtAuthenticator#close()}.
         *
         * @param executor runs the downloads and the checks that waited for them
         * @return this builder
         */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * Default: {@link Clock#systemUTC()}. The time for {@code exp}, {@code nbf} and the key set cache.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Validates the settings and builds the authenticator.
         *
         * @return the authenticator
         * @throws IllegalStateException unless exactly one key source is set
         * @throws IllegalArgumentException naming a setting that is out of range
         */
        public JwtAuthenticator build() {
            int sources = (hmacSecret != null ? 1 : 0) + (publicKey != null ? 1 : 0) + (jwksUrl != null ? 1 : 0);
            if (sources != 1) {
                throw new IllegalStateException("exactly one of hmacSecret, publicKey and jwksUrl must be set; "
                        + sources + " are");
            }
            if (issuer != null && issuer.isBlank()) {
                throw new IllegalArgumentException("issuer must not be blank");
            }
            if (audience != null && audience.isBlank()) {
                throw new IllegalArgumentException("audience must not be blank");
            }
            notNegative("clockSkew", clockSkew);
            ExecutorService own = null;
            KeySource keys;
            if (hmacSecret != null) {
                keys = secretSource(hmacSecret);
            } else if (publicKey != null) {
                keys = publicKeySource(publicKey);
            } else {
                positive("jwksCacheTtl", jwksCacheTtl);
                positive("jwksRefetchInterval", jwksRefetchInterval);
                if (jwksRefetchInterval.compareTo(jwksCacheTtl) >= 0) {
                    throw new IllegalArgumentException("jwksRefetchInterval must be less than jwksCacheTtl: "
                            + jwksRefetchInterval + " >= " + jwksCacheTtl);
                }
                notNegative("jwksOutageTolerance", jwksOutageTolerance);
                positive("jwksTimeout", jwksTimeout);
                if (jwksTimeout.toMillis() > Integer.MAX_VALUE / 4) {
                    throw new IllegalArgumentException("jwksTimeout too long: " + jwksTimeout);
                }
                URL url = toUrl(jwksUrl);
                Executor downloads = executor;
                if (downloads == null) {
                    own = downloadThread();
                    downloads = own;
                }
                keys = new JwksKeySource(url, jwksCacheTtl, jwksRefetchInterval, jwksOutageTolerance,
                        jwksTimeout, JWKS_MAX_BYTES, downloads, clock);
            }
            return new JwtAuthenticator(keys, new TokenVerifier(keys, issuer, audience, clockSkew, requireExpiry, clock), own);
        }

        private static KeySource secretSource(byte[] secret) {
            if (secret.length < MIN_SECRET_BYTES) {
                throw new IllegalArgumentException("hmacSecret must be at least 256 bits (32 bytes) for HS256: "
                        + secret.length * 8 + " bits given");
            }
            return new FixedKeySource(JWSAlgorithm.HS256, new SecretKeySpec(secret, "HmacSHA256"));
        }

        private static KeySource publicKeySource(PublicKey key) {
            if (key instanceof RSAPublicKey rsa) {
                if (rsa.getModulus().bitLength() < MIN_RSA_BITS) {
                    throw new IllegalArgumentException("publicKey: an RSA key must have at least 2048 bits: "
                            + rsa.getModulus().bitLength() + " given");
                }
                return new FixedKeySource(JWSAlgorithm.RS256, rsa);
            }
            if (key instanceof ECPublicKey ec) {
                if (!Curve.P_256.equals(Curve.forECParameterSpec(ec.getParams()))) {
                    throw new IllegalArgumentException("publicKey: an EC key must be on curve P-256 (ES256)");
                }
                return new FixedKeySource(JWSAlgorithm.ES256, ec);
            }
            throw new IllegalArgumentException("publicKey must be an RSA or EC key: " + key.getAlgorithm());
        }

        private static URL toUrl(URI uri) {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
            boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
            if (!scheme.equals("https") && !(scheme.equals("http") && loopback)) {
                throw new IllegalArgumentException("jwksUrl must be https (http only to a loopback address): " + uri);
            }
            try {
                return uri.toURL();
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("jwksUrl is not a URL: " + uri, e);
            }
        }

        private static ExecutorService downloadThread() {
            ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(16), r -> {
                Thread t = new Thread(r, "tether-jwks-" + THREADS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            pool.allowCoreThreadTimeOut(true);
            return pool;
        }

        private static void positive(String field, Duration d) {
            Objects.requireNonNull(d, field);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(field + " must be positive: " + d);
            }
        }

        private static void notNegative(String field, Duration d) {
            Objects.requireNonNull(d, field);
            if (d.isNegative()) {
                throw new IllegalArgumentException(field + " must not be negative: " + d);
            }
        }
    }
}
