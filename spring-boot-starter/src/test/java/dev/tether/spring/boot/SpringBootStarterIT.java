package dev.tether.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import dev.tether.socketio.SocketIo;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Acceptance 4 of issue 14: a real Spring Boot 4 application (Tomcat on an ephemeral port,
 * Actuator, Logback) with one {@link SessionHandler} bean; the Java client talks to Tether's own
 * listener, the health and metrics endpoints answer over HTTP, closing the context drains the hub
 * and the drain is logged through SLF4J. A Socket.IO application gets the application's Jackson 2
 * {@code ObjectMapper} for the objects it emits.
 */
class SpringBootStarterIT {

    private static final String[] QUIET = {
            "spring.main.banner-mode=off", "logging.level.root=warn",
            "server.address=127.0.0.1", "server.port=0",
            "tether.host=127.0.0.1", "tether.port=0", "tether.drain-timeout=5s",
            "management.endpoints.web.exposure.include=health,metrics",
            "management.endpoint.health.show-details=always"};

    /** The application: a handler that answers "echo" requests, and the probe below. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class EchoApplication {
        @Bean
        HealthProbe healthProbe(Environment environment) {
            return new HealthProbe(environment);
        }

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

    /**
     * Reads Actuator's health when the context stops it: after {@link TetherListener} (a higher
     * phase stops first) and before the web server's graceful shutdown at
     * {@code DEFAULT_PHASE - 1024}.
     */
    static final class HealthProbe implements SmartLifecycle {
        final CompletableFuture<String> answer = new CompletableFuture<>();
        private final Environment environment;
        private volatile boolean running;

        HealthProbe(Environment environment) {
            this.environment = environment;
        }

        @Override
        public void start() {
            running = true;
        }

