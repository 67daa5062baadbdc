package dev.tether.core.spi;

import java.security.Principal;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Decides whether a client may subscribe to or publish on a topic by itself: a {@code sub} frame,
 * or a {@code msg} frame carrying a {@code topic} (PROTOCOL.md §4, §8). A refusal is answered
 * with an error frame ({@code forbidden}); nothing is subscribed or delivered, and the connection
 * stays open.
 *
 * <p>Only clients are asked. The server application's own {@code Session.subscribe},
 * {@code Tether.publish} and Socket.IO {@code Socket.join} / {@code to(room).emit} never go
 * through the authorizer.
 *
 * <p>Every method refuses unless overridden, so an implementation grants exactly what it
 * overrides. The default of {@code TetherConfig} is {@link #SERVER_ONLY}: clients may neither
 * subscribe nor publish. {@link #topics} grants by topic name; {@link #allowAll()} grants
 * everything to everyone, for demos and tests.
 *
 * <p>Threading: called on I/O threads; must be fast, non-blocking and thread-safe.
 *
 * @since 0.1.0
 */
public interface Authorizer {

    /**
     * Refuses every client subscribe and publish: only the server application subscribes
     * sessions and publishes. The default.
     */
    Authorizer SERVER_ONLY = new Authorizer() {
        @Override
        public String toString() {
            return "Authorizer.SERVER_ONLY";
        }
    };

    /**
     * Whether the client of a session authenticated as {@code principal} may subscribe to
     * {@code topic}. The default refuses.
     *
     * @param principal who the client is
     * @param topic the topic
     * @return {@code true} if the client may subscribe
     */
    default boolean canSubscribe(Principal principal, String topic) {
        return false;
    }

    /**
     * Whether the client of a session authenticated as {@code principal} may publish on
     * {@code topic}. The default refuses.
     *
     * @param principal who the client is
     * @param topic the topic
     * @return {@code true} if the client may publish
     */
    default boolean canPublish(Principal principal, String topic) {
        return false;
    }

    /**
     * Lets <b>any client read and write any topic</b>: every connected client (anonymous ones too,
     * with the default {@link Authenticator}) may subscribe to every topic, the application's
     * private ones included, and publish anything to every subscriber of any topic. For demos,
     * tests and benchmarks; a production server grants what its clients need with
     * {@link #topics} or its own implementation.
     *
     * @return an authoriser that grants everything
     */
    static Authorizer allowAll() {
        return topics(topic -> true, topic -> true, "Authorizer.allowAll()");
    }

    /**
     * Grants by topic name alone, whatever the principal.
     *
     * <pre>{@code
     * // clients may follow public/* topics, and publish on none
     * Authorizer.topics(topic -> topic.startsWith("public/"), topic -> false)
     * }</pre>
     *
     * @param subscribe the topics a client may subscribe to
     * @param publish   the topics a client may publish on
     * @return an authoriser that asks the predicates
     */
    static Authorizer topics(Predicate<String> subscribe, Predicate<String> publish) {
        return topics(subscribe, publish, "Authorizer.topics(...)");
    }

    private static Authorizer topics(Predicate<String> subscribe, Predicate<String> publish, String name) {
        Objects.requireNonNull(subscribe, "subscribe");
        Objects.requireNonNull(publish, "publish");
        return new Authorizer() {
            @Override
            public boolean canSubscribe(Principal principal, String topic) {
                return subscribe.test(topic);
            }

            @Override
            public boolean canPublish(Principal principal, String topic) {
                return publish.test(topic);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }
}
