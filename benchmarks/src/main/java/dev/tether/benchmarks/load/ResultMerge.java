package dev.tether.benchmarks.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * {@code LoadGenerator merge FILE...}: one {@code RESULT} for a run that used several generator
 * processes at once, from their histogram logs ({@code --histogram-log}). Each log carries its
 * process's {@code RESULT} line as a comment and its histograms; the merged result has the same
 * fields: counts, rates and CPU summed, booleans or-ed, percentiles read from the histograms of
 * every process added together (exact, not averaged), the rest (scenario, protocol, seconds, and
 * the steps of an {@code echo-search}, which its processes already decided together) from the
 * first log, plus {@code generators}.
 */
final class ResultMerge {

    /** Fields every process reports alike; taken from the first log. */
    private static final Set<String> SAME = Set.of("scenario", "protocol", "seconds", "searchGenerators",
            "searchComplete", "searchBoundMs", "searchStartRate", "searchBestRate", "steps");
    /** {@code handshakeP99Ms} and the like: a percentile (or Max) of the histogram tagged {@code handshake_us}. */
    private static final Pattern PERCENTILE = Pattern.compile("(handshake|latency)(P50|P90|P99|P999|Max)Ms");

    private ResultMerge() {
    }

    /** Prints the merged {@code RESULT} line; exit status 2 if a log cannot be read or has no RESULT. */
    static void main(List<String> files) {
        if (files.isEmpty()) {
            System.err.println("usage: LoadGenerator merge FILE.hlog...");
            System.exit(2);
        }
        try {
            List<Path> paths = new ArrayList<>();
            for (String f : files) {
                paths.add(Path.of(f));
            }
            System.out.println("RESULT " + merge(paths));
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("merge: " + e.getMessage());
            System.exit(2);
        }
    }

    /** The merged RESULT JSON of these logs. */
    static String merge(List<Path> logs) throws IOException {
        Map<String, Histogram> histograms = new LinkedHashMap<>();
        List<Map<String, String>> results = new ArrayList<>();
        for (Path log : logs) {
            String json = HistogramLog.comment(log, "RESULT");
            if (json == null) {
                throw new IllegalArgumentException(log + " has no #RESULT line (not written by --histogram-log?)");
            }
            Map<String, String> result = fields(json);
            String scenario = unquote(result.get("scenario"));
            if (!Set.of("hold", "echo", "echo-search").contains(scenario)) {
                throw new IllegalArgumentException(log + ": merge takes hold, echo and echo-search runs, not "
                        + scenario + " (one publisher: one generator process)");
            }
            results.add(result);
            HistogramLog.mergedByTag(log).forEach((tag, h) -> histograms.computeIfAbsent(tag, t -> new Histogram(3)).add(h));
        }
        StringBuilder b = new StringBuilder("{");
        for (Map.Entry<String, String> e : results.get(0).entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            Matcher m = PERCENTILE.matcher(key);
            if (m.matches() && histograms.containsKey(m.group(1) + "_us")) {
                Histogram h = histograms.get(m.group(1) + "_us");
                value = number(switch (m.group(2)) {
                    case "Max" -> LoadResult.maxMs(h);
                    case "P999" -> LoadResult.ms(h, 99.9);
                    default -> LoadResult.ms(h, Double.parseDouble(m.group(2).substring(1)));
                });
            } else if (!SAME.contains(key) && (value.equals("true") || value.equals("false"))) {
                boolean any = false;
                for (Map<String, String> r : results) {
                    any |= "true".equals(r.get(key));
                }
                value = Boolean.toString(any);
            } else if (!SAME.contains(key) && value.matches("-?\\d+(\\.\\d+)?")) {
                boolean integral = value.indexOf('.') < 0;
                double sum = 0;
                for (Map<String, String> r : results) {
                    String v = r.get(key);
                    sum += v == null ? 0 : Double.parseDouble(v);
                }
                value = integral ? Long.toString(Math.round(sum)) : number(sum);
            }
            b.append('"').append(key).append("\":").append(value).append(',');
        }
        b.append("\"generators\":").append(logs.size());
        return b.append('}').toString();
    }

    private static String number(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String unquote(String s) {
        return s != null && s.length() >= 2 && s.startsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }

    /**
     * The top-level fields of a one-line JSON object as the generator writes it (string values
     * without escapes, numbers, booleans, arrays of flat objects), each value as its raw text.
     */
    static Map<String, String> fields(String json) {
        if (json == null || !json.startsWith("{") || !json.endsWith("}")) {
            throw new IllegalArgumentException("not a JSON object: " + json);
        }
        Map<String, String> fields = new LinkedHashMap<>();
        int i = 1;
        int end = json.length() - 1;
        while (i < end) {
            int keyEnd = json.indexOf('"', i + 1);
            if (json.charAt(i) != '"' || keyEnd < 0 || json.charAt(keyEnd + 1) != ':') {
                throw new IllegalArgumentException("unexpected JSON at " + i + ": " + json);
            }
            String key = json.substring(i + 1, keyEnd);
            int v = keyEnd + 2;
            int depth = 0;
            boolean inString = false;
            int j = v;
            for (; j < end; j++) {
                char c = json.charAt(j);
                if (c == '"') {
                    inString = !inString;
                } else if (!inString && (c == '[' || c == '{')) {
                    depth++;
                } else if (!inString && (c == ']' || c == '}')) {
                    depth--;
                } else if (!inString && depth == 0 && c == ',') {
                    break;
                }
            }
            fields.put(key, json.substring(v, j));
            i = j + 1;
        }
        return fields;
    }
}
