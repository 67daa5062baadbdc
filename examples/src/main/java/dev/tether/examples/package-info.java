/**
 * What every example's {@code main} shares: a start that reports a busy port in one line
 * ({@link dev.tether.examples.Startup}) and a {@code java.util.logging} manager that keeps the
 * log open until the shutdown hook's drain is logged ({@link dev.tether.examples.ShutdownLogManager}).
 */
package dev.tether.examples;
