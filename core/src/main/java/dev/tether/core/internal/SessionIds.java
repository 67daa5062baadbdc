package dev.tether.core.internal;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Issues a hub's public session ids and later tells, without remembering any of them, whether
 * an id is one it issued: an expired session's id from one it never issued (PROTOCOL.md §3: reason
 * {@code expired} or {@code unknown}).
 *
 * <p>An id is {@code <prefix>.<random><tag>}: the prefix is random per hub instance (so a restart
 * or another server is told apart at once), the random part makes it unique, and the tag is an
 * HMAC of prefix and random part under a key that lives and dies with the hub. Forging a tag is
 * as hard as guessing 48 random bits. Ids are public (Socket.IO shows them to other sockets): the
 * resume token, not the id, is the secret; the tag only keeps the hub honest about what it issued.
 *
 * <p>Thread-safe.
 */
final class SessionIds {

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
    private static final String MAC = "HmacSHA256";
    private static final int RANDOM_BYTES = 9;
    private static final int TAG_BYTES = 6;

    private final SecureRandom random;
    private final String prefix;
    private final SecretKeySpec key;

    SessionIds(SecureRandom random) {
        this.random = random;
        byte[] p = new byte[6];
        random.nextBytes(p);
        this.prefix = ENCODER.encodeToString(p) + ".";
        byte[] k = new byte[32];
        random.nextBytes(k);
        this.key = new SecretKeySpec(k, MAC);
    }

    /** A new id; unique with overwhelming probability (the caller still checks its live table). */
    String next() {
        byte[] body = new byte[RANDOM_BYTES + TAG_BYTES];
        byte[] r = new byte[RANDOM_BYTES];
        random.nextBytes(r);
        System.arraycopy(r, 0, body, 0, RANDOM_BYTES);
        System.arraycopy(tag(r), 0, body, RANDOM_BYTES, TAG_BYTES);
        return prefix + ENCODER.encodeToString(body);
    }

    /** Whether this hub issued {@code id} (at any time since it started). */
    boolean issued(String id) {
        if (!id.startsWith(prefix)) {
            return false;
        }
        byte[] body;
        try {
            body = DECODER.decode(id.substring(prefix.length()));
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (body.length != RANDOM_BYTES + TAG_BYTES) {
            return false;
        }
        byte[] expected = Arrays.copyOf(tag(Arrays.copyOf(body, RANDOM_BYTES)), TAG_BYTES);
        return MessageDigest.isEqual(expected, Arrays.copyOfRange(body, RANDOM_BYTES, body.length));
    }

    /** Whether {@code id} carries this hub's prefix, issued or forged. */
    boolean hasPrefix(String id) {
        return id.startsWith(prefix);
    }

    private byte[] tag(byte[] randomPart) {
        try {
            Mac mac = Mac.getInstance(MAC); // a handshake's worth of work; Mac is not thread-safe
            mac.init(key);
            mac.update(prefix.getBytes(StandardCharsets.US_ASCII));
            return mac.doFinal(randomPart);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
        }
    }
}
