package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.SocketIo;
import dev.tether.testing.Await;
import dev.tether.testing.NodeSocketIoClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Admission control applies at the Engine.IO open, for both transports: over
 * {@code maxConnections} the open is refused with 503 and {@code Retry-After} before anything is
 * created, and the admitted session is unharmed; its slot comes back when it closes.
 */
class SocketIoAdmissionIT {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void openOverCapacityGets503AndTheAdmittedSessionCarriesOn() throws Exception {
        Tether tether = Tether.create(TetherConfig.builder().maxConnections(1).drainTimeout(Duration.ZERO).build(),
                new SessionHandler() { });
        SocketIo io = SocketIo.create(tether);
        io.on("connection", socket -> socket.on("ping-me", (args, ack) -> ack.send("pong")));
        try (TetherServer server = TetherServer.start(io, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
             NodeSocketIoClient node = NodeSocketIoClient.start("http://127.0.0.1:" + server.port(), 1,
                     "{\"transports\":[\"websocket\"]}")) {
            node.next("connect", WAIT);
            assertThat(tether.stats().connections()).isEqualTo(1);
            HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                    + "/socket.io/?EIO=4&transport=polling")).timeout(WAIT).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(tether.stats().refused()).isGreaterThanOrEqualTo(1);

            node.send("{\"cmd\":\"emit\",\"event\":\"ping-me\",\"ack\":true}");
            assertThat(node.next("ack", WAIT).path("args").toString()).isEqualTo("[\"pong\"]");
            node.send("{\"cmd\":\"disconnect\"}");
            Await.until(() -> tether.stats().connections() == 0, WAIT, "the slot is given back");
        } finally {
            tether.close();
        }
    }
}
