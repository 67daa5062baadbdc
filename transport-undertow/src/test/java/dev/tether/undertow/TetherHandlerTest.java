package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.TetherConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TetherHandlerTest {

    private static final RecordingTether HUB = new RecordingTether(TetherConfig.builder()
            .heartbeatInterval(Duration.ofSeconds(25))
            .heartbeatTimeout(Duration.ofSeconds(20))
            .build());

    @Test
    void explicitIdleTimeoutNotAboveTheHeartbeatIntervalIsRefused() {
        TetherUndertowConfig config = TetherUndertowConfig.builder().idleTimeout(Duration.ofSeconds(25)).build();
        assertThatThrownBy(() -> new TetherHandler(HUB, config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("idleTimeout");
    }

    @Test
    void automaticAndLongerIdleTimeoutsAreAccepted() {
        assertThat(new TetherHandler(HUB).config().idleTimeout()).isZero();
        TetherUndertowConfig config = TetherUndertowConfig.builder().idleTimeout(Duration.ofSeconds(26)).build();
        assertThat(new TetherHandler(HUB, config).tether()).isSameAs(HUB);
    }

    @Test
    void nullArgumentsAreRefused() {
        assertThatThrownBy(() -> new TetherHandler(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("tether");
        assertThatThrownBy(() -> new TetherHandler(HUB, null)).isInstanceOf(NullPointerException.class)
                .hasMessage("config");
    }
}
