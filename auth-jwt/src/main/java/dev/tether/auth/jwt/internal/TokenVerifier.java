package dev.tether.auth.jwt.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.tether.auth.jwt.JwtPrincipal;
import dev.tether.core.spi.AuthResult;
import java.security.Key;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * Checks a compact JWS token: its algorithm against the key source's pinned set, its signature
 * against the source's keys, then its claims ({@code exp}, {@code nbf}, {@code iss}, {@code aud},
 * {@code sub}) against the rules. Refusal reasons are short and fixed, safe to show a client:
 * they carry neither key material nor claim values.
 *
 * <p>Threading: thread-safe. {@link #verify} does the parsing and, when the keys are in memory,
 * the whole check on the caller's thread; otherwise the check runs where the keys arrive.
 */
public final class TokenVerifier {

    static final String MISSING = "missing token";
    static final String MALFORMED = "malformed token";
    static final String ALGORITHM = "signature algorithm not accepted";
    static final String UNKNOWN_KEY = "unknown signing key";
    static final String SIGNATURE = "invalid signature";
    static final String NO_SUBJECT = "token has no subject";
    static final String NO_EXPIRY = "token has no expiry";
    static final String EXPIRED = "token expired";
    static final String NOT_YET_VALID = "token not yet valid";
    static final String ISSUER = "issuer not accepted";
    static final String AUDIENCE = "audience not accepted";
    static final String UNAVAILABLE = "signing keys unavailable; retry later";

    private static final System.Logger LOG = System.getLogger("dev.tether.auth.jwt");

    private final KeySource keys;
    private final String issuer;
    private final String audience;
    private final Duration clockSkew;
    private final boolean requireExpiry;
    private final Clock clock;
    private final DefaultJWSVerifierFactory verifiers = new DefaultJWSVerifierFactory();

    /**
     * @param issuer   the required {@code iss}, or {@code null} to accept any
     * @param audience a value the token's {@code aud} must hold, or {@code null} to accept any
     */
    public TokenVerifier(KeySource keys, String issuer, String audience, Duration clockSkew,
                         boolean requireExpiry, Clock clock) {
        this.keys = keys;
        this.issuer = issuer;
        this.audience = audience;
        this.clockSkew = clockSkew;
        this.requireExpiry = requireExpiry;
        this.clock = clock;
    }

    /** Verifies {@code token} (may be {@code null}: no token). Never completes exceptionally. */
    public CompletionStage<AuthResult> verify(String token) {
        if (token == null || token.isBlank()) {
            return refused(MISSING);
        }
        SignedJWT jwt;
        try {
            // Only a signed JWT parses here: alg "none" (a plain JWT) and encrypted ones do not.
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            return refused(MALFORMED);
        }
        JWSHeader header = jwt.getHeader();
        if (!keys.algorithms().contains(header.getAlgorithm())) {
            return refused(ALGORITHM);
        }
        return keys.keys(header).handle((candidates, failure) -> {
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                if (!(cause instanceof KeysUnavailableException)) {
                    LOG.log(System.Logger.Level.WARNING, "TS041 key lookup failed; the handshake was answered 503", cause);
                }
                return AuthResult.unavailable(UNAVAILABLE);
            }
            return check(jwt, candidates);
        });
    }

    private AuthResult check(SignedJWT jwt, List<Key> candidates) {
        if (candidates.isEmpty()) {
            return AuthResult.unauthorized(UNKNOWN_KEY);
        }
        if (!signedByOneOf(jwt, candidates)) {
            return AuthResult.unauthorized(SIGNATURE);
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            return AuthResult.unauthorized(MALFORMED);
        }
        return checkClaims(claims);
    }

    private boolean signedByOneOf(SignedJWT jwt, List<Key> candidates) {
        for (Key key : candidates) {
            try {
                if (jwt.verify(verifiers.createJWSVerifier(jwt.getHeader(), key))) {
                    return true;
                }
            } catch (JOSEException e) {
                // This key cannot check this algorithm (e.g. an EC key of another curve): try the next.
            }
        }
        return false;
    }

    private AuthResult checkClaims(JWTClaimsSet claims) {
        String subject = claims.getSubject();
        if (subject == null || subject.isBlank()) {
            return AuthResult.unauthorized(NO_SUBJECT);
        }
        Date exp = claims.getExpirationTime();
        Date nbf = claims.getNotBeforeTime();
        if (exp == null && claims.getClaim("exp") != null || nbf == null && claims.getClaim("nbf") != null) {
            return AuthResult.unauthorized(MALFORMED); // present but not a NumericDate
        }
        if (exp == null && requireExpiry) {
            return AuthResult.unauthorized(NO_EXPIRY);
        }
        Instant now = clock.instant();
        // RFC 7519: not valid on or after exp, nor before nbf; both widened by the clock skew.
        if (exp != null && !now.minus(clockSkew).isBefore(exp.toInstant())) {
            return AuthResult.unauthorized(EXPIRED);
        }
        if (nbf != null && now.plus(clockSkew).isBefore(nbf.toInstant())) {
            return AuthResult.unauthorized(NOT_YET_VALID);
        }
        if (issuer != null && !issuer.equals(claims.getIssuer())) {
            return AuthResult.unauthorized(ISSUER);
        }
        if (audience != null && !claims.getAudience().contains(audience)) {
            return AuthResult.unauthorized(AUDIENCE);
        }
        JwtPrincipal principal = JwtPrincipal.of(claims.toJSONObject());
        return exp == null ? AuthResult.accept(principal) : AuthResult.accept(principal, exp.toInstant());
    }

    private static CompletionStage<AuthResult> refused(String reason) {
        return CompletableFuture.completedFuture(AuthResult.unauthorized(reason));
    }
}
