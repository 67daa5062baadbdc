package dev.tether.spring.boot;

import dev.tether.core.Stats;
import dev.tether.core.Tether;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The {@code tether} health component: UP while the hub admits connections
 * ({@link Tether.State#RUNNING}), DOWN once its drain has begun, so that a load balancer polling
 * the application's health stops sending clients before they are told to reconnect elsewhere.
 * Details: the state and the connection and session counts.
 */
final class TetherHealthIndicator implements HealthIndicator {

    private final Tether tether;

    TetherHealthIndicator(Tether tether) {
        this.tether = tether;
    }

    @Override
    public Health health() {
        Tether.State state = tether.state();
        Stats stats = tether.stats();
        Health.Builder health = state == Tether.State.RUNNING ? Health.up() : Health.down();
        return health.withDetail("state", state.name())
                .withDetail("connections", stats.connections())
                .withDetail("sessions", stats.sessions())
                .build();
    }
}
