package dev.tether.auth.jwt;

import static dev.tether.auth.jwt.Tokens.AUDIENCE;
import static dev.tether.auth.jwt.Tokens.ISSUER;
import static dev.tether.auth.jwt.Tokens.bearer;
import static dev.tether.auth.jwt.Tokens.claims;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.tether.core.spi.AuthResult;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Tokens checked against a shared secret or a fixed public key: every check's acceptance and
 * refusal, the pinned algorithms, and answers that are complete on return (no I/O).
 */
class JwtAuthenticatorTest {

    private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    private static final Instant IN_AN_HOUR = NOW.plus(Duration.ofHours(1));
    private static final RSAKey RSA = Tokens.rsa("r1");
    private static final RSAKey OTHER_RSA = Tokens.rsa("r1");
    private static final ECKey EC = Tokens.ec("e1");

    private final byte[] secret = Tokens.secret();
    private JwtAuthenticator authenticator;

    @AfterEach
    void close() {
        if (authenticator != null) {
            authenticator.close();
        }
    }

    private JwtAuthenticator.Builder builder() {
        return JwtAuthenticator.builder().clock(Clock.fixed(NOW, ZoneOffset.UTC)).issuer(ISSUER).audience(AUDIENCE);
    }

    private JwtAuthenticator withSecret() {
        authenticator = builder().hmacSecret(secret).build();
        return authenticator;
    }

    private JwtAuthenticator withRsa() throws JOSEException {
        authenticator = builder().publicKey(RSA.toRSAPublicKey()).build();
        return authenticator;
    }

    /** The answer, which must be there on return: none of these checks needs I/O. */
    private static AuthResult answerOf(JwtAuthenticator a, String token) {
        CompletableFuture<AuthResult> stage = a.authenticate(bearer(token)).toCompletableFuture();
        assertThat(stage).as("answered at once").isDone();
        return stage.join();
    }

    private static void assertRefused(AuthResult result, int status, String reason) {
        assertThat(result).isInstanceOf(AuthResult.Refused.class);
        AuthResult.Refused refused = (AuthResult.Refused) result;
        assertThat(refused.status()).isEqualTo(status);
        assertThat(refused.reason()).isEqualTo(reason);
    }

    private static JwtPrincipal acceptedPrincipal(AuthResult result) {
        assertThat(result).isInstanceOf(AuthResult.Accepted.class);
        return (JwtPrincipal) ((AuthResult.Accepted) result).principal();
    }

    @Test
    void acceptsAValidHs256TokenAsItsSubjectWithItsExpiryAndClaims() {
        String token = Tokens.hs256(secret, claims("alice", IN_AN_HOUR).claim("channels", List.of("chat", "news.*")).build());

        AuthResult result = answerOf(withSecret(), token);

        JwtPrincipal alice = acceptedPrincipal(result);
        assertThat(alice.getName()).isEqualTo("alice");
        assertThat(((AuthResult.Accepted) result).expiry()).contains(IN_AN_HOUR);
        assertThat(alice.expiresAt()).contains(IN_AN_HOUR);
        assertThat(alice.stringList("channels")).containsExactly("chat", "news.*");
        assertThat(alice.string("iss")).contains(ISSUER);
        assertThat(alice.claims()).containsEntry("sub", "alice").containsEntry("exp", IN_AN_HOUR.getEpochSecond());
        assertThatThrownBy(() -> alice.claims().put("sub", "mallory")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void acceptsAValidRs256Token() throws Exception {
        assertThat(acceptedPrincipal(answerOf(withRsa(), Tokens.rs256(RSA, claims("bob", IN_AN_HOUR).build()))).getName())
                .isEqualTo("bob");
    }

    @Test
    void acceptsAValidEs256Token() throws Exception {
        authenticator = builder().publicKey(EC.toECPublicKey()).build();
        assertThat(acceptedPrincipal(answerOf(authenticator, Tokens.es256(EC, claims("carol", IN_AN_HOUR).build()))).getName())
                .isEqualTo("carol");
    }

    @Test
    void refusesAnExpiredTokenAndAcceptsOneExpiredWithinTheClockSkew() {
        withSecret();
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", NOW.minusSeconds(31)).build())), 401, "token expired");
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", NOW.minusSeconds(30)).build())), 401, "token expired");
        acceptedPrincipal(answerOf(authenticator, Tokens.hs256(secret, claims("alice", NOW.minusSeconds(29)).build())));
    }

    @Test
    void refusesATokenNotYetValidAndAcceptsOneWithinTheClockSkew() {
        withSecret();
        String early = Tokens.hs256(secret, claims("alice", IN_AN_HOUR).notBeforeTime(Date.from(NOW.plusSeconds(31))).build());
        String withinSkew = Tokens.hs256(secret, claims("alice", IN_AN_HOUR).notBeforeTime(Date.from(NOW.plusSeconds(30))).build());

        assertRefused(answerOf(authenticator, early), 401, "token not yet valid");
        acceptedPrincipal(answerOf(authenticator, withinSkew));
    }

    @Test
    void theClockSkewIsConfigurable() {
        authenticator = builder().hmacSecret(secret).clockSkew(Duration.ZERO).build();
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", NOW.minusSeconds(1)).build())), 401, "token expired");
    }

    @Test
    void refusesAWrongIssuerOrNone() {
        withSecret();
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", IN_AN_HOUR).issuer("https://evil.test").build())),
                401, "issuer not accepted");
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", IN_AN_HOUR).issuer(null).build())),
                401, "issuer not accepted");
    }

