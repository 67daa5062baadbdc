package dev.tether.examples.chat;

import dev.tether.client.TetherClient;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Drives the chat server: connects a few clients, each sends one {@code message}, and checks that
 * every client got its {@code response} and every broadcast. Exits 0 on success, 1 otherwise.
 *
 * <p>Run it with {@code examples/run chat-client [clients]} while {@code examples/run chat} runs.
 * The server address comes from {@code TETHER_URL}, else {@code ws://127.0.0.1:$PORT/tether}.
 */
public final class ChatClient {

    private ChatClient() {
    }

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        String port = System.getenv().getOrDefault("PORT", "8080");
        URI uri = URI.create(System.getenv().getOrDefault("TETHER_URL", "ws://127.0.0.1:" + port + "/tether"));
        CountDownLatch responses = new CountDownLatch(clients);
        CountDownLatch broadcasts = new CountDownLatch(clients * clients);
        AtomicInteger echoes = new AtomicInteger();
        List<TetherClient> connected = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            TetherClient client = TetherClient.builder(uri).listener(new TetherClient.Listener() {
                @Override
                public void onMessage(TetherClient c, Message message) {
                    if (message.event().equals("response")) {
                        responses.countDown();
                    } else if (message.event().equals("chat")) {
                        broadcasts.countDown();
                    }
                }
            }).build();
            client.connect().get(10, TimeUnit.SECONDS);
            connected.add(client);
        }
        for (int i = 0; i < clients; i++) {
            connected.get(i).send("message", Payload.text("hello from client " + i));
        }
        for (TetherClient client : connected) {
            Payload echo = client.request("echo", Payload.text("ping"), Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
            if (echo.asText().equals("ping")) {
                echoes.incrementAndGet();
            }
        }
        boolean ok = responses.await(10, TimeUnit.SECONDS) & broadcasts.await(10, TimeUnit.SECONDS)
                & echoes.get() == clients;
        System.out.printf("%d clients: %d/%d responses, %d/%d broadcasts, %d/%d echoes%n", clients,
                clients - responses.getCount(), clients, clients * clients - broadcasts.getCount(),
                clients * clients, echoes.get(), clients);
        connected.forEach(TetherClient::close);
        System.exit(ok ? 0 : 1);
    }
}
