package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.undertow.server.HttpHandler;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TetherUndertowConfigTest {

    @Test
    void defaultsAreTheDocumentedConstants() {
        TetherUndertowConfig c = TetherUndertowConfig.defaults();
        assertThat(c.path()).isEqualTo(TetherUndertowConfig.DEFAULT_PATH).isEqualTo("/tether");
        assertThat(c.allowedOrigins()).isEmpty();
        assertThat(c.allowAnyOrigin()).isFalse();
        assertThat(c.host()).isEqualTo("0.0.0.0");
        assertThat(c.port()).isEqualTo(TetherUndertowConfig.DEFAULT_PORT);
        assertThat(c.ioThreads()).isZero();
        assertThat(c.backlog()).isEqualTo(4096);
        assertThat(c.requestParseTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.idleTimeout()).isEqualTo(Duration.ZERO);
        assertThat(c.closeTimeout()).isEqualTo(TetherUndertowConfig.DEFAULT_CLOSE_TIMEOUT);
        assertThat(c.maxHeaderBytes()).isEqualTo(TetherUndertowConfig.DEFAULT_MAX_HEADER_BYTES);
        assertThat(c.maxPingsPerMinute()).isEqualTo(TetherUndertowConfig.DEFAULT_MAX_PINGS_PER_MINUTE).isEqualTo(300);
        assertThat(c.writeWaterMark()).isEqualTo(WriteWaterMark.DEFAULT);
        assertThat(WriteWaterMark.DEFAULT.highBytes()).isEqualTo(256 * 1024);
    }

    @Test
    void originsAreCopiedAndNormalised() {
        Set<String> origins = new HashSet<>(Set.of("https://App.Example.com:443 ", "https://*.Example.net"));
        TetherUndertowConfig c = TetherUndertowConfig.builder().allowedOrigins(origins).build();
        origins.add("https://late.example.com");
        assertThat(c.allowedOrigins()).containsExactlyInAnyOrder("https://app.example.com", "https://*.example.net");
        assertThatThrownBy(() -> c.allowedOrigins().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void malformedOriginsAreRefusedWhenBuiltSayingWhy() {
        assertThatThrownBy(() -> TetherUndertowConfig.builder().allowedOrigins(Set.of("https://app.example.com/")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("allowedOrigins entry \"https://app.example.com/\" has a path");
        assertThatThrownBy(() -> TetherUndertowConfig.builder().allowedOrigins(Set.of("https://app.*.example.com")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("wildcard");
    }

    @Test
    void allowAnyOriginIsAnExplicitOptInThatExcludesAnAllowList() {
        assertThat(TetherUndertowConfig.builder().allowAnyOrigin(true).build().allowAnyOrigin()).isTrue();
        assertThatThrownBy(() -> TetherUndertowConfig.builder().allowAnyOrigin(true)
                .allowedOrigins(Set.of("https://app.example.com")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("allowAnyOrigin");
    }

    @Test
    void builderKeepsNoLinkToTheBuiltConfig() {
        TetherUndertowConfig.Builder b = TetherUndertowConfig.builder().port(1234);
        TetherUndertowConfig c = b.build();
        b.port(4321);
        assertThat(c.port()).isEqualTo(1234);
    }

    @Test
    void invalidValuesAreRefusedNamingTheField() {
        assertRefused(TetherUndertowConfig.builder().path("tether"), "path");
        assertRefused(TetherUndertowConfig.builder().allowedOrigins(Set.of(" ")), "allowedOrigins");
        assertRefused(TetherUndertowConfig.builder().allowedOrigins(Set.of("null")), "allowedOrigins");
        assertRefused(TetherUndertowConfig.builder().host(" "), "host");
        assertRefused(TetherUndertowConfig.builder().port(-1), "port");
        assertRefused(TetherUndertowConfig.builder().port(65536), "port");
        assertRefused(TetherUndertowConfig.builder().ioThreads(-1), "ioThreads");
        assertRefused(TetherUndertowConfig.builder().backlog(0), "backlog");
        assertRefused(TetherUndertowConfig.builder().requestParseTimeout(Duration.ZERO), "requestParseTimeout");
        assertRefused(TetherUndertowConfig.builder().requestParseTimeout(Duration.ofDays(30)), "requestParseTimeout");
        assertRefused(TetherUndertowConfig.builder().idleTimeout(Duration.ofSeconds(-1)), "idleTimeout");
        assertRefused(TetherUndertowConfig.builder().closeTimeout(Duration.ZERO), "closeTimeout");
        assertRefused(TetherUndertowConfig.builder().maxHeaderBytes(100), "maxHeaderBytes");
        assertRefused(TetherUndertowConfig.builder().maxPingsPerMinute(-1), "maxPingsPerMinute");
        assertThat(TetherUndertowConfig.builder().maxPingsPerMinute(0).build().maxPingsPerMinute()).isZero();
    }

    @Test
    void missingValuesAreRefusedNamingTheField() {
        assertThatThrownBy(() -> TetherUndertowConfig.builder().path(null).build())
                .isInstanceOf(NullPointerException.class).hasMessageContaining("path");
        assertThatThrownBy(() -> TetherUndertowConfig.builder().idleTimeout(null).build())
                .isInstanceOf(NullPointerException.class).hasMessageContaining("idleTimeout");
        assertThatThrownBy(() -> TetherUndertowConfig.builder().writeWaterMark(null).build())
                .isInstanceOf(NullPointerException.class).hasMessageContaining("writeWaterMark");
    }

    @Test
    void healthPathIsOffByDefaultAndMustBeAnotherAbsolutePath() {
        assertThat(TetherUndertowConfig.defaults().healthPath()).isNull();
        assertThat(TetherUndertowConfig.builder().healthPath("/health").build().healthPath()).isEqualTo("/health");
        assertRefused(TetherUndertowConfig.builder().healthPath("health"), "healthPath");
        assertRefused(TetherUndertowConfig.builder().healthPath("/tether"), "healthPath");
        assertRefused(TetherUndertowConfig.builder().healthPath("/socket.io/"), "healthPath");
    }

    @Test
    void routesKeepTheirOrderAndAreValidatedWhenBuilt() {
        HttpHandler a = exchange -> { };
        HttpHandler b = exchange -> { };
        TetherUndertowConfig.Builder builder = TetherUndertowConfig.builder().route("/b", b).route("/a", a);
        TetherUndertowConfig c = builder.build();
        assertThat(c.routes()).containsExactly(Map.entry("/b", b), Map.entry("/a", a));
        assertThatThrownBy(() -> c.routes().put("/c", a)).isInstanceOf(UnsupportedOperationException.class);
        builder.route("/c", a);
        assertThat(c.routes()).as("the built config keeps no link to the builder").hasSize(2);
        assertThat(TetherUndertowConfig.defaults().routes()).isEmpty();

        assertRefused(TetherUndertowConfig.builder().route("metrics", a), "route");
        assertRefused(TetherUndertowConfig.builder().route("/tether", a), "route");
        assertRefused(TetherUndertowConfig.builder().path("/ws").route("/ws", a), "route");
        assertRefused(TetherUndertowConfig.builder().route("/socket.io/", a), "route");
        assertRefused(TetherUndertowConfig.builder().route("/m", a).route("/m", b), "route /m is taken already");
        assertRefused(TetherUndertowConfig.builder().healthPath("/health").route("/health", a),
                "route /health is taken already by healthPath");
        assertThatThrownBy(() -> TetherUndertowConfig.builder().route(null, a).build())
                .isInstanceOf(NullPointerException.class).hasMessageContaining("route path");
        assertThatThrownBy(() -> TetherUndertowConfig.builder().route("/m", null).build())
                .isInstanceOf(NullPointerException.class).hasMessageContaining("route handler for /m");
    }

    @Test
    void waterMarksMustBeOrdered() {
        assertThatThrownBy(() -> new WriteWaterMark(10, 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("highBytes");
        assertThatThrownBy(() -> new WriteWaterMark(-1, 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lowBytes");
        assertThat(new WriteWaterMark(0, 1).highBytes()).isEqualTo(1);
    }

    private static void assertRefused(TetherUndertowConfig.Builder builder, String field) {
        assertThatThrownBy(builder::build).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(field);
    }
}
