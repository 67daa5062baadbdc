/**
 * Spring Boot 4 auto-configuration of Tether: {@link dev.tether.spring.boot.TetherAutoConfiguration}
 * and its {@link dev.tether.spring.boot.TetherProperties tether.*} properties.
 *
 * @since 0.1.0
 */
package dev.tether.spring.boot;
