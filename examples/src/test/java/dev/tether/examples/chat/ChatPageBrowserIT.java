package dev.tether.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.tether.examples.ExampleProcess;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Acceptance 3 of issue 15: the chat page of {@code examples/run chat}, in headless Chromium. The
 * server runs as {@code examples/run chat} runs it, in its own JVM, and prints the page's URL; the
 * browser side is {@code client-js/test/chat-page/chat-page.mjs} (puppeteer-core on the machine's
 * Chromium): two pages exchange messages, one drops its connection with the page's button while
 * the other keeps sending, and the resumed page shows every message exactly once. The screenshot
 * is saved as {@code examples/target/chat-page.png}. Without Chromium the script fails and says
 * so; the test is never skipped.
 */
class ChatPageBrowserIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String PAGE = "Chat page: ";

    @Test
    void twoPagesChatAndTheDroppedOneResumesShowingEveryMessageOnce() throws Exception {
        Path clientJs = Path.of("..", "client-js").toAbsolutePath().normalize();
        Path script = clientJs.resolve("test/chat-page/chat-page.mjs");
        assertThat(clientJs.resolve("node_modules/puppeteer-core"))
                .as("client-js's npm packages: the client-js module's build installs them (mvn -B verify)")
                .isDirectory();
        Path screenshot = Path.of("target", "chat-page.png").toAbsolutePath();
        Files.deleteIfExists(screenshot);
        try (ExampleProcess chat = ExampleProcess.start(ChatServer.class, Map.of("PORT", "0", "HOST", "127.0.0.1"))) {
            String line = chat.awaitLine(l -> l.startsWith(PAGE + "http://localhost:"), WAIT);
            String url = line.substring(PAGE.length());
            assertThat(url).matches("http://localhost:\\d+/");

            File log = Files.createTempFile(Path.of("target"), "chat-page", ".log").toFile();
            Process node = new ProcessBuilder("node", script.toString(), url, screenshot.toString())
                    .directory(clientJs.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log)
                    .start();
            if (!node.waitFor(120, TimeUnit.SECONDS)) {
                // Chromium is the script's child: a killed script cannot close it, so kill it first.
                node.descendants().forEach(ProcessHandle::destroyForcibly);
                node.destroyForcibly();
                fail("chat-page.mjs did not finish within 120 s:\n" + Files.readString(log.toPath()));
            }
            String output = Files.readString(log.toPath(), StandardCharsets.UTF_8);
            assertThat(node.exitValue()).as("chat-page.mjs exit status; its output:\n%s", output).isZero();
            assertThat(output).contains("\"ok\":true");
            assertThat(screenshot).isRegularFile();
            assertThat(Files.size(screenshot)).isGreaterThan(1000);
        }
    }
}
