package dev.tether.undertow;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Walks the object graph reachable from a root through instance fields, for tests that assert
 * what a long-lived object does not keep alive. Fields of JDK classes cannot be read reflectively,
 * so JDK collections and maps are walked through their public API and other JDK objects are
 * leaves; char sequences are read as text. Static fields, classes, class loaders and threads are
 * not followed.
 */
final class Reachability {

    private final Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    private final int limit;

    private Reachability(int limit) {
        this.limit = limit;
    }

    /** The text values reachable from {@code root} that match {@code predicate}. */
    static List<String> strings(Object root, Predicate<String> predicate) {
        List<String> found = new ArrayList<>();
        new Reachability(2_000_000).walk(root, o -> {
            if (o instanceof CharSequence text && predicate.test(text.toString())) {
                found.add(text.toString());
            }
        });
        return found;
    }

    /** The instances of {@code type} reachable from {@code root}. */
    static <T> List<T> instances(Object root, Class<T> type) {
        List<T> found = new ArrayList<>();
        new Reachability(2_000_000).walk(root, o -> {
            if (type.isInstance(o)) {
                found.add(type.cast(o));
            }
        });
        return found;
    }

    private interface Visitor {
        void visit(Object o);
    }

    private void walk(Object root, Visitor visitor) {
        offer(root);
        while (!queue.isEmpty()) {
            if (seen.size() > limit) {
                throw new IllegalStateException("object graph larger than " + limit);
            }
            Object o = queue.poll();
            visitor.visit(o);
            expand(o);
        }
    }

    private void offer(Object o) {
        if (o != null && seen.add(o)) {
            queue.add(o);
        }
    }

    private void expand(Object o) {
        Class<?> type = o.getClass();
        if (o instanceof CharSequence || o instanceof Class || o instanceof ClassLoader || o instanceof Thread
                || o instanceof Number || o instanceof Boolean || o instanceof Enum) {
            return;
        }
        if (type.isArray()) {
            if (!type.getComponentType().isPrimitive()) {
                for (int i = 0, n = Array.getLength(o); i < n; i++) {
                    offer(Array.get(o, i));
                }
            }
            return;
        }
        if (isJdk(type)) {
            try {
                if (o instanceof Collection<?> c) {
                    for (Object e : c.toArray()) {
                        offer(e);
                    }
                } else if (o instanceof Map<?, ?> m) {
                    for (Map.Entry<?, ?> e : Map.copyOf(nonNull(m)).entrySet()) {
                        offer(e.getKey());
                        offer(e.getValue());
                    }
                } else if (o instanceof java.util.concurrent.atomic.AtomicReference<?> r) {
                    offer(r.get());
                }
            } catch (RuntimeException e) {
                // A collection that refuses iteration (e.g. concurrently modified): a leaf then.
            }
            return;
        }
        for (Class<?> c = type; c != null && !isJdk(c); c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    offer(f.get(o));
                } catch (RuntimeException | IllegalAccessException e) {
                    // Not readable from here: treated as a leaf.
                }
            }
        }
    }

    private static Map<?, ?> nonNull(Map<?, ?> m) {
        Map<Object, Object> copy = new java.util.HashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (e.getKey() != null && e.getValue() != null) {
                copy.put(e.getKey(), e.getValue());
            }
        }
        return copy;
    }

    private static boolean isJdk(Class<?> c) {
        String name = c.getName();
        return name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("jdk.")
                || name.startsWith("sun.") || name.startsWith("com.sun.");
    }
}
