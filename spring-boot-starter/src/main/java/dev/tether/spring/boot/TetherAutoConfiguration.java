package dev.tether.spring.boot;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.spi.MetricsListener;
import dev.tether.micrometer.TetherMetrics;
import dev.tether.undertow.TetherServer;
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
 *       application's {@link SessionHandler} bean (required: without one the application fails to
 *       start, saying so), with its {@link Authenticator} and {@link Authorizer} beans if it has
 *       them (otherwise Tether's defaults);</li>
 *   <li>a {@link TetherServer}, Tether's own Undertow listener on {@code tether.port}, independent
 *       of the application's web server (Spring Boot 4 has no Undertow web server; any web server,
 *       or none, will do);</li>
 *   <li>with Micrometer on the class path and a {@link MeterRegistry} bean, a {@link TetherMetrics}
 *       the hub reports to; being a {@code MeterBinder} bean, Spring Boot's metrics
 *       auto-configuration binds it to the application's registries;</li>
 *   <li>with Actuator's health on the class path, a health indicator named {@code tether}: UP
 *       while the hub is {@link Tether.State#RUNNING}, DOWN with its state otherwise;</li>
 *   <li>a {@link org.springframework.context.SmartLifecycle} that drains the hub, then stops the
 *       listener, when the context closes, before the web server's graceful shutdown.</li>
 * </ul>
 * {@code tether.enabled=false} turns all of it off.
 *
 * @since 0.1.0
 */
@AutoConfiguration(afterName = {
        // So that @ConditionalOnBean(MeterRegistry.class) below sees the registry Boot configures.
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration"})
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
            throw new IllegalStateException("Tether needs a bean of type " + SessionHandler.class.getName()
                    + ": declare the application's SessionHandler as a @Bean (or declare a Tether bean of its own,"
                    + " or set tether.enabled=false)");
        });
        TetherConfig.Builder config = properties.hubConfig();
        authenticator.ifAvailable(config::authenticator);
        authorizer.ifAvailable(config::authorizer);
        metrics.ifUnique(config::metrics);
        return Tether.create(config.build(), sessionHandler);
    }

    @Bean
    @ConditionalOnMissingBean
    TetherServer tetherServer(Tether tether, TetherProperties properties) {
        return TetherServer.start(tether, properties.serverConfig());
    }

    @Bean
    TetherDrain tetherDrain(Tether tether, TetherServer server) {
        return new TetherDrain(tether, server);
    }

    /** The meters, when the application has Micrometer and a registry. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({MeterRegistry.class, TetherMetrics.class})
    static class Metrics {

        @Bean
        @ConditionalOnBean(MeterRegistry.class)
        @ConditionalOnMissingBean
        TetherMetrics tetherMetrics(TetherProperties properties) {
            String path = properties.path() != null ? properties.path()
                    : dev.tether.undertow.TetherUndertowConfig.DEFAULT_PATH;
            return new TetherMetrics("tether", path);
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
