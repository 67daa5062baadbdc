package dev.tether.socketio;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Socket.IO layer is built on the core's API and SPI alone (issue 14): no source file of this
 * module's main code names the engine's internals, so the engine can change without it.
 */
class SpiOnlyTest {

    @Test
    void mainSourcesUseNoCoreInternals() throws IOException {
        Path main = Path.of("src/main/java");
        assertThat(main).isDirectory();
        List<String> offenders;
        try (Stream<Path> files = Files.walk(main)) {
            offenders = files.filter(f -> f.toString().endsWith(".java"))
                    .filter(f -> read(f).contains("dev.tether.core.internal"))
                    .map(Path::toString)
                    .toList();
        }
        assertThat(offenders).as("main sources that name dev.tether.core.internal").isEmpty();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
