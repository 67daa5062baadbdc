package dev.tether.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.client.TetherClient;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.micrometer.TetherMetrics;
import dev.tether.undertow.TetherServer;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * Acceptance 4 of issue 14: a real Spring Boot 4 application (Tomcat on an ephemeral port,
 * Actuator) with one {@link SessionHandler} bean; the Java client talks to Tether's own listener,
 * the health and metrics endpoints answer over HTTP, and closing the context drains the hub.
 */
class SpringBootStarterIT {

    private static final String[] QUIET = {
            "spring.main.banner-mode=off", "logging.level.root=warn",
            "server.address=127.0.0.1", "server.port=0",
            "tether.host=127.0.0.1", "tether.port=0", "tether.drain-timeout=5s",
            "management.endpoints.web.exposure.include=health,metrics",
            "management.endpoint.health.show-components=always"};

    /** The application: a handler that answers "echo" requests. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class EchoApplication {
        @Bean
        SessionHandler echo() {
            return new SessionHandler() {
                @Override
                public void onRequest(Session session, Message message, Responder responder) {
                    responder.reply(Payload.text("echo " + message.payload().asText()));
                }
            };
        }
    }

    /** No SessionHandler bean. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class NoHandlerApplication {
    }

    /** Its own hub. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class OwnTetherApplication {
        @Bean(destroyMethod = "close")
        Tether myTether() {
            return Tether.create(TetherConfig.builder().build(), new SessionHandler() { });
        }
    }

    @Test
    void theHubServesClientsReportsHealthAndMetricsAndDrainsWhenTheContextCloses() throws Exception {
        ConfigurableApplicationContext context = new SpringApplicationBuilder(EchoApplication.class)
                .properties(QUIET).run();
        TetherClient client = null;
        try {
            Tether tether = context.getBean(Tether.class);
            TetherServer server = context.getBean(TetherServer.class);
            assertThat(server.port()).isPositive();
            String web = "http://127.0.0.1:" + context.getEnvironment().getProperty("local.server.port");
            HttpClient http = HttpClient.newHttpClient();

            CompletableFuture<Integer> closeCode = new CompletableFuture<>();
            CompletableFuture<String> healthDuringDrain = new CompletableFuture<>();
            CompletableFuture<Tether.State> stateDuringDrain = new CompletableFuture<>();
            client = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                    .listener(new TetherClient.Listener() {
                        @Override
                        public void onDisconnected(TetherClient c, int code, String reason) {
                            if (closeCode.complete(code)) {
                                stateDuringDrain.complete(tether.state());
                                // The drain runs before the web server stops: Actuator still answers.
                                http.sendAsync(HttpRequest.newBuilder(URI.create(web + "/actuator/health")).build(),
                                        HttpResponse.BodyHandlers.ofString())
                                        .thenAccept(r -> healthDuringDrain.complete(r.statusCode() + " " + r.body()))
                                        .exceptionally(e -> {
                                            healthDuringDrain.completeExceptionally(e);
                                            return null;
                                        });
                            }
                        }
                    }).build();
            client.connect().get(10, TimeUnit.SECONDS);
            assertThat(client.request("echo", Payload.text("hello"), Duration.ofSeconds(10))
                    .get(10, TimeUnit.SECONDS).asText()).isEqualTo("echo hello");

            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(web + "/actuator/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body().replace(" ", "")).contains("\"tether\":{\"status\":\"UP\"", "\"state\":\"RUNNING\"",
                    "\"connections\":1");

            HttpResponse<String> connections = http.send(HttpRequest.newBuilder(
                    URI.create(web + "/actuator/metrics/" + TetherMetrics.CONNECTIONS)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(connections.statusCode()).as(connections.body()).isEqualTo(200);
            assertThat(connections.body().replace(" ", "")).contains("\"value\":1.0");
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get(TetherMetrics.RECEIVED).functionCounters()).isNotEmpty();

            context.close();
            assertThat(closeCode.get(10, TimeUnit.SECONDS)).isEqualTo(CloseCodes.SERVER_RESTART);
            assertThat(stateDuringDrain.get(10, TimeUnit.SECONDS)).isEqualTo(Tether.State.DRAINING);
            String during = healthDuringDrain.get(10, TimeUnit.SECONDS).replace(" ", "");
            assertThat(during).startsWith("503").contains("\"tether\":{\"status\":\"DOWN\"", "\"state\":\"DRAINING\"");
            assertThat(tether.state()).isEqualTo(Tether.State.CLOSED);
        } finally {
            if (client != null) {
                client.close();
            }
            context.close();
        }
    }

    @Test
    void withoutASessionHandlerBeanTheApplicationFailsToStartSayingWhy() {
        assertThatThrownBy(() -> new SpringApplicationBuilder(NoHandlerApplication.class)
                .web(WebApplicationType.NONE).properties(QUIET).run().close())
                .rootCause()
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Tether needs a bean of type dev.tether.core.SessionHandler");
    }

    @Test
    void theApplicationsOwnTetherBeanWins() {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(OwnTetherApplication.class)
                .web(WebApplicationType.NONE).properties(QUIET).run()) {
            assertThat(context.getBeansOfType(Tether.class)).containsOnlyKeys("myTether");
            assertThat(context.getBean(TetherServer.class).port()).isPositive();
        }
    }
}
