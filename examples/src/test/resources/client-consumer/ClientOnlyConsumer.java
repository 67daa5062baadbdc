import dev.tether.client.TetherClient;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A client-only application: compiled and run by the JDK's source launcher on tether-client's
 * runtime class path and nothing else (ClientOnlyConsumerIT). Asks the chat server to echo,
 * sends it a chat message, and prints what came back; exit status 0 when both arrived.
 */
public class ClientOnlyConsumer {
    public static void main(String[] args) throws Exception {
        CompletableFuture<String> response = new CompletableFuture<>();
        TetherClient client = TetherClient.builder(URI.create(args[0]))
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onMessage(TetherClient c, Message m) {
                        if (m.event().equals("response")) {
                            response.complete(m.payload().asText());
                        }
                    }
                }).build();
        try {
            client.connect().get(10, TimeUnit.SECONDS);
            String echo = client.request("echo", Payload.text("hello"), Duration.ofSeconds(10))
                    .get(10, TimeUnit.SECONDS).asText();
            client.send("message", Payload.text("from a client-only program"));
            System.out.println("echo " + echo);
            System.out.println("response " + response.get(10, TimeUnit.SECONDS));
        } finally {
            client.close();
        }
    }
}
