package dev.tether.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.testing.MainSources;
import org.junit.jupiter.api.Test;

/** The core must know nothing of a transport: DESIGN.md, architecture principles. */
class CoreIsTransportAgnosticTest {

    @Test
    void noCoreSourceImportsUndertowOrXnio() {
        assertThat(MainSources.naming("io.undertow", "org.xnio")).isEmpty();
    }

    @Test
    void undertowIsNotOnTheCoreClasspath() {
        assertThat(CoreIsTransportAgnosticTest.class.getClassLoader().getResource("io/undertow/Undertow.class")).isNull();
        assertThat(CoreIsTransportAgnosticTest.class.getClassLoader().getResource("org/xnio/XnioWorker.class")).isNull();
    }
}
