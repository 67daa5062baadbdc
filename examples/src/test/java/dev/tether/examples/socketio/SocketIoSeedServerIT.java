package dev.tether.examples.socketio;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The seed example answers a stock {@code socket.io-client} (the one pinned for the transport's
 * tests, driven by its {@code driver.js}, with its default options: long-polling, then the
 * upgrade to WebSocket) exactly as the seed's Node server: {@code message} gets {@code response}
 * with {@code "Message received!"}, with its handlers on the hub's handler pool (the default) and on
 * the I/O thread ({@code TETHER_HANDLERS_ON_IO_THREAD=1}, the benchmarks' netty-socketio-like setting).
 */
class SocketIoSeedServerIT {

    private static final Path NODE_SOURCES = Path.of("..", "transport-undertow", "src", "test", "node").toAbsolutePath().normalize();
    /** The driver runs from this module's {@code target/}, so {@code mvn clean} removes its {@code node_modules}. */
    private static final Path NODE_DIR = Path.of("target", "node-socketio-client").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "handlers on the I/O thread: {0}")
    @ValueSource(booleans = {false, true})
    void stockClientGetsMessageReceived(boolean handlersOnIoThread) throws Exception {
        installClient();
        try (SocketIoSeedServer server = SocketIoSeedServer.start("127.0.0.1", 0, false, handlersOnIoThread)) {
            Process node = new ProcessBuilder("node", "driver.js", "http://127.0.0.1:" + server.port(), "1",
                    "{\"reconnection\":false}").directory(NODE_DIR.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                CompletableFuture<JsonNode> response = CompletableFuture.supplyAsync(() -> {
                    try (BufferedReader r = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
                        OutputStream in = node.getOutputStream();
                        String line;
                        while ((line = r.readLine()) != null) {
                            JsonNode e = JSON.readTree(line);
                            if (e.path("e").asText().equals("connect")) {
                                in.write("{\"cmd\":\"emit\",\"event\":\"message\",\"args\":[\"hello\"]}\n".getBytes(StandardCharsets.UTF_8));
                                in.flush();
                            } else if (e.path("e").asText().equals("event")) {
                                return e;
                            }
                        }
                        return null;
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                JsonNode e = response.get(30, TimeUnit.SECONDS);
                assertThat(e).as("an event from the server").isNotNull();
                assertThat(e.path("name").asText()).isEqualTo("response");
                assertThat(e.path("args").get(0).asText()).isEqualTo("Message received!");
                // Connection state recovery is on: like Socket.IO's, the last argument is the offset.
                assertThat(e.path("args")).hasSize(2);
                assertThat(e.path("args").get(1).asText()).matches("\\d+");
            } finally {
                node.destroyForcibly();
                node.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private static void installClient() throws Exception {
        Files.createDirectories(NODE_DIR);
        for (String file : new String[] {"driver.js", "package.json", "package-lock.json"}) {
            Files.copy(NODE_SOURCES.resolve(file), NODE_DIR.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (Files.isDirectory(NODE_DIR.resolve("node_modules").resolve("socket.io-client"))) {
            return;
        }
        Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(NODE_DIR.toFile())
                .redirectErrorStream(true).redirectOutput(NODE_DIR.resolve("npm-ci.log").toFile()).start();
        try {
            assertThat(npm.waitFor(300, TimeUnit.SECONDS) && npm.exitValue() == 0).as("npm ci in " + NODE_DIR).isTrue();
        } finally {
            npm.destroyForcibly();
        }
    }
}
