package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Java client depends on the core's API types and the JDK only (issue 14): no main source
 * names the engine's internals or its SPI.
 */
class CoreApiOnlyTest {

    @Test
    void mainSourcesUseNoCoreInternalsOrSpi() throws IOException {
        Path main = Path.of("src/main/java");
        assertThat(main).isDirectory();
        List<String> offenders;
        try (Stream<Path> files = Files.walk(main)) {
            offenders = files.filter(f -> f.toString().endsWith(".java"))
                    .filter(f -> {
                        String source = read(f);
                        return source.contains("dev.tether.core.internal") || source.contains("dev.tether.core.spi");
                    })
                    .map(Path::toString)
                    .toList();
        }
        assertThat(offenders).as("main sources that name dev.tether.core.internal or dev.tether.core.spi").isEmpty();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
