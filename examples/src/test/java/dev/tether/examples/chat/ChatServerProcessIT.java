package dev.tether.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.client.TetherClient;
import dev.tether.core.CloseCodes;
import dev.tether.examples.ExampleProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The chat example as {@code examples/run chat} runs it, in its own JVM: on SIGTERM it drains and
 * the drain is in its output (JUL's own shutdown hook no longer silences it), and a busy port is
 * one line and exit status 1, not a stack trace.
 */
class ChatServerProcessIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String LISTENING = "Tether chat server listening on ws://127.0.0.1:";

    @Test
    void sigtermDrainsAndTheDrainIsLogged() throws Exception {
        try (ExampleProcess chat = ExampleProcess.start(ChatServer.class, Map.of("PORT", "0", "HOST", "127.0.0.1"))) {
            String listening = chat.awaitLine(line -> line.startsWith(LISTENING), WAIT);
            int port = Integer.parseInt(listening.substring(LISTENING.length(), listening.indexOf('/', LISTENING.length())));
            CompletableFuture<Integer> closedWith = new CompletableFuture<>();
            TetherClient client = TetherClient.builder(URI.create("ws://127.0.0.1:" + port + "/tether"))
                    .listener(new TetherClient.Listener() {
                        @Override
                        public void onDisconnected(TetherClient c, int code, String reason) {
                            closedWith.complete(code);
                        }
                    }).build();
            try {
                client.connect().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

                chat.terminate(); // SIGTERM to its PID

                assertThat(closedWith.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(CloseCodes.SERVER_RESTART);
                assertThat(chat.awaitExit(WAIT)).as("killed by SIGTERM: 128 + 15").isEqualTo(143);
            } finally {
                client.close();
            }
            List<String> output = chat.output();
            assertThat(output).as("the drain's start").anyMatch(line -> line.equals(
                    "INFO: TS011 draining: 1 connections and 1 sessions; waiting up to 10000 ms"));
            assertThat(output).as("the drain's end, with counts and duration").anyMatch(line -> line.matches(
                    "INFO: TS012 closed after \\d+ ms: 1 connections told to reconnect, 0 still open at the end of"
                            + " the drain closed with 0 messages unwritten or unacknowledged; 1 sessions ended"));
        }
    }

    @Test
    void aBusyPortIsOneLineAndExitStatus1() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
             ExampleProcess chat = ExampleProcess.start(ChatServer.class,
                     Map.of("PORT", Integer.toString(taken.getLocalPort()), "HOST", "127.0.0.1"))) {
            assertThat(chat.awaitExit(WAIT)).isEqualTo(1);
            List<String> output = chat.output();
            assertThat(output).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": address already in use");
            assertThat(output).as("no stack trace").noneMatch(line -> line.startsWith("\tat ") || line.contains("Exception"));
        }
    }
}
