package dev.tether.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.Test;

class ClientEngineTest {

    @Test
    void reconnectsAfterResumableCodesOnly() {
        for (int code : new int[] {1001, 1002, 1006, 1011, 1012, 4002, 4003, 4008, 4009, 4012, 4013, 4499}) {
            assertThat(ClientEngine.reconnectable(code)).as("code %d", code).isTrue();
        }
        for (int code : new int[] {1000, 1003, 1007, 1008, 1009, 1010, 4010, 4500, 4501, 4505, 4506, 4999}) {
            assertThat(ClientEngine.reconnectable(code)).as("code %d", code).isFalse();
        }
    }

    @Test
    void readsRetryAfterAsSecondsOrAsAnHttpDate() {
        assertThat(ClientEngine.retryAfter("7")).isEqualTo(Duration.ofSeconds(7));
        assertThat(ClientEngine.retryAfter(" 0 ")).isEqualTo(Duration.ZERO);
        assertThat(ClientEngine.retryAfter("-1")).isNull();
        assertThat(ClientEngine.retryAfter("soon")).isNull();
        String inAMinute = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now().plusSeconds(60));
        assertThat(ClientEngine.retryAfter(inAMinute)).isBetween(Duration.ofSeconds(50), Duration.ofSeconds(61));
        String past = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now().minusSeconds(60));
        assertThat(ClientEngine.retryAfter(past)).isEqualTo(Duration.ZERO);
    }
}
