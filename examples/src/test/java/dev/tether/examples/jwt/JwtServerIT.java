package dev.tether.examples.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.tether.client.HandshakeException;
import dev.tether.client.TetherClient;
import dev.tether.core.RequestException;
import dev.tether.core.Tether;
import dev.tether.examples.chat.ChatHandler;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's JWT snippet as {@link JwtServer} runs it, with the issuer's key read from a PEM
 * file: a token from that issuer for the {@code chat} audience connects and may subscribe to the
 * channels it lists only; a token from another issuer is refused with 401.
 */
class JwtServerIT {

    private static final long WAIT_S = 20;

    @Test
    void aTokenFromTheIssuerConnectsAndUsesItsChannelsOnly(@TempDir Path dir) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair issuer = generator.generateKeyPair();
        Path pem = dir.resolve("issuer.pem");
        Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(issuer.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n");

        ChatHandler handler = new ChatHandler();
        Tether tether = JwtServer.create(JwtServer.readPublicKey(pem), handler);
        handler.bind(tether);
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        URI uri = URI.create("ws://127.0.0.1:" + server.port() + "/tether");
        try (TetherClient alice = TetherClient.builder(uri).bearerToken(token(issuer, "https://login.example.com/")).build();
             TetherClient mallory = TetherClient.builder(uri).bearerToken(token(issuer, "https://evil.example.com/")).build()) {
            alice.connect().get(WAIT_S, TimeUnit.SECONDS);
            alice.subscribe("chat").get(WAIT_S, TimeUnit.SECONDS);
            ExecutionException forbidden = assertThrows(ExecutionException.class,
                    () -> alice.subscribe("admin").get(WAIT_S, TimeUnit.SECONDS));
            assertThat(((RequestException) forbidden.getCause()).code()).isEqualTo("forbidden");

            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> mallory.connect().get(WAIT_S, TimeUnit.SECONDS));
            assertThat(((HandshakeException) refused.getCause()).statusCode()).isEqualTo(401);
        } finally {
            tether.close(); // the hub first, then the server (README, Embedding)
            server.close();
        }
    }

    private static String token(KeyPair issuer, String iss) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("alice").issuer(iss).audience("chat")
                .expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1)))).claim("channels", List.of("chat")).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), claims);
        jwt.sign(new RSASSASigner((RSAPrivateKey) issuer.getPrivate()));
        return jwt.serialize();
    }
}
