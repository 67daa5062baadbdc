package dev.tether.socketio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.testing.MainSources;
import org.junit.jupiter.api.Test;

/**
 * The Socket.IO layer is built on the core's API and SPI alone (issue 14): no source file of this
 * module's main code names the engine's internals, so the engine can change without it.
 */
class SpiOnlyTest {

    @Test
    void mainSourcesUseNoCoreInternals() {
        assertThat(MainSources.naming("dev.tether.core.internal"))
                .as("main sources that name dev.tether.core.internal").isEmpty();
    }
}
