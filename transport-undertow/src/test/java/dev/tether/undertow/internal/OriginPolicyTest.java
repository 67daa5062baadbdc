package dev.tether.undertow.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.undertow.internal.OriginPolicy.Verdict;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OriginPolicyTest {

    private static final OriginPolicy SAME_ORIGIN_ONLY = OriginPolicy.of(Set.of(), false);

    private static OriginPolicy allowing(String... entries) {
        return OriginPolicy.of(Set.of(entries), false);
    }

    @Test
    void withoutOriginARequestIsAllowedWhateverItsHost() {
        assertThat(SAME_ORIGIN_ONLY.check(null, "app.example.com")).isEqualTo(Verdict.NO_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check(null, null)).isEqualTo(Verdict.NO_ORIGIN);
        assertThat(Verdict.NO_ORIGIN.allowed()).isTrue();
        assertThat(Verdict.NO_ORIGIN.cors()).isFalse();
    }

    @Test
    void sameOriginIsHostAndPortWithDefaultPortsAndCaseInsensitiveHost() {
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com:8080", "app.example.com:8080"))
                .isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("HTTPS://App.Example.COM", "app.EXAMPLE.com")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("https://app.example.com", "app.example.com:443")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com:80", "app.example.com")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com", "app.example.com:80")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(Verdict.SAME_ORIGIN.cors()).isFalse();

        assertThat(SAME_ORIGIN_ONLY.check("https://app.example.com", "app.example.com:80")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com:8080", "app.example.com")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com", "app.example.com:8080")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://evil.example", "app.example.com")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com", null)).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com", "app.example.com:x")).isEqualTo(Verdict.NOT_ALLOWED);
    }

    @Test
    void theSchemeIsNotComparedButOnlyHttpAndHttpsPagesAreSameOrigin() {
        // Host has no scheme: a TLS-terminating proxy forwards an https page's request as http.
        assertThat(SAME_ORIGIN_ONLY.check("https://app.example.com", "app.example.com")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("http://app.example.com", "app.example.com")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("ftp://app.example.com:21", "app.example.com:21")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("chrome-extension://abcdef", "abcdef")).isEqualTo(Verdict.NOT_ALLOWED);
    }

    @Test
    void ipv6LiteralsAreComparedInBrackets() {
        assertThat(SAME_ORIGIN_ONLY.check("http://[::1]:8080", "[::1]:8080")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("https://[2001:DB8::1]", "[2001:db8::1]")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(SAME_ORIGIN_ONLY.check("http://[::1]:8080", "[::1]:8081")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://[::1]:8080", "::1:8080")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(SAME_ORIGIN_ONLY.check("http://[::1", "[::1]")).isEqualTo(Verdict.MALFORMED);
        assertThat(SAME_ORIGIN_ONLY.check("http://[::g]", "[::g]")).isEqualTo(Verdict.MALFORMED);
        assertThat(allowing("http://[::1]:3000").check("http://[::1]:3000", "example.com")).isEqualTo(Verdict.CROSS_ORIGIN);
    }

    @Test
    void theOpaqueNullOriginAndMalformedOnesAreRefused() {
        for (String origin : new String[] {"null", "", "app.example.com", "http://app.example.com/",
                "http://app.example.com/x", "http://app.example.com?q", "http://app.example.com#f",
                "http://u@app.example.com", "http://app.example.com:0", "http://app.example.com:65536",
                "http://app..example.com", "http://*.example.com", "http://a.example.com, http://b.example.com",
                "1http://app.example.com", "http://app.exa mple.com"}) {
            assertThat(SAME_ORIGIN_ONLY.check(origin, "app.example.com")).as(origin).isEqualTo(Verdict.MALFORMED);
        }
        assertThat(Verdict.MALFORMED.allowed()).isFalse();
    }

    @Test
    void exactEntriesMatchSchemeHostAndPortWithDefaults() {
        OriginPolicy policy = allowing("https://app.example.com", "http://localhost:8080");
        assertThat(policy.check("https://app.example.com", "api.example.com")).isEqualTo(Verdict.CROSS_ORIGIN);
        assertThat(policy.check("https://APP.example.com:443", "api.example.com")).isEqualTo(Verdict.CROSS_ORIGIN);
        assertThat(policy.check("http://localhost:8080", "api.example.com")).isEqualTo(Verdict.CROSS_ORIGIN);
        assertThat(Verdict.CROSS_ORIGIN.cors()).isTrue();

        assertThat(policy.check("http://app.example.com", "api.example.com")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("https://app.example.com:8443", "api.example.com")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("http://localhost", "api.example.com")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("https://app.example.com.evil.example", "api.example.com")).isEqualTo(Verdict.NOT_ALLOWED);
        // An allow-list adds to the same origin; it never takes it away.
        assertThat(policy.check("https://api.example.com", "api.example.com")).isEqualTo(Verdict.SAME_ORIGIN);
    }

    @Test
    void aWildcardStandsForOneOrMoreLabelsNeverForTheBareDomain() {
        OriginPolicy policy = allowing("https://*.example.com", "http://*.dev.example.org:3000");
        assertThat(policy.check("https://a.example.com", "api.test")).isEqualTo(Verdict.CROSS_ORIGIN);
        assertThat(policy.check("https://a.b.example.com", "api.test")).isEqualTo(Verdict.CROSS_ORIGIN);
        assertThat(policy.check("http://x.dev.example.org:3000", "api.test")).isEqualTo(Verdict.CROSS_ORIGIN);

        assertThat(policy.check("https://example.com", "api.test")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("https://evil-example.com", "api.test")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("https://a.example.com.evil.test", "api.test")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("http://a.example.com", "api.test")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("https://a.example.com:8443", "api.test")).isEqualTo(Verdict.NOT_ALLOWED);
        assertThat(policy.check("http://x.dev.example.org", "api.test")).isEqualTo(Verdict.NOT_ALLOWED);
    }

    @Test
    void allowAnyAllowsEveryOriginButReflectsOnlyWellFormedOnes() {
        OriginPolicy any = OriginPolicy.of(Set.of(), true);
        assertThat(any.allowAny()).isTrue();
        assertThat(any.check("https://evil.example", "app.example.com")).isEqualTo(Verdict.CROSS_ORIGIN);
        assertThat(any.check("https://app.example.com", "app.example.com")).isEqualTo(Verdict.SAME_ORIGIN);
        assertThat(any.check("null", "app.example.com")).isEqualTo(Verdict.ANY_ORIGIN);
        assertThat(Verdict.ANY_ORIGIN.allowed()).isTrue();
        assertThat(Verdict.ANY_ORIGIN.cors()).isFalse();
    }

    @Test
    void entriesAreNormalised() {
        assertThat(allowing(" HTTPS://App.Example.com:443 ", "http://*.Example.org:80", "http://localhost:8080",
                "https://app.example.com").entries())
                .containsExactlyInAnyOrder("https://app.example.com", "http://*.example.org", "http://localhost:8080");
    }

    @Test
    void malformedEntriesAreRefusedSayingWhy() {
        assertRefused("", "has no scheme://");
        assertRefused("app.example.com", "has no scheme://");
        assertRefused("https://app.example.com/", "has a path");
        assertRefused("https://app.example.com/app", "has a path");
        assertRefused("https://app.example.com?x=1", "has a query");
        assertRefused("https://app.example.com#top", "has a fragment");
        assertRefused("https://user:pw@app.example.com", "has userinfo");
        assertRefused("https://app.example.com:0", "port");
        assertRefused("https://app.example.com:99999", "port");
        assertRefused("https://app.example.com:https", "port");
        assertRefused("https://", "has no host");
        assertRefused("https://a*.example.com", "wildcard");
        assertRefused("https://app.*.example.com", "wildcard");
        assertRefused("https://*", "wildcard");
        assertRefused("https://*.com", "single label");
        assertRefused("https://*.[::1]", "invalid character");
        assertRefused("https://[::1", "IPv6");
        assertRefused("null", "opaque origin");
        assertRefused("https://app.example.com.", "empty label");
        assertThatThrownBy(() -> OriginPolicy.of(Set.of("https://app.example.com/"), false))
                .hasMessageContaining("\"https://app.example.com/\"")
                .hasMessageContaining("scheme://host[:port]");
    }

    @Test
    void nullEntriesAreRefused() {
        assertThatThrownBy(() -> OriginPolicy.of(null, false)).isInstanceOf(NullPointerException.class)
                .hasMessage("allowedOrigins");
        Set<String> withNull = new HashSet<>();
        withNull.add(null);
        assertThatThrownBy(() -> OriginPolicy.of(withNull, false)).isInstanceOf(NullPointerException.class)
                .hasMessage("allowedOrigins entry");
    }

    private static void assertRefused(String entry, String why) {
        assertThatThrownBy(() -> OriginPolicy.of(Set.of(entry), false))
                .as(entry)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("allowedOrigins entry")
                .hasMessageContaining(why);
    }
}
