package dev.tether.undertow.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which {@code Origin} a request may come from: its own origin (same host and port as its
 * {@code Host} header), the entries of an allow-list, or any origin if the host opted in. The
 * rules are documented on {@code TetherUndertowConfig.allowedOrigins()}; this class is where they
 * are implemented, for the native handler and the Socket.IO handler alike.
 *
 * <p>An origin is {@code scheme://host[:port]}, compared in lower case with its port made
 * explicit (80 for {@code http}, 443 for {@code https}; other schemes have no default port). An
 * allow-list entry may start its host with the wildcard label {@code *.}, which stands for one
 * or more labels: {@code https://*.example.com} matches {@code https://a.example.com} and
 * {@code https://a.b.example.com}, never {@code https://example.com} nor
 * {@code https://evil-example.com}.
 *
 * <p>Threading: immutable and thread-safe.
 */
public final class OriginPolicy {

    /** What a request's {@code Origin} header amounts to. */
    public enum Verdict {
        /** No {@code Origin} header: not a browser's request. Allowed. */
        NO_ORIGIN(true, false),
        /** The request's own origin (host and port of its {@code Host}). Allowed, no CORS needed. */
        SAME_ORIGIN(true, false),
        /** A well-formed foreign origin on the allow-list, or any with allow-any. Allowed, with CORS. */
        CROSS_ORIGIN(true, true),
        /**
         * With allow-any, an {@code Origin} that is not a well-formed origin, such as the opaque
         * {@code null}. Allowed, but never reflected in CORS headers.
         */
        ANY_ORIGIN(true, false),
        /** A well-formed foreign origin that is not allowed. Refused. */
        NOT_ALLOWED(false, false),
        /** Not a well-formed origin ({@code null} included), without allow-any. Refused. */
        MALFORMED(false, false);

        private final boolean allowed;
        private final boolean cors;

        Verdict(boolean allowed, boolean cors) {
            this.allowed = allowed;
            this.cors = cors;
        }

        /** Whether the request may proceed. */
        public boolean allowed() {
            return allowed;
        }

        /** Whether a response to it carries CORS headers that reflect its {@code Origin}. */
        public boolean cors() {
            return cors;
        }
    }

    private static final int NO_PORT = -1;

    private final Set<String> entries;
    private final Set<String> exact;
    private final List<Origin> wildcards;
    private final boolean allowAny;

    private OriginPolicy(Set<String> entries, Set<String> exact, List<Origin> wildcards, boolean allowAny) {
        this.entries = entries;
        this.exact = exact;
        this.wildcards = wildcards;
        this.allowAny = allowAny;
    }

    /**
     * The policy that allows the same origin, plus {@code allowed} (origins and wildcard
     * patterns), or every origin if {@code allowAny}.
     *
     * @throws IllegalArgumentException starting with {@code allowedOrigins}, naming the first
     *                                  malformed entry and what is wrong with it
     * @throws NullPointerException     if {@code allowed} or an entry is null
     */
    public static OriginPolicy of(Set<String> allowed, boolean allowAny) {
        Objects.requireNonNull(allowed, "allowedOrigins");
        Set<String> entries = new TreeSet<>();
        Set<String> exact = new TreeSet<>();
        List<Origin> wildcards = new ArrayList<>();
        for (String entry : allowed) {
            Objects.requireNonNull(entry, "allowedOrigins entry");
            Origin origin;
            try {
                origin = Origin.parse(entry, true);
            } catch (Malformed e) {
                throw new IllegalArgumentException("allowedOrigins entry \"" + entry.trim() + "\" " + e.getMessage()
                        + "; expected scheme://host[:port] such as https://app.example.com or https://*.example.com");
            }
            String text = origin.toString();
            if (entries.add(text)) {
                if (origin.wildcard()) {
                    wildcards.add(origin);
                } else {
                    exact.add(text);
                }
            }
        }
        return new OriginPolicy(Set.copyOf(entries), Set.copyOf(exact), List.copyOf(wildcards), allowAny);
    }

    /** The allow-list entries in their normal form (lower case, default port omitted). */
    public Set<String> entries() {
        return entries;
    }

    /** Whether every origin is allowed. */
    public boolean allowAny() {
        return allowAny;
    }

    /**
     * The verdict on a request with these headers.
     *
     * @param origin its {@code Origin} header, {@code null} if it has none
     * @param host   its {@code Host} header, {@code null} if it has none
     */
    public Verdict check(String origin, String host) {
        if (origin == null) {
            return Verdict.NO_ORIGIN;
        }
        Origin parsed;
        try {
            parsed = Origin.parse(origin, false);
        } catch (Malformed e) {
            return allowAny ? Verdict.ANY_ORIGIN : Verdict.MALFORMED;
        }
        if (sameOrigin(parsed, host)) {
            return Verdict.SAME_ORIGIN;
        }
        return allowAny || allowListed(parsed) ? Verdict.CROSS_ORIGIN : Verdict.NOT_ALLOWED;
    }

    private boolean allowListed(Origin origin) {
        if (exact.contains(origin.toString())) {
            return true;
        }
        for (Origin pattern : wildcards) {
            if (pattern.matches(origin)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code origin} names the host and port of the {@code Host} header. The scheme is not
     * compared, as {@code Host} carries none (behind a TLS-terminating proxy the request is
     * {@code http} while the page is {@code https}); a {@code Host} without a port stands for the
     * default port of the origin's scheme, which is the port a browser leaves out of both.
     */
    static boolean sameOrigin(Origin origin, String host) {
        if (host == null || origin.defaultPort() == NO_PORT) {
            return false; // only http and https pages are same-origin with an HTTP request
        }
        Authority authority;
        try {
            authority = Authority.parse(host.trim().toLowerCase(Locale.ROOT), false);
        } catch (Malformed e) {
            return false;
        }
        int port = authority.port() == NO_PORT ? origin.defaultPort() : authority.port();
        return origin.host().equals(authority.host()) && origin.port() == port;
    }

    /** A parse failure: expected for hostile input, so it costs no stack trace. */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /** Host (lower case, IPv6 in brackets) and port ({@link #NO_PORT} if absent) of an authority. */
    record Authority(String host, int port, boolean wildcard) {

        /** Parses {@code text}, already lower case: {@code host[:port]}, {@code *.} first if a pattern. */
        static Authority parse(String text, boolean pattern) throws Malformed {
            String host;
            String port = null;
            boolean ipv6 = text.startsWith("[");
            if (ipv6) {
                int close = text.indexOf(']');
                if (close < 0) {
                    throw new Malformed("has an IPv6 address without its closing ]");
                }
                host = text.substring(0, close + 1);
                if (close + 1 < text.length()) {
                    if (text.charAt(close + 1) != ':') {
                        throw new Malformed("has text after its IPv6 address");
                    }
                    port = text.substring(close + 2);
                }
                checkIpv6(host);
            } else {
                int colon = text.lastIndexOf(':');
                host = colon < 0 ? text : text.substring(0, colon);
                port = colon < 0 ? null : text.substring(colon + 1);
            }
            boolean wildcard = !ipv6 && pattern && host.startsWith("*.");
            if (wildcard) {
                host = host.substring(2);
            }
            if (!ipv6) {
                checkName(host, wildcard);
            }
            return new Authority(host, port == null ? NO_PORT : port(port), wildcard);
        }

        private static void checkIpv6(String host) throws Malformed {
            String address = host.substring(1, host.length() - 1);
            boolean colon = false;
            for (int i = 0; i < address.length(); i++) {
                char c = address.charAt(i);
                colon |= c == ':';
                if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.')) {
                    throw new Malformed("has an invalid IPv6 address");
                }
            }
            if (!colon) {
                throw new Malformed("has an invalid IPv6 address");
            }
        }

        private static void checkName(String host, boolean wildcard) throws Malformed {
            if (host.isEmpty()) {
                throw new Malformed("has no host");
            }
            int labels = 1;
            boolean emptyLabel = host.startsWith(".") || host.endsWith(".");
            for (int i = 0; i < host.length(); i++) {
                char c = host.charAt(i);
                if (c == '.') {
                    labels++;
                    emptyLabel |= i > 0 && host.charAt(i - 1) == '.';
                } else if (c == '*') {
                    throw new Malformed("has a wildcard that is not the whole first label (*.)");
                } else if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                    throw new Malformed("has an invalid character in its host: '" + c + "'");
                }
            }
            if (emptyLabel) {
                throw new Malformed("has an empty label in its host");
            }
            if (wildcard && labels < 2) {
                throw new Malformed("has a wildcard over a single label (such as *.com), which allows too much");
            }
        }

        private static int port(String digits) throws Malformed {
            if (digits.isEmpty() || digits.length() > 5) {
                throw new Malformed("has an invalid port");
            }
            int port = 0;
            for (int i = 0; i < digits.length(); i++) {
                char c = digits.charAt(i);
                if (c < '0' || c > '9') {
                    throw new Malformed("has an invalid port");
                }
                port = port * 10 + (c - '0');
            }
            if (port < 1 || port > 65535) {
                throw new Malformed("has a port outside 1 to 65535");
            }
            return port;
        }
    }

    /**
     * An origin, or a pattern when {@code wildcard} ({@code host} is then what follows {@code *.}),
     * its port explicit ({@link #NO_PORT} for a scheme without a default and no port given).
     */
    record Origin(String scheme, String host, int port, boolean wildcard) {

        /** Parses an {@code Origin} header ({@code pattern} false) or an allow-list entry. */
        static Origin parse(String text, boolean pattern) throws Malformed {
            String origin = text.trim().toLowerCase(Locale.ROOT);
            if (origin.equals("null")) {
                throw new Malformed("is the opaque origin of sandboxed frames and local files, which any site can send");
            }
            int separator = origin.indexOf("://");
            if (separator < 1) {
                throw new Malformed("has no scheme://");
            }
            String scheme = origin.substring(0, separator);
            for (int i = 0; i < scheme.length(); i++) {
                char c = scheme.charAt(i);
                boolean letter = c >= 'a' && c <= 'z';
                if (!(letter || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'))) {
                    throw new Malformed("has an invalid scheme");
                }
            }
            String rest = origin.substring(separator + 3);
            if (rest.indexOf('@') >= 0) {
                throw new Malformed("has userinfo (user@)");
            }
            if (rest.indexOf('/') >= 0) {
                throw new Malformed("has a path (an origin ends after the host or port, without /)");
            }
            if (rest.indexOf('?') >= 0) {
                throw new Malformed("has a query");
            }
            if (rest.indexOf('#') >= 0) {
                throw new Malformed("has a fragment");
            }
            Authority authority = Authority.parse(rest, pattern);
            int defaultPort = defaultPort(scheme);
            int port = authority.port() == NO_PORT ? defaultPort : authority.port();
            return new Origin(scheme, authority.host(), port, authority.wildcard());
        }

        static int defaultPort(String scheme) {
            return switch (scheme) {
                case "http" -> 80;
                case "https" -> 443;
                default -> NO_PORT;
            };
        }

        int defaultPort() {
            return defaultPort(scheme);
        }

        /** Whether this pattern matches {@code origin}: same scheme and port, one label or more before the host. */
        boolean matches(Origin origin) {
            String name = origin.host();
            return scheme.equals(origin.scheme()) && port == origin.port()
                    && name.length() > host.length() + 1
                    && name.endsWith(host) && name.charAt(name.length() - host.length() - 1) == '.';
        }

        /** The normal form: {@code scheme://host}, with {@code :port} unless it is the default. */
        @Override
        public String toString() {
            String text = scheme + "://" + (wildcard ? "*." : "") + host;
            return port == NO_PORT || port == defaultPort() ? text : text + ":" + port;
        }
    }
}
