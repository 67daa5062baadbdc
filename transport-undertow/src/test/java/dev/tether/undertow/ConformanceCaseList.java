package dev.tether.undertow;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Prints the case list of a {@code *ConformanceIT} class after its tests: one line per test, its
 * display name (which starts with the RFC 6455 section, as in {@code "§5.2 RSV bit set without
 * an extension → 1002"}) and its outcome, ordered by section, under the class's display name
 * (for a suite run against several endpoints, one table per endpoint). Register it as a static
 * {@code @RegisterExtension} field; one instance may serve several classes (a field of an abstract
 * suite its subclasses inherit), each gets its own table.
 */
final class ConformanceCaseList implements TestWatcher, AfterAllCallback {

    private static final Pattern SECTION = Pattern.compile("^§(\\d+)(?:\\.(\\d+))?(?:\\.(\\d+))?");

    private record Case(Class<?> testClass, String name, String outcome) {
    }

    private final List<Case> cases = new ArrayList<>();

    @Override
    public synchronized void testSuccessful(ExtensionContext context) {
        cases.add(new Case(context.getRequiredTestClass(), context.getDisplayName(), "pass"));
    }

    @Override
    public synchronized void testFailed(ExtensionContext context, Throwable cause) {
        cases.add(new Case(context.getRequiredTestClass(), context.getDisplayName(), "FAIL"));
    }

    @Override
    public synchronized void testAborted(ExtensionContext context, Throwable cause) {
        cases.add(new Case(context.getRequiredTestClass(), context.getDisplayName(), "aborted"));
    }

    @Override
    public synchronized void testDisabled(ExtensionContext context, Optional<String> reason) {
        cases.add(new Case(context.getRequiredTestClass(), context.getDisplayName(), "disabled"));
    }

    @Override
    public synchronized void afterAll(ExtensionContext context) {
        List<Case> sorted = new ArrayList<>();
        for (Case c : cases) {
            if (c.testClass() == context.getRequiredTestClass()) {
                sorted.add(c);
            }
        }
        cases.removeAll(sorted);
        sorted.sort(Comparator.comparingLong((Case c) -> sectionKey(c.name())).thenComparing(Case::name));
        StringBuilder table = new StringBuilder()
                .append("\nRFC 6455 case list: ").append(context.getDisplayName()).append('\n')
                .append(String.format("| %-7s | %s%n", "result", "RFC section · case → asserted code or status"));
        for (Case c : sorted) {
            table.append(String.format("| %-7s | %s%n", c.outcome(), c.name()));
        }
        long passed = sorted.stream().filter(c -> c.outcome().equals("pass")).count();
        table.append(String.format("%d cases, %d passed%n", sorted.size(), passed));
        System.out.print(table);
    }

    /** Orders §4.2.1 before §5.2 before §10.4; names without a section go last. */
    private static long sectionKey(String name) {
        Matcher m = SECTION.matcher(name);
        if (!m.find()) {
            return Long.MAX_VALUE;
        }
        long key = 0;
        for (int i = 1; i <= 3; i++) {
            key = key * 1000 + (m.group(i) == null ? 0 : Long.parseLong(m.group(i)));
        }
        return key;
    }
}
