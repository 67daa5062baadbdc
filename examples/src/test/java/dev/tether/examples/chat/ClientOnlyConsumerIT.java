package dev.tether.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: an application that depends on {@code tether-client} alone resolves no Undertow or
 * XNIO artifact, and talks to a server. The class path is the client module's runtime class path
 * as Maven resolved it ({@code client/target/runtime-classpath.txt}, written by its build) plus its
 * classes; the program is {@code client-consumer/ClientOnlyConsumer.java}, compiled and run by the
 * JDK's source launcher in a child JVM on exactly that class path, against the chat server here.
 */
class ClientOnlyConsumerIT {

    private static final Path CLIENT = Path.of("..", "client", "target");

    @Test
    void aClientOnlyApplicationResolvesNoUndertowNorXnioAndTalksToTheChatServer() throws Exception {
        Path listed = CLIENT.resolve("runtime-classpath.txt");
        assertThat(listed).as("written by the client module's build (mvn verify builds it first)").exists();
        List<String> classpath = new ArrayList<>();
        classpath.add(CLIENT.resolve("classes").toAbsolutePath().toString());
        classpath.addAll(Arrays.asList(Files.readString(listed, StandardCharsets.UTF_8).trim().split(File.pathSeparator)));
        assertThat(classpath).as("tether-client's runtime class path")
                .noneMatch(entry -> entry.toLowerCase().contains("undertow") || entry.toLowerCase().contains("xnio"))
                .anyMatch(entry -> entry.contains("core")); // tether-core, its API types

        ChatHandler handler = new ChatHandler();
        Tether tether = Tether.create(TetherConfig.builder().build(), handler);
        handler.bind(tether);
        try (TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build())) {
            Path program = Path.of("src", "test", "resources", "client-consumer", "ClientOnlyConsumer.java");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "-cp", String.join(File.pathSeparator, classpath),
                    program.toString(), "ws://127.0.0.1:" + server.port() + "/tether")
                    .redirectErrorStream(true).start();
            try {
                assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("the client program finished").isTrue();
                String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(child.exitValue()).as(output).isZero();
                assertThat(output).contains("echo hello").contains("response Message received!");
            } finally {
                child.destroyForcibly();
            }
        } finally {
            tether.close();
        }
    }
}
