package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionIdsTest {

    private final SessionIds ids = new SessionIds(new SecureRandom());

    @Test
    void everyIdItIssuesIsRecognisedAndUnique() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1_000; i++) {
            String id = ids.next();
            assertThat(ids.issued(id)).as(id).isTrue();
            assertThat(id).matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");
            assertThat(seen.add(id)).as("unique").isTrue();
        }
    }

    @Test
    void anIdWithItsPrefixButAnotherBodyWasNeverIssued() {
        String id = ids.next();
        int dot = id.indexOf('.');
        String prefix = id.substring(0, dot + 1);
        char[] body = id.substring(dot + 1).toCharArray();
        for (int i = 0; i < body.length; i++) {
            char[] changed = body.clone();
            changed[i] = changed[i] == 'A' ? 'B' : 'A';
            String forged = prefix + new String(changed);
            assertThat(ids.hasPrefix(forged)).isTrue();
            assertThat(ids.issued(forged)).as(forged).isFalse();
        }
        assertThat(ids.issued(prefix)).isFalse();
        assertThat(ids.issued(prefix + "!!")).isFalse();
        assertThat(ids.issued(id + "A")).isFalse();
    }

    @Test
    void anotherHubsIdsAreNotItsOwnEvenWithTheSameBody() {
        SessionIds other = new SessionIds(new SecureRandom());
        String theirs = other.next();
        assertThat(ids.issued(theirs)).isFalse();
        assertThat(ids.hasPrefix(theirs)).isFalse();
    }
}
