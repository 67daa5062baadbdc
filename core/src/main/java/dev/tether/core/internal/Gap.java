package dev.tether.core.internal;

/** A replay buffer entry for reliable messages that were lost: sequence numbers {@code from}..{@code to}. */
record Gap(long from, long to, String reason) {
}
