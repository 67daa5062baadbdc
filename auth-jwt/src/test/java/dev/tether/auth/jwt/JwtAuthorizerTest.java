package dev.tether.auth.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.Principal;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Grants from a claim: exact names, trailing-{@code *} prefixes, nothing for anything else. */
class JwtAuthorizerTest {

    private static JwtPrincipal principal(Map<String, Object> claims) {
        return JwtPrincipal.of(claims);
    }

    @Test
    void grantsExactNamesAndTrailingStarPrefixesOnly() {
        JwtAuthorizer authorizer = JwtAuthorizer.channelsClaim("channels");
        JwtPrincipal alice = principal(Map.of("sub", "alice", "channels", List.of("chat", "news.*", "a*b")));

        assertThat(authorizer.canSubscribe(alice, "chat")).isTrue();
        assertThat(authorizer.canPublish(alice, "chat")).isTrue();
        assertThat(authorizer.canSubscribe(alice, "news.sport")).isTrue();
        assertThat(authorizer.canSubscribe(alice, "news.")).isTrue();
        assertThat(authorizer.canSubscribe(alice, "a*b")).isTrue();

        assertThat(authorizer.canSubscribe(alice, "chat2")).isFalse();
        assertThat(authorizer.canSubscribe(alice, "cha")).isFalse();
        assertThat(authorizer.canSubscribe(alice, "news")).isFalse();
        assertThat(authorizer.canSubscribe(alice, "axb")).isFalse(); // '*' inside is an ordinary character
        assertThat(authorizer.canPublish(alice, "admin")).isFalse();
    }

    @Test
    void aLoneStarGrantsEveryTopic() {
        JwtAuthorizer authorizer = JwtAuthorizer.channelsClaim("channels");
        JwtPrincipal admin = principal(Map.of("sub", "root", "channels", List.of("*")));
        assertThat(authorizer.canSubscribe(admin, "anything")).isTrue();
        assertThat(authorizer.canPublish(admin, "")).isTrue();
    }

    @Test
    void subscribeAndPublishCanComeFromDifferentClaims() {
        JwtAuthorizer authorizer = JwtAuthorizer.claims("read", "write");
        JwtPrincipal reader = principal(Map.of("sub", "r", "read", List.of("news"), "write", List.of("comments")));

        assertThat(authorizer.canSubscribe(reader, "news")).isTrue();
        assertThat(authorizer.canPublish(reader, "news")).isFalse();
        assertThat(authorizer.canPublish(reader, "comments")).isTrue();
        assertThat(authorizer.canSubscribe(reader, "comments")).isFalse();
    }

    @Test
    void grantsNothingWithoutTheClaimOrWithAMalformedOne() {
        JwtAuthorizer authorizer = JwtAuthorizer.channelsClaim("channels");
        assertThat(authorizer.canSubscribe(principal(Map.of("sub", "a")), "chat")).isFalse();
        assertThat(authorizer.canSubscribe(principal(Map.of("sub", "a", "channels", List.of("chat", 7))), "chat")).isFalse();
        assertThat(authorizer.canSubscribe(principal(Map.of("sub", "a", "channels", Map.of("chat", true))), "chat")).isFalse();
        // A single string is a list of one.
        assertThat(authorizer.canSubscribe(principal(Map.of("sub", "a", "channels", "chat")), "chat")).isTrue();
    }

    @Test
    void refusesPrincipalsThatAreNotFromAJwt() {
        JwtAuthorizer authorizer = JwtAuthorizer.channelsClaim("channels");
        Principal named = () -> "chat";
        assertThat(authorizer.canSubscribe(named, "chat")).isFalse();
        assertThat(authorizer.canPublish(named, "chat")).isFalse();
        assertThat(authorizer.canPublish(null, "chat")).isFalse();
    }

    @Test
    void claimNamesMustBeGiven() {
        assertThatThrownBy(() -> JwtAuthorizer.channelsClaim(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JwtAuthorizer.claims("read", null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("publishClaim");
    }
}
