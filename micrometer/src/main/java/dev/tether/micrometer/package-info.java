/**
 * Tether on Micrometer: {@link dev.tether.micrometer.TetherMetrics}, a
 * {@link dev.tether.core.spi.MetricsListener} a hub reports to and a Micrometer
 * {@code MeterBinder} a host binds to its registry, with gauges, counters and timers named
 * {@code tether.*}.
 */
package dev.tether.micrometer;
