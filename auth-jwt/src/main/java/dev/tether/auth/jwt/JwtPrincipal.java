package dev.tether.auth.jwt;

import java.security.Principal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Who a verified JWT says the client is: {@link #getName()} is the token's {@code sub} claim, and
 * {@link #claims()} are all its claims as they were signed. Immutable and thread-safe.
 *
 * <p>Claims keep their JSON shapes: strings, numbers ({@code exp}, {@code nbf} and {@code iat}
 * in seconds since the epoch), booleans, lists and maps, all unmodifiable. JSON {@code null}
 * members of objects are left out.
 *
 * @since 0.1.0
 */
public final class JwtPrincipal implements Principal {

    private final String subject;
    private final Map<String, Object> claims;

    private JwtPrincipal(String subject, Map<String, Object> claims) {
        this.subject = subject;
        this.claims = claims;
    }

    /**
     * A principal from a token's claims, such as a test or another authenticator builds; the
     * {@link JwtAuthenticator} makes one only from a token it verified.
     *
     * @param claims the claims; {@code sub} must be a non-blank string
     * @return the principal
     * @throws IllegalArgumentException if {@code sub} is missing, blank or not a string
     */
    public static JwtPrincipal of(Map<String, ?> claims) {
        Objects.requireNonNull(claims, "claims");
        if (!(claims.get("sub") instanceof String sub) || sub.isBlank()) {
            throw new IllegalArgumentException("claims must have a non-blank string sub");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> frozen = (Map<String, Object>) freeze(claims);
        return new JwtPrincipal(sub, frozen);
    }

    /** {@return the token's subject, its {@code sub} claim} */
    @Override
    public String getName() {
        return subject;
    }

    /** {@return every claim of the token, unmodifiable} */
    public Map<String, Object> claims() {
        return claims;
    }

    /**
     * Reads a claim that is a string.
     *
     * @param claim the claim's name
     * @return the claim's value, or empty if it is absent or not a string
     */
    public Optional<String> string(String claim) {
        return claims.get(claim) instanceof String s ? Optional.of(s) : Optional.empty();
    }

    /**
     * Reads a claim that is a list of strings ({@code ["a","b"]}; a single string counts as a list
     * of one). Empty if the claim is absent or has any other shape, including a list with an
     * element that is not a string: a malformed claim grants nothing.
     *
     * @param claim the claim's name
     * @return the strings, or an empty list
     */
    public List<String> stringList(String claim) {
        Object value = claims.get(claim);
        if (value instanceof String s) {
            return List.of(s);
        }
        if (!(value instanceof List<?> list)) {
            return List.of();
        }
        List<String> strings = new ArrayList<>(list.size());
        for (Object e : list) {
            if (!(e instanceof String s)) {
                return List.of();
            }
            strings.add(s);
        }
        return List.copyOf(strings);
    }

    /** {@return the token's expiry, its {@code exp} claim, if it has one} */
    public Optional<Instant> expiresAt() {
        return claims.get("exp") instanceof Number n ? Optional.of(Instant.ofEpochSecond(n.longValue())) : Optional.empty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JwtPrincipal p && claims.equals(p.claims);
    }

    @Override
    public int hashCode() {
        return claims.hashCode();
    }

    /** The subject only: claims stay out of logs. */
    @Override
    public String toString() {
        return "JwtPrincipal[" + subject + "]";
    }

    private static Object freeze(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            map.forEach((k, v) -> {
                if (v != null) {
                    copy.put(String.valueOf(k), freeze(v));
                }
            });
            return Collections.unmodifiableMap(copy);
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            for (Object e : list) {
                copy.add(e == null ? null : freeze(e));
            }
            return Collections.unmodifiableList(copy);
        }
        return value;
    }
}