        @Override
        public void stop() {
            running = false;
            try {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + environment.getProperty("local.server.port") + "/actuator/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                answer.complete(r.statusCode() + " " + r.body());
            } catch (Exception e) {
                answer.completeExceptionally(e);
            }
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public int getPhase() {
            return TetherListener.PHASE - 256;
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
            TetherListener server = context.getBean(TetherListener.class);
            assertThat(server.port()).isPositive();
            String web = "http://127.0.0.1:" + context.getEnvironment().getProperty("local.server.port");
            HttpClient http = HttpClient.newHttpClient();

            CompletableFuture<Integer> closeCode = new CompletableFuture<>();
            client = TetherClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/tether"))
                    .listener(new TetherClient.Listener() {
                        @Override
                        public void onDisconnected(TetherClient c, int code, String reason) {
                            closeCode.complete(code);
                        }
                    }).build();
            client.connect().get(10, TimeUnit.SECONDS);
            assertThat(client.request("echo", Payload.text("hello"), Duration.ofSeconds(10))
                    .get(10, TimeUnit.SECONDS).asText()).isEqualTo("echo hello");

            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(web + "/actuator/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            JsonNode component = new ObjectMapper().readTree(health.body()).path("components").path("tether");
            assertThat(component.path("status").asText()).isEqualTo("UP");
            assertThat(component.path("details").path("state").asText()).isEqualTo("RUNNING");
            assertThat(component.path("details").path("connections").asInt()).isEqualTo(1);

            HttpResponse<String> connections = http.send(HttpRequest.newBuilder(
                    URI.create(web + "/actuator/metrics/" + TetherMetrics.CONNECTIONS)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(connections.statusCode()).as(connections.body()).isEqualTo(200);
            assertThat(connections.body().replace(" ", "")).contains("\"value\":1.0");
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get(TetherMetrics.RECEIVED).functionCounters()).isNotEmpty();

            // ... and java.util.logging through jul-to-slf4j, which Boot installs.
            java.util.logging.Logger.getLogger("dev.tether.test.jul").info("through jul-to-slf4j");
            assertThat(tetherLog()).anySatisfy(e -> assertThat(e.getLoggerName() + " " + e.getFormattedMessage())
                    .isEqualTo("dev.tether.test.jul through jul-to-slf4j"));

            HealthProbe probe = context.getBean(HealthProbe.class);
            context.close();
            assertThat(closeCode.get(10, TimeUnit.SECONDS)).isEqualTo(CloseCodes.SERVER_RESTART);
            // Asked by a lifecycle that stops after Tether's listener and before the web server:
            // the drain is over and Actuator still answers, with tether DOWN.
            String after = probe.answer.get(10, TimeUnit.SECONDS);
            assertThat(after).startsWith("503 ");
            JsonNode drained = new ObjectMapper().readTree(after.substring(4)).path("components").path("tether");
            assertThat(drained.path("status").asText()).isEqualTo("DOWN");
            assertThat(drained.path("details").path("state").asText()).isEqualTo("CLOSED");
            assertThat(tether.state()).isEqualTo(Tether.State.CLOSED);
            assertThat(server.isRunning()).isFalse();
            // docs/LOGGING.md: Tether's System.Logger reaches Logback through slf4j-jdk-platform-logging.
            assertThat(tetherLog()).anySatisfy(e -> assertThat(e.getFormattedMessage()).startsWith("TS011"))
                    .anySatisfy(e -> assertThat(e.getFormattedMessage()).startsWith("TS012"))
                    .allSatisfy(e -> assertThat(e.getLoggerName()).startsWith("dev.tether"));
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
    void anInvalidPropertyFailsTheStartWithTheBuildersMessage() {
        assertThatThrownBy(() -> new SpringApplicationBuilder(EchoApplication.class)
                .web(WebApplicationType.NONE).properties(QUIET).properties("tether.max-connections=0").run().close())
                .rootCause()
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxConnections");
    }

    @Test
    void theApplicationsOwnTetherBeanWins() {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(OwnTetherApplication.class)
                .web(WebApplicationType.NONE).properties(QUIET).run()) {
            assertThat(context.getBeansOfType(Tether.class)).containsOnlyKeys("myTether");
            assertThat(context.getBean(TetherListener.class).port()).isPositive();
        }
    }

    /** A Socket.IO application: its listener registers on the SocketIo bean while it is created. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class SocketIoApplication {
        @Component
        static class Greeter {
            Greeter(SocketIo io) {
                io.on("connection", socket -> socket.emit("greeting", new Greeting("hello", 1)));
            }
        }
    }

    /** An object the application emits; Boot's ObjectMapper is set to snake_case below. */
    record Greeting(String someText, int messageCount) {
    }

    @Test
    void aSocketIoApplicationEmitsObjectsMappedByTheApplicationsObjectMapper() throws Exception {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(SocketIoApplication.class)
                .web(WebApplicationType.NONE).properties(QUIET)
                .properties("tether.socketio.enabled=true", "spring.jackson2.property-naming-strategy=SNAKE_CASE")
                .run()) {
            assertThat(context.getBean(SocketIo.class).config().objectMapper())
                    .isSameAs(context.getBean(ObjectMapper.class));
            String base = "http://127.0.0.1:" + context.getBean(TetherListener.class).port()
                    + "/socket.io/?EIO=4&transport=polling";
            HttpClient http = HttpClient.newHttpClient();
            String open = get(http, base);
            assertThat(open).startsWith("0");
            String sid = new ObjectMapper().readTree(open.substring(1)).get("sid").asText();
            String polling = base + "&sid=" + sid;
            HttpResponse<String> connect = http.send(HttpRequest.newBuilder(URI.create(polling))
                    .POST(HttpRequest.BodyPublishers.ofString("40")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(connect.statusCode()).isEqualTo(200);
            StringBuilder received = new StringBuilder();
            for (int polls = 0; polls < 5 && !received.toString().contains("42["); polls++) {
                received.append(get(http, polling)).append('\u001e');
            }
            String event = List.of(received.toString().split("\u001e")).stream()
                    .filter(p -> p.startsWith("42[")).findFirst().orElseThrow();
            JsonNode args = new ObjectMapper().readTree(event.substring(2));
            assertThat(args.get(0).asText()).isEqualTo("greeting");
            assertThat(args.get(1).toString()).isEqualTo("{\"some_text\":\"hello\",\"message_count\":1}");
            // The client closes (Engine.IO close packet), so the drain has no one to wait for.
            assertThat(http.send(HttpRequest.newBuilder(URI.create(polling)).POST(HttpRequest.BodyPublishers.ofString("1"))
                    .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    private static String get(HttpClient http, String uri) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(uri)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return response.body();
    }

    /** What Tether logged into the test's Logback appender (logback-test.xml). */
    private static List<ILoggingEvent> tetherLog() {
        @SuppressWarnings("unchecked")
        ListAppender<ILoggingEvent> appender = (ListAppender<ILoggingEvent>)
                ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("dev.tether")).getAppender("TETHER");
        return List.copyOf(appender.list);
    }
}
