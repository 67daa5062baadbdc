package dev.tether.core.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.Principal;
import org.junit.jupiter.api.Test;

class AuthorizerTest {

    private static final Principal ALICE = () -> "alice";

    @Test
    void serverOnlyRefusesEveryClientSubscribeAndPublish() {
        assertThat(Authorizer.SERVER_ONLY.canSubscribe(ALICE, "room")).isFalse();
        assertThat(Authorizer.SERVER_ONLY.canPublish(ALICE, "room")).isFalse();
        assertThat(Authorizer.SERVER_ONLY).hasToString("Authorizer.SERVER_ONLY");
    }

    @Test
    void anImplementationGrantsOnlyWhatItOverrides() {
        Authorizer subscribeOnly = new Authorizer() {
            @Override
            public boolean canSubscribe(Principal principal, String topic) {
                return true;
            }
        };
        assertThat(subscribeOnly.canSubscribe(ALICE, "room")).isTrue();
        assertThat(subscribeOnly.canPublish(ALICE, "room")).isFalse();
    }

    @Test
    void allowAllGrantsEverything() {
        Authorizer all = Authorizer.allowAll();
        assertThat(all.canSubscribe(ALICE, "sio:/#someone-else")).isTrue();
        assertThat(all.canPublish(null, "anything")).isTrue();
        assertThat(all).hasToString("Authorizer.allowAll()");
    }

    @Test
    void topicsGrantsByTopicNameWhateverThePrincipal() {
        Authorizer a = Authorizer.topics(t -> t.startsWith("public/"), "public/chat"::equals);
        assertThat(a.canSubscribe(ALICE, "public/news")).isTrue();
        assertThat(a.canSubscribe(ALICE, "private/news")).isFalse();
        assertThat(a.canPublish(ALICE, "public/chat")).isTrue();
        assertThat(a.canPublish(ALICE, "public/news")).isFalse();
        assertThatThrownBy(() -> Authorizer.topics(null, t -> true)).isInstanceOf(NullPointerException.class);
    }
}
