package dev.tether.undertow.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class UndertowConnectionTest {

    @Test
    void shortReasonsAreKeptAsTheyAre() {
        assertThat(UndertowConnection.truncate("")).isEmpty();
        assertThat(UndertowConnection.truncate("x".repeat(123))).hasSize(123);
    }

    @Test
    void longReasonsAreCutAtACharacterBoundaryWithin123Bytes() {
        assertThat(UndertowConnection.truncate("x".repeat(200))).hasSize(123);
        String euros = UndertowConnection.truncate("€".repeat(50)); // 3 bytes each
        assertThat(euros).isEqualTo("€".repeat(41));
        String emoji = UndertowConnection.truncate("ab" + "😀".repeat(40)); // 4 bytes each
        assertThat(emoji.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(123);
        assertThat(emoji).isEqualTo("ab" + "😀".repeat(30));
    }

    @Test
    void onlyCodesACloseFrameMayCarryAreSendable() {
        for (int code : new int[] {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4002, 4500, 4999}) {
            assertThat(UndertowConnection.isSendable(code)).as("%d", code).isTrue();
        }
        for (int code : new int[] {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
            assertThat(UndertowConnection.isSendable(code)).as("%d", code).isFalse();
        }
    }
}
