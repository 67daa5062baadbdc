package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class TetherClientBuilderTest {

    private static final URI URI_OK = URI.create("ws://127.0.0.1:1/tether");

    @Test
    void buildValidatesAndNamesTheOffendingSetting() {
        assertThatThrownBy(() -> TetherClient.builder(URI.create("http://x/tether")).build())
                .hasMessageStartingWith("uri:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).ackEvery(0).build()).hasMessageStartingWith("ackEvery:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).ackDelay(Duration.ZERO).build())
                .hasMessageStartingWith("ackDelay:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).maxUnacked(0).build())
                .hasMessageStartingWith("maxUnacked:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK)
                .reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
                .hasMessageStartingWith("reconnectBackoff:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).connectTimeout(Duration.ofMillis(-1)).build())
                .hasMessageStartingWith("connectTimeout:");
    }

    @Test
    void headersTheHandshakeOwnsAreRefused() {
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).header("Sec-WebSocket-Key", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("header:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).header("upgrade", "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(TetherClient.builder(URI_OK).header("Origin", "https://a.example").build()).isNotNull();
    }

    @Test
    void anAuthorizationHeaderCannotBeSetWithATokenSource() {
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).header("authorization", "Basic x").bearerToken("t").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("header:");
        assertThatThrownBy(() -> TetherClient.builder(URI_OK).header("Authorization", "Basic x")
                .tokenSupplier(() -> CompletableFuture.completedFuture("t")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("header:");
        assertThat(TetherClient.builder(URI_OK).header("Authorization", "Basic x").build()).isNotNull();
    }

    @Test
    void anUnconnectedClientQueuesReliableMessagesAndDropsVolatileOnes() {
        TetherClient client = TetherClient.builder(URI_OK).build();
        try {
            assertThat(client.isConnected()).isFalse();
            assertThat(client.sessionId()).isNull();
            assertThat(client.send("e", Payload.EMPTY)).isEqualTo(SendResult.ENQUEUED);
            assertThat(client.sendVolatile("e", Payload.EMPTY)).isEqualTo(SendResult.DROPPED);
            assertThat(client.stats().unacknowledged()).isEqualTo(1);
            assertThat(client.stats().volatileDropped()).isEqualTo(1);
            assertThatThrownBy(() -> client.request("e", Payload.EMPTY, Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> client.subscribe("")).isInstanceOf(IllegalArgumentException.class);
        } finally {
            client.close();
        }
    }

    @Test
    void connectingToNothingFailsTheFutureAndLeavesTheClientUsable() throws Exception {
        TetherClient client = TetherClient.builder(URI_OK).build();
        try {
            assertThat(client.connect()).failsWithin(Duration.ofSeconds(10))
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(java.io.IOException.class);
            assertThat(client.isClosed()).isFalse();
        } finally {
            client.close();
        }
    }
}