    @Test
    void refusesAWrongAudienceAndAcceptsAnAudienceArrayThatHoldsOurs() {
        withSecret();
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", IN_AN_HOUR).audience("other").build())),
                401, "audience not accepted");
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims("alice", IN_AN_HOUR).audience(List.of()).build())),
                401, "audience not accepted");
        acceptedPrincipal(answerOf(authenticator,
                Tokens.hs256(secret, claims("alice", IN_AN_HOUR).audience(List.of("other", AUDIENCE)).build())));
    }

    @Test
    void withoutIssuerAndAudienceSetAnyAreAccepted() {
        authenticator = JwtAuthenticator.builder().clock(Clock.fixed(NOW, ZoneOffset.UTC)).hmacSecret(secret).build();
        acceptedPrincipal(answerOf(authenticator,
                Tokens.hs256(secret, claims("alice", IN_AN_HOUR).issuer("anyone").audience("anything").build())));
    }

    @Test
    void refusesATokenWithoutSubject() {
        withSecret();
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims(null, IN_AN_HOUR).build())), 401, "token has no subject");
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims(" ", IN_AN_HOUR).build())), 401, "token has no subject");
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, claims(null, IN_AN_HOUR).claim("sub", List.of("a")).build())),
                401, "malformed token");
    }

    @Test
    void refusesATokenWithoutExpiryUnlessExpiryIsOptional() {
        JWTClaimsSet noExp = new JWTClaimsSet.Builder(claims("alice", IN_AN_HOUR).build()).expirationTime(null).build();
        String token = Tokens.hs256(secret, noExp);
        withSecret();
        assertRefused(answerOf(authenticator, token), 401, "token has no expiry");
        authenticator.close();

        authenticator = builder().hmacSecret(secret).requireExpiry(false).build();
        AuthResult result = answerOf(authenticator, token);
        acceptedPrincipal(result);
        assertThat(((AuthResult.Accepted) result).expiry()).isEmpty();
    }

    @Test
    void refusesAnExpiryOrNotBeforeThatIsNotANumber() {
        authenticator = builder().hmacSecret(secret).requireExpiry(false).build();
        JWTClaimsSet badExp = new JWTClaimsSet.Builder(claims("alice", IN_AN_HOUR).build()).claim("exp", "tomorrow").build();
        JWTClaimsSet badNbf = claims("alice", IN_AN_HOUR).claim("nbf", "now").build();
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, badExp)), 401, "malformed token");
        assertRefused(answerOf(authenticator, Tokens.hs256(secret, badNbf)), 401, "malformed token");
    }

    @Test
    void refusesATokenSignedWithAnotherKey() throws Exception {
        withRsa();
        assertRefused(answerOf(authenticator, Tokens.rs256(OTHER_RSA, claims("alice", IN_AN_HOUR).build())), 401, "invalid signature");
        authenticator.close();
        withSecret();
        assertRefused(answerOf(authenticator, Tokens.hs256(Tokens.secret(), claims("alice", IN_AN_HOUR).build())), 401, "invalid signature");
    }

    @Test
    void refusesATokenWhosePayloadWasChangedAfterSigning() {
        String token = Tokens.hs256(secret, claims("alice", IN_AN_HOUR).build());
        String[] parts = token.split("\\.");
        String forged = parts[0] + "." + Base64URL.encode(claims("admin", IN_AN_HOUR).build().toString()) + "." + parts[2];
        assertRefused(answerOf(withSecret(), forged), 401, "invalid signature");
    }

    @Test
    void refusesAlgNone() throws Exception {
        String unsigned = new PlainJWT(claims("alice", IN_AN_HOUR).build()).serialize();
        // The same, with a signature part someone made up.
        String unsignedWithSignature = unsigned + "c2lnbmF0dXJl";
        String noneHeaderWithSignature = Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "."
                + Base64URL.encode(claims("alice", IN_AN_HOUR).build().toString()) + ".c2lnbmF0dXJl";

        for (JwtAuthenticator a : List.of(withSecret(), JwtAuthenticator.builder().publicKey(RSA.toRSAPublicKey()).build())) {
            for (String token : List.of(unsigned, unsignedWithSignature, noneHeaderWithSignature)) {
                AuthResult result = answerOf(a, token);
                assertThat(result).as(token).isInstanceOf(AuthResult.Refused.class);
                assertThat(((AuthResult.Refused) result).status()).isEqualTo(401);
            }
            a.close();
        }
    }

    @Test
    void refusesAnHs256TokenMadeWithThePublicKeyAsTheSecret() throws Exception {
        RSAPublicKey publicKey = RSA.toRSAPublicKey();
        JWTClaimsSet claims = claims("alice", IN_AN_HOUR).build();
        // The classic confusion: the public key (which everyone has) used as an HMAC secret.
        String fromDer = Tokens.sign(new MACSigner(publicKey.getEncoded()), new JWSHeader(JWSAlgorithm.HS256), claims);
        String pem = "-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(publicKey.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
        String fromPem = Tokens.sign(new MACSigner(pem.getBytes(StandardCharsets.US_ASCII)), new JWSHeader(JWSAlgorithm.HS256), claims);

        withRsa();
        assertRefused(answerOf(authenticator, fromDer), 401, "signature algorithm not accepted");
        assertRefused(answerOf(authenticator, fromPem), 401, "signature algorithm not accepted");
    }

    @Test
    void refusesAnotherAlgorithmThanThePinnedOne() throws Exception {
        withSecret();
        // An RS256 token to the HS256 authenticator, and an HS384 one with the same secret.
        assertRefused(answerOf(authenticator, Tokens.rs256(RSA, claims("alice", IN_AN_HOUR).build())), 401, "signature algorithm not accepted");
        byte[] longSecret = new byte[48];
        System.arraycopy(secret, 0, longSecret, 0, 32);
        JwtAuthenticator hs = builder().hmacSecret(longSecret).build();
        String hs384 = Tokens.sign(new MACSigner(longSecret), new JWSHeader(JWSAlgorithm.HS384), claims("alice", IN_AN_HOUR).build());
        assertRefused(answerOf(hs, hs384), 401, "signature algorithm not accepted");
        hs.close();
        authenticator.close();
        withRsa();
        assertRefused(answerOf(authenticator, Tokens.es256(EC, claims("alice", IN_AN_HOUR).build())), 401, "signature algorithm not accepted");
    }

    @Test
    void refusesMalformedTokens() {
        withSecret();
        String valid = Tokens.hs256(secret, claims("alice", IN_AN_HOUR).build());
        String[] parts = valid.split("\\.");
        List<String> malformed = List.of("x", "a.b", "a.b.c", "a.b.c.d.e", "...", valid.substring(1), valid + ".", "Bearer",
                parts[0] + "." + Base64URL.encode("not json") + "." + parts[2],
                Base64URL.encode("[1,2]") + "." + parts[1] + "." + parts[2],
                "\u0000\uffff.\u00e9.\u2603");
        for (String token : malformed) {
            AuthResult result = answerOf(authenticator, token);
            assertThat(result).as(token).isInstanceOf(AuthResult.Refused.class);
            assertThat(((AuthResult.Refused) result).status()).as(token).isEqualTo(401);
        }
        assertRefused(answerOf(authenticator, "a.b.c"), 401, "malformed token");
    }

    @Test
    void refusesAMissingToken() {
        withSecret();
        assertRefused(answerOf(authenticator, null), 401, "missing token");
        assertRefused(answerOf(authenticator, " "), 401, "missing token");
    }

    @Test
    void refreshChecksTheFreshTokenLikeAHandshake() {
        withSecret();
        JwtPrincipal alice = acceptedPrincipal(answerOf(authenticator, Tokens.hs256(secret, claims("alice", NOW.plusSeconds(60)).build())));

        AuthResult renewed = authenticator.refresh(alice, Tokens.hs256(secret, claims("alice", IN_AN_HOUR).build())).toCompletableFuture().join();
        AuthResult expired = authenticator.refresh(alice, Tokens.hs256(secret, claims("alice", NOW.minusSeconds(60)).build())).toCompletableFuture().join();

        assertThat(((AuthResult.Accepted) renewed).expiry()).contains(IN_AN_HOUR);
        assertThat(((AuthResult.Accepted) renewed).principal().getName()).isEqualTo("alice");
        assertRefused(expired, 401, "token expired");
    }

    @Test
    void refusalReasonsCarryNoKeyMaterialNorClaimValues() {
        withSecret();
        String wrongAudience = Tokens.hs256(secret, claims("alice", IN_AN_HOUR).audience("secret-audience-value").build());
        AuthResult.Refused refused = (AuthResult.Refused) answerOf(authenticator, wrongAudience);
        assertThat(refused.reason()).doesNotContain("secret-audience-value").doesNotContain(AUDIENCE).hasSizeLessThan(64);
    }

    @Test
    void aSecretShorterThan256BitsIsRefusedAtBuild() {
        assertThatThrownBy(() -> JwtAuthenticator.builder().hmacSecret(new byte[31]).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hmacSecret").hasMessageContaining("248 bits");
    }

    @Test
    void weakOrUnsupportedPublicKeysAreRefusedAtBuild() throws Exception {
        KeyPairGenerator rsa1024 = KeyPairGenerator.getInstance("RSA");
        rsa1024.initialize(1024);
        assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey(rsa1024.generateKeyPair().getPublic()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2048");
        ECKey p384 = new ECKeyGenerator(Curve.P_384).generate();
        assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey(p384.toECPublicKey()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("P-256");
    }

    @Test
    void exactlyOneKeySourceAndValidSettingsAreRequired() throws Exception {
        assertThatThrownBy(() -> JwtAuthenticator.builder().build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("exactly one");
        assertThatThrownBy(() -> JwtAuthenticator.builder().hmacSecret(secret).publicKey(RSA.toRSAPublicKey()).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> JwtAuthenticator.builder().hmacSecret(secret).clockSkew(Duration.ofSeconds(-1)).build())
                .hasMessageContaining("clockSkew");
        assertThatThrownBy(() -> JwtAuthenticator.builder().hmacSecret(secret).issuer(" ").build()).hasMessageContaining("issuer");
        assertThatThrownBy(() -> JwtAuthenticator.builder().jwksUrl(URI.create("http://keys.example.com/jwks.json")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("https");
        assertThatThrownBy(() -> JwtAuthenticator.builder().jwksUrl(URI.create("https://keys.example.com/jwks.json"))
                .jwksCacheTtl(Duration.ofSeconds(10)).jwksRefetchInterval(Duration.ofSeconds(10)).build())
                .hasMessageContaining("jwksRefetchInterval");
    }

    @Test
    void theSecretIsCopied() {
        byte[] mine = secret.clone();
        authenticator = builder().hmacSecret(mine).build();
        java.util.Arrays.fill(mine, (byte) 0);
        acceptedPrincipal(answerOf(authenticator, Tokens.hs256(secret, claims("alice", IN_AN_HOUR).build())));
    }

    @Test
    void aPrincipalNeedsASubjectAndKeepsNullFreeImmutableClaims() {
        assertThatThrownBy(() -> JwtPrincipal.of(Map.of("iss", "x"))).isInstanceOf(IllegalArgumentException.class);
        java.util.HashMap<String, Object> claims = new java.util.HashMap<>();
        claims.put("sub", "alice");
        claims.put("gone", null);
        java.util.List<String> channels = new java.util.ArrayList<>(List.of("a", "b"));
        claims.put("channels", channels);
        claims.put("mixed", List.of("a", 1));
        JwtPrincipal p = JwtPrincipal.of(claims);
        channels.add("c");

        assertThat(p.claims()).doesNotContainKey("gone");
        assertThat(p.stringList("channels")).containsExactly("a", "b");
        assertThat(p.stringList("mixed")).isEmpty();
        assertThat(p.stringList("sub")).containsExactly("alice");
        assertThat(p.stringList("absent")).isEmpty();
        assertThat(p.toString()).isEqualTo("JwtPrincipal[alice]");
    }
}
