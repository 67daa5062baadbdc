package dev.tether.examples.jwt;

import dev.tether.auth.jwt.JwtAuthenticator;
import dev.tether.auth.jwt.JwtAuthorizer;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.examples.ShutdownLogManager;
import dev.tether.examples.Startup;
import dev.tether.examples.chat.ChatHandler;
import dev.tether.undertow.TetherServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * The README's JWT example, compiled and run by {@code JwtServerIT} so that it stays true: the
 * chat server for clients that present a JWT from the identity provider at
 * {@code https://login.example.com/}. Run with {@code examples/run jwt}; environment
 * {@code TETHER_JWT_PUBLIC_KEY}, a PEM file with the provider's RSA or EC public key, and
 * {@code PORT} (default 8080).
 */
public final class JwtServer {

    private JwtServer() {
    }

    /** The README snippet: a hub that admits valid tokens and lets each client use its token's channels. */
    public static Tether create(PublicKey issuerKey, SessionHandler handler) {
        JwtAuthenticator jwt = JwtAuthenticator.builder()
                .publicKey(issuerKey)                    // RS256 or ES256; or .jwksUrl(uri), .hmacSecret(secret)
                .issuer("https://login.example.com/")
                .audience("chat")
                .build();
        return Tether.create(TetherConfig.builder()
                .authenticator(jwt)                                   // 401 before the upgrade unless the token is valid
                .authorizer(JwtAuthorizer.channelsClaim("channels"))  // {"channels": ["chat", "news.*"]}
                .build(), handler);
    }

    public static void main(String[] args) throws IOException, GeneralSecurityException {
        String keyFile = System.getenv("TETHER_JWT_PUBLIC_KEY");
        if (keyFile == null) {
            System.err.println("TETHER_JWT_PUBLIC_KEY must name a PEM file with the issuer's public key");
            System.exit(2);
        }
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        ChatHandler handler = new ChatHandler();
        Tether tether = create(readPublicKey(Path.of(keyFile)), handler);
        handler.bind(tether);
        TetherServer server = Startup.orExit(() -> {
            try {
                return TetherServer.start(tether, port);
            } catch (RuntimeException e) {
                tether.close();
                throw e;
            }
        });
        ShutdownLogManager.addShutdownHook("tether-shutdown", () -> {
            tether.close();
            server.close();
        });
    }

    /** An RSA or EC public key from a PEM {@code PUBLIC KEY} block. */
    static PublicKey readPublicKey(Path pem) throws IOException, GeneralSecurityException {
        String base64 = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        X509EncodedKeySpec spec = new X509EncodedKeySpec(Base64.getDecoder().decode(base64));
        try {
            return KeyFactory.getInstance("RSA").generatePublic(spec);
        } catch (GeneralSecurityException notRsa) {
            return KeyFactory.getInstance("EC").generatePublic(spec);
        }
    }
}
