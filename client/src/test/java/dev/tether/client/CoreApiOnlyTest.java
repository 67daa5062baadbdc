package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.testing.MainSources;
import org.junit.jupiter.api.Test;

/**
 * The Java client depends on the core's API types and the JDK only (issue 14): no main source
 * names the engine's internals or its SPI.
 */
class CoreApiOnlyTest {

    @Test
    void mainSourcesUseNoCoreInternalsOrSpi() {
        assertThat(MainSources.naming("dev.tether.core.internal", "dev.tether.core.spi"))
                .as("main sources that name dev.tether.core.internal or dev.tether.core.spi").isEmpty();
    }
}
