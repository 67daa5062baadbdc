package dev.tether.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tether.core.Payload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} block of the repository's README.md is compiled here, in process, with this
 * module's test class path (javac -Xlint:all; any warning or error fails with the README line),
 * and the blocks marked {@code <!-- snippet: NAME -->} run together: the embedding server, the
 * Java client and its shutdown as one method body in README order, and the Socket.IO server
 * reached by a raw Engine.IO handshake over HTTP. Only README.md is covered: the Java blocks of
 * docs/CLUSTER.md and docs/METRICS.md are fragments with {@code ...} placeholders.
 */
public class ReadmeSnippetsIT {

    private static final Path README = Path.of("..", "README.md");
    private static final Pattern MARKER = Pattern.compile("<!--\\s*snippet:\\s*([a-z0-9-]+)\\s*-->");

    /** Imports every wrapper gets: the public API the README shows. */
    private static final String IMPORTS = String.join("\n",
            "import dev.tether.auth.jwt.*;",
            "import dev.tether.client.TetherClient;",
            "import dev.tether.core.*;",
            "import dev.tether.socketio.*;",
            "import dev.tether.undertow.*;",
            "import io.undertow.Handlers;",
            "import io.undertow.Undertow;",
            "import io.undertow.UndertowOptions;",
            "import java.net.URI;",
            "import java.security.PublicKey;",
            "import java.time.Duration;",
            "import java.util.concurrent.atomic.AtomicReference;",
            "import org.springframework.boot.SpringApplication;",
            "import org.springframework.boot.autoconfigure.SpringBootApplication;",
            "import org.springframework.context.annotation.Bean;",
            "");

    /**
     * Variables a fragment assumes, per snippet name; a snippet not listed assumes none.
     */
    private static final Map<String, String> PRELUDE = Map.of(
            "embedding-shutdown", "TetherClient client = TetherClient.builder(URI.create(\"ws://127.0.0.1:1/\")).build();\n"
                    + "Tether tether = Tether.create(TetherConfig.defaults(), new SessionHandler() { });\n"
                    + "Undertow server = Undertow.builder().build();\n",
            "jwt", "PublicKey issuerKey = java.security.KeyPairGenerator.getInstance(\"RSA\")"
                    + ".generateKeyPair().getPublic();\n"
                    + "SessionHandler handler = new SessionHandler() { };\n");

    /** The runnable scenarios: snippet names compiled into one method body, in README order. */
    private static final List<String> EMBEDDING = List.of("embedding-server", "java-client", "embedding-shutdown");

    /** Where a snippet's shutdown starts; the test's probe runs there, with the server up. */
    private static final String SHUTDOWN_COMMENT = "// ... and on shutdown";

    record Block(String name, int line, String code) {
    }

    @TempDir
    Path tmp;

