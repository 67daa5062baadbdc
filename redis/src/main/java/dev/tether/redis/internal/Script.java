package dev.tether.redis.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One Lua script of the broker, read from {@code dev/tether/redis/<name>.lua} with the shared
 * prelude {@code common.lua} in front, and its SHA-1 for {@code EVALSHA}. Immutable.
 */
public final class Script {

    private final String name;
    private final byte[] body;
    private final String sha;

    private Script(String name, byte[] body) {
        this.name = name;
        this.body = body;
        try {
            this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JVM", e);
        }
    }

    /** Loads script {@code name} (without {@code .lua}) with the prelude in front. */
    public static Script load(String name) {
        String text = resource("common") + "\n" + resource(name);
        return new Script(name, text.getBytes(StandardCharsets.UTF_8));
    }

    private static String resource(String name) {
        String path = "/dev/tether/redis/" + name + ".lua";
        try (InputStream in = Script.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("missing script resource " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read script resource " + path, e);
        }
    }

    /** The script's name, for logs. */
    public String name() {
        return name;
    }

    /** The script's SHA-1, lower-case hex, as {@code EVALSHA} takes it. */
    public String sha() {
        return sha;
    }

    /** The script's text as UTF-8; the caller must not modify it. */
    public byte[] body() {
        return body;
    }
}
