package dev.tether.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The module boundaries the build keeps by reading sources: which main sources of the module under
 * test name a package they must not use.
 */
public final class MainSources {

    private MainSources() {
    }

    /**
     * The {@code src/main/java} files of the current module whose text contains any of
     * {@code names}.
     *
     * @throws AssertionError if the module has no {@code src/main/java}
     */
    public static List<String> naming(String... names) {
        Path main = Path.of("src/main/java");
        if (!Files.isDirectory(main)) {
            throw new AssertionError("no src/main/java under " + Path.of("").toAbsolutePath());
        }
        try (Stream<Path> files = Files.walk(main)) {
            return files.filter(f -> f.toString().endsWith(".java"))
                    .filter(f -> Stream.of(names).anyMatch(read(f)::contains))
                    .map(Path::toString)
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
