package dev.tether.benchmarks.load;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;
import org.HdrHistogram.HistogramLogWriter;

/**
 * The generator's raw histograms as an HdrHistogram log ({@link HistogramLogWriter} format: comment
 * lines starting with {@code #}, a start and base time, then one line per tagged interval
 * histogram). Every value is in microseconds. A log holds comment lines the generator reads back
 * itself ({@code #RESULT {json}}, {@code #STEP {json}}); {@link HistogramLogReader} skips them.
 *
 * <p>Not thread-safe; each call opens and closes its own file.
 */
final class HistogramLog {

    /** One histogram of the log: its tag and the wall-clock interval it covers (epoch milliseconds). */
    record Entry(String tag, Histogram histogram, long startMs, long endMs) {
    }

    private HistogramLog() {
    }

    /**
     * Writes {@code comments} (one {@code #} line each), the format version, start and base time
     * {@code baseTimeMs}, the legend and {@code entries} in order, to a temporary file renamed to
     * {@code file} (a reader never sees half a log).
     */
    static void write(Path file, List<String> comments, long baseTimeMs, List<Entry> entries) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (PrintStream out = new PrintStream(Files.newOutputStream(tmp), false, StandardCharsets.UTF_8)) {
            HistogramLogWriter writer = new HistogramLogWriter(out);
            for (String comment : comments) {
                writer.outputComment(comment);
            }
            writer.outputLogFormatVersion();
            writer.outputStartTime(baseTimeMs);
            writer.setBaseTime(baseTimeMs);
            writer.outputBaseTime(baseTimeMs);
            writer.outputLegend();
            for (Entry e : entries) {
                Histogram h = e.histogram().copy();
                h.setTag(e.tag());
                h.setStartTimeStamp(e.startMs());
                h.setEndTimeStamp(Math.max(e.startMs(), e.endMs()));
                writer.outputIntervalHistogram(h);
            }
            if (out.checkError()) {
                throw new IOException("writing " + tmp + " failed");
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Every interval histogram of the log, in order, each with its tag (null if untagged). */
    static List<Histogram> read(Path file) throws IOException {
        List<Histogram> all = new ArrayList<>();
        try (HistogramLogReader reader = new HistogramLogReader(file.toFile())) {
            for (int i = 0; i < 100_000 && reader.hasNext(); i++) {
                EncodableHistogram h = reader.nextIntervalHistogram();
                if (h instanceof Histogram histogram) {
                    all.add(histogram);
                } else if (h != null) {
                    throw new IOException(file + ": not an integer-valued histogram: " + h.getClass().getSimpleName());
                }
            }
        }
        return all;
    }

    /** The log's histograms added up by tag (every interval of a tag in one), in first-seen order. */
    static Map<String, Histogram> mergedByTag(Path file) throws IOException {
        Map<String, Histogram> byTag = new LinkedHashMap<>();
        for (Histogram h : read(file)) {
            byTag.computeIfAbsent(String.valueOf(h.getTag()), t -> new Histogram(3)).add(h);
        }
        return byTag;
    }

    /** The text after {@code #PREFIX } of the log's first such comment line, or null. */
    static String comment(Path file, String prefix) throws IOException {
        String start = "#" + prefix + " ";
        try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return lines.filter(l -> l.startsWith(start)).findFirst().map(l -> l.substring(start.length()))
                    .orElse(null);
        }
    }
}
