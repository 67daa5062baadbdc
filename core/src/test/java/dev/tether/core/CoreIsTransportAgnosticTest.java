package dev.tether.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The core must know nothing of a transport: DESIGN.md, architecture principles. */
class CoreIsTransportAgnosticTest {

    @Test
    void noCoreSourceImportsUndertowOrXnio() throws IOException {
        Path main = Path.of("src/main/java");
        assertThat(main).isDirectory();
        List<String> offenders;
        try (Stream<Path> files = Files.walk(main)) {
            offenders = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(CoreIsTransportAgnosticTest::mentionsTransport)
                    .map(Path::toString)
                    .collect(Collectors.toList());
        }
        assertThat(offenders).isEmpty();
    }

    @Test
    void undertowIsNotOnTheCoreClasspath() {
        assertThat(CoreIsTransportAgnosticTest.class.getClassLoader().getResource("io/undertow/Undertow.class")).isNull();
        assertThat(CoreIsTransportAgnosticTest.class.getClassLoader().getResource("org/xnio/XnioWorker.class")).isNull();
    }

    private static boolean mentionsTransport(Path file) {
        try {
            String text = Files.readString(file);
            return text.contains("io.undertow") || text.contains("org.xnio");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
