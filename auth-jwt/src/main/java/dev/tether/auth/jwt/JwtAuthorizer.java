package dev.tether.auth.jwt;

import dev.tether.core.spi.Authorizer;
import java.security.Principal;
import java.util.List;
import java.util.Objects;

/**
 * An {@link Authorizer} that reads the grants from the client's own token: a {@link JwtPrincipal}
 * may subscribe to (or publish on) the topics listed in a claim of its token, such as
 * {@code "channels": ["chat", "news.*"]}. Everything else is refused, and so is every principal
 * that is not a {@link JwtPrincipal}.
 *
 * <p>An entry matches a topic of exactly its name; an entry that ends with {@code *} matches every
 * topic that starts with what comes before the {@code *} ({@code news.*} matches
 * {@code news.sport}, and a lone {@code *} matches every topic). {@code *} anywhere else is an
 * ordinary character. A claim that is absent or not a list of strings grants nothing (see
 * {@link JwtPrincipal#stringList}).
 *
 * <p>Threading: immutable, thread-safe, allocation-light; safe on I/O threads.
 *
 * @since 0.1.0
 */
public final class JwtAuthorizer implements Authorizer {

    private final String subscribeClaim;
    private final String publishClaim;

    private JwtAuthorizer(String subscribeClaim, String publishClaim) {
        this.subscribeClaim = claimName("subscribeClaim", subscribeClaim);
        this.publishClaim = claimName("publishClaim", publishClaim);
    }

    /**
     * Lets a client subscribe and publish to the topics listed in {@code claim}, e.g.
     * {@code "channels"}.
     *
     * @param claim the claim that lists the topics
     * @return the authoriser
     */
    public static JwtAuthorizer channelsClaim(String claim) {
        return new JwtAuthorizer(claim, claim);
    }

    /**
     * Lets a client subscribe to the topics listed in {@code subscribeClaim}, publish to those in
     * {@code publishClaim}.
     *
     * @param subscribeClaim the claim that lists the topics a client may subscribe to
     * @param publishClaim the claim that lists the topics a client may publish to
     * @return the authoriser
     */
    public static JwtAuthorizer claims(String subscribeClaim, String publishClaim) {
        return new JwtAuthorizer(subscribeClaim, publishClaim);
    }

    @Override
    public boolean canSubscribe(Principal principal, String topic) {
        return granted(principal, subscribeClaim, topic);
    }

    @Override
    public boolean canPublish(Principal principal, String topic) {
        return granted(principal, publishClaim, topic);
    }

    private static boolean granted(Principal principal, String claim, String topic) {
        if (!(principal instanceof JwtPrincipal jwt) || topic == null) {
            return false;
        }
        List<String> grants = jwt.stringList(claim);
        for (String grant : grants) {
            if (matches(grant, topic)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(String grant, String topic) {
        if (grant.endsWith("*")) {
            return topic.startsWith(grant.substring(0, grant.length() - 1));
        }
        return grant.equals(topic);
    }

    private static String claimName(String field, String claim) {
        Objects.requireNonNull(claim, field);
        if (claim.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank");
        }
        return claim;
    }

    @Override
    public String toString() {
        return "JwtAuthorizer[subscribe=" + subscribeClaim + ", publish=" + publishClaim + "]";
    }
}