    @Test
    void everyJavaBlockCompiles() throws Exception {
        List<Block> blocks = blocks();
        assertTrue(blocks.size() >= 6, "README java blocks found: " + blocks.size());
        List<String> problems = new ArrayList<>();
        for (Block b : blocks) {
            String prelude = PRELUDE.getOrDefault(b.name(), "");
            try {
                compile("ReadmeSnippet", List.of(b), prelude, "return null;");
            } catch (AssertionError e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    @Test
    void embeddingServerAnswersTheJavaClient() throws Exception {
        // The README's literal port 8080 is replaced by a free port at run time.
        int port = freePort();
        List<Block> scenario = select(EMBEDDING, "8080", port);
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream out = System.out;
        Object echo;
        System.setOut(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));  // the listener prints events
        try {
            echo = run("ReadmeEmbedding", scenario, "", "return echo;");
        } finally {
            System.setOut(out);
        }
        assertEquals(Payload.text("ping"), echo, "request(\"echo\") answer");
        String events = printed.toString(StandardCharsets.UTF_8);
        assertTrue(events.contains("response"), "the client got the server's response: " + events);
    }

    @Test
    void aBusyPortNamesHostAndPort() throws Exception {
        try (ServerSocket busy = new ServerSocket()) {
            busy.bind(new java.net.InetSocketAddress("0.0.0.0", 0));
            int port = busy.getLocalPort();
            dev.tether.core.Tether tether = dev.tether.core.Tether.create(dev.tether.core.TetherConfig.defaults(),
                    new dev.tether.core.SessionHandler() { });
            try {
                UncheckedIOException e = org.junit.jupiter.api.Assertions.assertThrows(UncheckedIOException.class,
                        () -> dev.tether.undertow.TetherServer.start(tether, port).close());
                assertTrue(e.getMessage().contains("0.0.0.0:" + port), e.getMessage());
            } finally {
                tether.close();
            }
        }
    }

    @Test
    void socketIoServerAnswersAnEngineIoHandshake() throws Exception {
        // The README's literal port 3000 is replaced by a free port at run time; the probe is a
        // raw Engine.IO v4 polling handshake (socket.io-client lives in transport-undertow's
        // test tree, NodeSocketIoClient, which examples cannot reuse without a test-jar).
        int port = freePort();
        List<Block> scenario = select(List.of("socketio-server"), "3000", port);
        Block b = scenario.get(0);
        assertTrue(b.code().contains(SHUTDOWN_COMMENT), "socketio-server snippet shows its shutdown");
        Block probed = new Block(b.name(), b.line(), b.code().replace(SHUTDOWN_COMMENT,
                "dev.tether.examples.ReadmeSnippetsIT.HANDSHAKE.set("
                        + "dev.tether.examples.ReadmeSnippetsIT.handshake(" + port + ")); " + SHUTDOWN_COMMENT));
        HANDSHAKE.set(null);
        run("ReadmeSocketIo", List.of(probed), "", "return null;");
        String open = HANDSHAKE.get();
        assertTrue(open != null && open.startsWith("0{") && open.contains("\"sid\""), "Engine.IO open packet: " + open);
    }

    /** What the Socket.IO probe received; set from inside the compiled snippet. */
    public static final java.util.concurrent.atomic.AtomicReference<String> HANDSHAKE =
            new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * A raw Engine.IO v4 polling handshake against {@code /socket.io/}.
     *
     * @param port the server's port
     * @return the response body (the open packet)
     * @throws Exception when the request fails
     */
    public static String handshake(int port) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/socket.io/?EIO=4&transport=polling"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private List<Block> select(List<String> names, String literalPort, int port) throws IOException {
        Map<String, Block> byName = blocks().stream()
                .filter(b -> !b.name().startsWith("line-"))
                .collect(Collectors.toMap(Block::name, b -> b));
        List<Block> out = new ArrayList<>();
        int last = -1;
        for (String n : names) {
            Block b = byName.get(n);
            assertTrue(b != null, "README has no snippet " + n);
            assertTrue(b.line() > last, "snippets in README order: " + names);
            last = b.line();
            out.add(new Block(n, b.line(), b.code().replace(literalPort, Integer.toString(port))));
        }
        assertTrue(out.stream().anyMatch(b -> b.code().contains(Integer.toString(port))),
                names + " show port " + literalPort);
        return out;
    }

    private static List<Block> blocks() throws IOException {
        List<String> lines = Files.readAllLines(README, StandardCharsets.UTF_8);
        List<Block> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().equals("```java")) {
                continue;
            }
            String name = "line-" + (i + 1);
            if (i > 0) {
                Matcher m = MARKER.matcher(lines.get(i - 1));
                if (m.find()) {
                    name = m.group(1);
                }
            }
            StringBuilder code = new StringBuilder();
            int j = i + 1;
            while (j < lines.size() && !lines.get(j).strip().equals("```")) {
                code.append(lines.get(j)).append('\n');
                j++;
            }
            assertTrue(j < lines.size(), "README line " + (i + 1) + ": unterminated java block");
            out.add(new Block(name, i + 2, code.toString()));   // line of the block's first code line
            i = j;
        }
        return out;
    }

    private Object run(String className, List<Block> blocks, String prelude, String ret) throws Exception {
        Path classes = compile(className, blocks, prelude, ret);
        ExecutorService runner = Executors.newSingleThreadExecutor();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            Method m = loader.loadClass(className).getMethod("run");
            Future<Object> result = runner.submit(() -> m.invoke(null));
            try {
                return result.get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() instanceof InvocationTargetException ite ? ite.getCause() : e.getCause();
                throw new AssertionError(className + " scenario failed", cause);
            }
        } finally {
            runner.shutdownNow();
        }
    }

    /** Compiles the blocks as one method body; fails with README line numbers on any diagnostic. */
    private Path compile(String className, List<Block> blocks, String prelude, String ret) throws IOException {
        StringBuilder src = new StringBuilder(IMPORTS);
        src.append("public final class ").append(className).append(" {\n")
                .append("public static Object run() throws Exception {\n")
                .append(prelude);
        int[] startLine = new int[blocks.size()];
        for (int k = 0; k < blocks.size(); k++) {
            startLine[k] = (int) src.chars().filter(c -> c == '\n').count() + 1;
            src.append(blocks.get(k).code());
        }
        int endLine = (int) src.chars().filter(c -> c == '\n').count() + 1;
        src.append(ret).append("\n}\n}\n");

        Path dir = Files.createDirectories(tmp.resolve(className + "-" + blocks.get(0).line()));
        Path file = dir.resolve(className + ".java");
        Files.writeString(file, src);
        Path out = Files.createDirectories(dir.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diags, Locale.ROOT, StandardCharsets.UTF_8)) {
            List<String> options = List.of("-Xlint:all,-path,-processing", "-proc:none",
                    "-classpath", System.getProperty("java.class.path"), "-d", out.toString());
            boolean ok = javac.getTask(null, fm, diags, options, null, fm.getJavaFileObjects(file.toFile())).call();
            List<String> problems = new ArrayList<>();
            for (Diagnostic<? extends JavaFileObject> d : diags.getDiagnostics()) {
                if (d.getKind() == Diagnostic.Kind.NOTE) {
                    continue;
                }
                int line = (int) d.getLineNumber();
                String where = "generated line " + line;
                for (int k = blocks.size() - 1; k >= 0; k--) {
                    if (line >= startLine[k] && line < (k + 1 < blocks.size() ? startLine[k + 1] : endLine)) {
                        where = "README.md:" + (blocks.get(k).line() + line - startLine[k])
                                + " (snippet " + blocks.get(k).name() + ")";
                        break;
                    }
                }
                problems.add(where + ": " + d.getKind() + ": " + d.getMessage(Locale.ROOT));
            }
            if (!ok || !problems.isEmpty()) {
                fail("README snippet does not compile cleanly:\n" + String.join("\n", problems));
            }
        }
        return out;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
