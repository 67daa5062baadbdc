package dev.tether.spring.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.spi.MetricsListener;
import dev.tether.micrometer.TetherMetrics;
import dev.tether.socketio.SocketIo;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Spring Boot auto-configuration of a Tether hub, registered in
 * {@code META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports}.
 * It configures, each unless the application declares a bean of the same type:
 * <ul>
 *   <li>a {@link Tether} hub from the {@link TetherProperties tether.*} properties and the
 *       application's {@link SessionHandler} bean, with its {@link Authenticator} and
 *       {@link Authorizer} beans if it has them (otherwise Tether's defaults). Without a
 *       {@code SessionHandler} bean the application fails to start, saying so, unless it speaks
 *       Socket.IO;</li>
 *   <li>with {@code tether.socketio.enabled=true}, a {@link SocketIo} server on the hub, whose
 *       emitted objects are mapped by the application's Jackson 2 {@link ObjectMapper} bean when it
 *       has exactly one; the application registers its listeners on this bean while its own beans
 *       are created;</li>
 *   <li>a {@link TetherListener}, Tether's own Undertow listener on {@code tether.port},
 *       independent of the application's web server (Spring Boot 4 has no Undertow web server;
 *       any web server, or none, will do). It starts listening once every bean is created and, when
 *       the context closes, drains the hub before the web server shuts down;</li>
 *   <li>with Micrometer on the class path and a {@link MeterRegistry} bean, a {@link TetherMetrics}
 *       the hub reports to; being a {@code MeterBinder} bean, Spring Boot's metrics
 *       auto-configuration binds it to the application's registries;</li>
 *   <li>with Actuator's health on the class path, a health indicator named {@code tether}: UP
 *       while the hub is {@link Tether.State#RUNNING}, DOWN with its state otherwise.</li>
 * </ul>
 * {@code tether.enabled=false} turns all of it off.
 *
 * @since 0.1.0
 */
@AutoConfiguration(afterName = {
        // So that @ConditionalOnBean(MeterRegistry.class) below sees the registry Boot configures.
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
        // So that the application's ObjectMapper, if Boot's Jackson 2 support makes it, exists.
        "org.springframework.boot.jackson2.autoconfigure.Jackson2AutoConfiguration"})
@ConditionalOnProperty(prefix = "tether", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(TetherProperties.class)
public final class TetherAutoConfiguration {

    /** Created by Spring from the auto-configuration imports. */
    public TetherAutoConfiguration() {
    }

    @Bean
    @ConditionalOnMissingBean
    Tether tether(TetherProperties properties, ObjectProvider<SessionHandler> handler,
            ObjectProvider<Authenticator> authenticator, ObjectProvider<Authorizer> authorizer,
            ObjectProvider<MetricsListener> metrics) {
        SessionHandler sessionHandler = handler.getIfAvailable(() -> {
            if (properties.socketIoEnabled()) {
                return new SessionHandler() { };
            }
            throw new IllegalStateException("Tether needs a bean of type " + SessionHandler.class.getName()
                    + ": declare the application's SessionHandler as a @Bean (or set tether.socketio.enabled=true"
                    + " for Socket.IO, declare a Tether bean of its own, or set tether.enabled=false)");
        });
        TetherConfig.Builder config = properties.hubConfig();
        authenticator.ifAvailable(config::authenticator);
        authorizer.ifAvailable(config::authorizer);
        metrics.ifUnique(config::metrics);
        return Tether.create(config.build(), sessionHandler);
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = "tether.socketio", name = "enabled", havingValue = "true")
    SocketIo tetherSocketIo(Tether tether, TetherProperties properties, ObjectProvider<ObjectMapper> objectMapper) {
        return SocketIo.create(tether, properties.socketIoConfig(objectMapper.getIfUnique()));
    }

    @Bean
    @ConditionalOnMissingBean
    TetherListener tetherListener(Tether tether, TetherProperties properties, ObjectProvider<SocketIo> socketIo) {
        TetherUndertowConfig config = properties.serverConfig();
        SocketIo io = properties.socketIoEnabled() ? socketIo.getObject() : null;
        return new TetherListener(tether,
                () -> io != null ? TetherServer.start(io, config) : TetherServer.start(tether, config));
    }

    /** The meters, when the application has Micrometer and a registry. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({MeterRegistry.class, TetherMetrics.class})
    static class Metrics {

        @Bean
        @ConditionalOnBean(MeterRegistry.class)
        @ConditionalOnMissingBean
        TetherMetrics tetherMetrics(TetherProperties properties) {
            TetherUndertowConfig config = properties.serverConfig();
            return properties.socketIoEnabled()
                    ? new TetherMetrics("socket.io", config.socketIoPath())
                    : new TetherMetrics("tether-json", config.path());
        }
    }

    /** The health indicator, when Actuator's health is on the class path. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {

        @Bean
        @ConditionalOnMissingBean(name = "tetherHealthIndicator")
        TetherHealthIndicator tetherHealthIndicator(Tether tether) {
            return new TetherHealthIndicator(tether);
        }
    }
}
