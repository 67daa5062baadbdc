package dev.tether.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.internal.protocol.JsonProtocol;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.spi.ErrorHandler;
import dev.tether.core.spi.MetricsListener;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TetherConfigTest {

    @Test
    void defaultsEqualTheDocumentedConstants() {
        TetherConfig config = TetherConfig.defaults();

        assertThat(config.heartbeatInterval()).isEqualTo(TetherConfig.DEFAULT_HEARTBEAT_INTERVAL);
        assertThat(config.heartbeatTimeout()).isEqualTo(TetherConfig.DEFAULT_HEARTBEAT_TIMEOUT);
        assertThat(config.helloTimeout()).isEqualTo(TetherConfig.DEFAULT_HELLO_TIMEOUT);
        assertThat(config.sessionRetention()).isEqualTo(TetherConfig.DEFAULT_SESSION_RETENTION);
        assertThat(config.outboundQueueCapacity()).isEqualTo(TetherConfig.DEFAULT_OUTBOUND_QUEUE_CAPACITY);
        assertThat(config.volatileQueueLimit()).isEqualTo(TetherConfig.DEFAULT_VOLATILE_QUEUE_LIMIT);
        assertThat(config.replayBufferMessages()).isEqualTo(TetherConfig.DEFAULT_REPLAY_BUFFER_MESSAGES);
        assertThat(config.replayBufferBytes()).isEqualTo(TetherConfig.DEFAULT_REPLAY_BUFFER_BYTES);
        assertThat(config.maxMessageBytes()).isEqualTo(TetherConfig.DEFAULT_MAX_MESSAGE_BYTES);
        assertThat(config.drainBatch()).isEqualTo(TetherConfig.DEFAULT_DRAIN_BATCH);
        assertThat(config.ackEvery()).isEqualTo(TetherConfig.DEFAULT_ACK_EVERY);
        assertThat(config.ackDelay()).isEqualTo(TetherConfig.DEFAULT_ACK_DELAY);
        assertThat(config.handlerPendingLimit()).isEqualTo(TetherConfig.DEFAULT_HANDLER_PENDING_LIMIT);
        assertThat(config.timerTick()).isEqualTo(TetherConfig.DEFAULT_TIMER_TICK);
        assertThat(config.handlerExecutor()).isNull();
        assertThat(config.protocol()).isSameAs(JsonProtocol.INSTANCE);
        assertThat(config.authenticator()).isSameAs(Authenticator.ANONYMOUS);
        assertThat(config.authorizer()).isSameAs(Authorizer.SERVER_ONLY);
        assertThat(config.metrics()).isSameAs(MetricsListener.NO_OP);
        assertThat(config.errorHandler()).isSameAs(ErrorHandler.LOGGING);
    }

    @Test
    void defaultConstantsMatchTheValuesProtocolMdAndTheJavadocPromise() {
        assertThat(TetherConfig.DEFAULT_HEARTBEAT_INTERVAL).isEqualTo(Duration.ofSeconds(25));
        assertThat(TetherConfig.DEFAULT_HEARTBEAT_TIMEOUT).isEqualTo(Duration.ofSeconds(20));
        assertThat(TetherConfig.DEFAULT_HELLO_TIMEOUT).isEqualTo(Duration.ofSeconds(10));
        assertThat(TetherConfig.DEFAULT_SESSION_RETENTION).isEqualTo(Duration.ofMinutes(2));
        assertThat(TetherConfig.DEFAULT_REPLAY_BUFFER_MESSAGES).isEqualTo(1024);
        assertThat(TetherConfig.DEFAULT_REPLAY_BUFFER_BYTES).isEqualTo(1024L * 1024);
        assertThat(TetherConfig.DEFAULT_MAX_MESSAGE_BYTES).isEqualTo(65_536);
        assertThat(TetherConfig.DEFAULT_ACK_EVERY).isEqualTo(32);
        assertThat(TetherConfig.DEFAULT_ACK_DELAY).isEqualTo(Duration.ofMillis(200));
        assertThat(TetherConfig.DEFAULT_TIMER_TICK).isEqualTo(Duration.ofMillis(10));
    }

    static Stream<Arguments> invalidValues() {
        return Stream.of(
                invalid("heartbeatInterval", b -> b.heartbeatInterval(Duration.ZERO)),
                invalid("heartbeatInterval", b -> b.heartbeatInterval(Duration.ofSeconds(-1))),
                invalid("heartbeatTimeout", b -> b.heartbeatTimeout(Duration.ZERO)),
                invalid("heartbeatTimeout", b -> b.heartbeatInterval(Duration.ofSeconds(10))
                        .heartbeatTimeout(Duration.ofSeconds(10).plusMillis(1))),
                invalid("helloTimeout", b -> b.helloTimeout(Duration.ZERO)),
                invalid("sessionRetention", b -> b.sessionRetention(Duration.ofMillis(-5))),
                invalid("ackDelay", b -> b.ackDelay(Duration.ZERO)),
                invalid("outboundQueueCapacity", b -> b.outboundQueueCapacity(3).volatileQueueLimit(0)),
                invalid("volatileQueueLimit", b -> b.volatileQueueLimit(-1)),
                invalid("volatileQueueLimit", b -> b.outboundQueueCapacity(100).volatileQueueLimit(101)),
                invalid("replayBufferMessages", b -> b.replayBufferMessages(1000)),
                invalid("replayBufferMessages", b -> b.replayBufferMessages(1)),
                invalid("replayBufferMessages", b -> b.replayBufferMessages(0)),
                invalid("replayBufferMessages", b -> b.replayBufferMessages(Integer.MIN_VALUE)),
                invalid("replayBufferBytes", b -> b.replayBufferBytes(1023)),
                invalid("maxMessageBytes", b -> b.maxMessageBytes(127)),
                invalid("drainBatch", b -> b.drainBatch(0)),
                invalid("ackEvery", b -> b.ackEvery(0)),
                invalid("handlerPendingLimit", b -> b.handlerPendingLimit(1)),
                invalid("timerTick", b -> b.timerTick(Duration.ZERO)),
                invalid("timerTick", b -> b.timerTick(Duration.ofNanos(999_999))),
                invalid("timerTick", b -> b.timerTick(Duration.ofMillis(1001))),
                invalid("timerTick", b -> b.timerTick(Duration.ofSeconds(2))),
                invalid("handshakeBurst", b -> b.handshakeBurst(0)),
                invalid("handshakeBurst", b -> b.handshakeBurst(-1)),
                invalid("handshakeBurst", b -> b.maxHandshakesPerSecond(100).handshakeBurst(101)),
                invalid("handshakeMaxDelay", b -> b.handshakeMaxDelay(Duration.ofMillis(-1))),
                invalid("handshakeMaxDelay", b -> b.handshakeMaxDelay(Duration.ofSeconds(11))));
    }

    private static Arguments invalid(String field, UnaryOperator<TetherConfig.Builder> change) {
        return Arguments.of(field, change);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidValues")
    void invalidValueIsRejectedNamingTheField(String field, UnaryOperator<TetherConfig.Builder> change) {
        TetherConfig.Builder builder = change.apply(TetherConfig.builder());

        assertThatThrownBy(builder::build)
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(field + " ");
    }

    @Test
    void boundaryValuesAreAccepted() {
        TetherConfig config = TetherConfig.builder()
                .heartbeatInterval(Duration.ofSeconds(5))
                .heartbeatTimeout(Duration.ofSeconds(5))
                .outboundQueueCapacity(4)
                .volatileQueueLimit(4)
                .replayBufferMessages(2)
                .replayBufferBytes(1024)
                .maxMessageBytes(128)
                .drainBatch(1)
                .ackEvery(1)
                .handlerPendingLimit(2)
                .timerTick(Duration.ofMillis(1))
                .build();

        assertThat(config.heartbeatTimeout()).isEqualTo(config.heartbeatInterval());
        assertThat(config.outboundQueueCapacity()).isEqualTo(4);
        assertThat(config.volatileQueueLimit()).isEqualTo(4);
        assertThat(config.replayBufferMessages()).isEqualTo(2);
        assertThat(config.replayBufferBytes()).isEqualTo(1024);
        assertThat(config.maxMessageBytes()).isEqualTo(128);
        assertThat(config.timerTick()).isEqualTo(Duration.ofMillis(1));
        assertThat(TetherConfig.builder().timerTick(Duration.ofSeconds(1)).build().timerTick())
                .isEqualTo(Duration.ofSeconds(1));
    }

    static Stream<Arguments> missingValues() {
        return Stream.of(
                missing("protocol", b -> b.protocol(null)),
                missing("authenticator", b -> b.authenticator(null)),
                missing("authorizer", b -> b.authorizer(null)),
                missing("metrics", b -> b.metrics(null)),
                missing("errorHandler", b -> b.errorHandler(null)),
                missing("heartbeatInterval", b -> b.heartbeatInterval(null)),
                missing("heartbeatTimeout", b -> b.heartbeatTimeout(null)),
                missing("helloTimeout", b -> b.helloTimeout(null)),
                missing("sessionRetention", b -> b.sessionRetention(null)),
                missing("ackDelay", b -> b.ackDelay(null)),
                missing("timerTick", b -> b.timerTick(null)));
    }

    private static Arguments missing(String field, UnaryOperator<TetherConfig.Builder> change) {
        return Arguments.of(field, change);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("missingValues")
    void nullValueIsRejectedNamingTheField(String field, UnaryOperator<TetherConfig.Builder> change) {
        TetherConfig.Builder builder = change.apply(TetherConfig.builder());

        assertThatThrownBy(builder::build)
                .isExactlyInstanceOf(NullPointerException.class)
                .hasMessage(field);
    }

    @Test
    void handshakeBurstDefaultsToAQuarterSecondsWorthOfTheRateAndMayBeSetUpToTheRate() {
        assertThat(TetherConfig.defaults().handshakeBurst()).isEqualTo(1_250);
        assertThat(TetherConfig.builder().maxHandshakesPerSecond(100).build().handshakeBurst()).isEqualTo(25);
        assertThat(TetherConfig.builder().maxHandshakesPerSecond(3).build().handshakeBurst()).isEqualTo(1);
        assertThat(TetherConfig.builder().maxHandshakesPerSecond(100).handshakeBurst(100).build().handshakeBurst())
                .isEqualTo(100);
        assertThat(TetherConfig.builder().handshakeBurst(1).build().handshakeBurst()).isEqualTo(1);
    }

    @Test
    void aHandshakeOverTheRateWaitsUpToASecondByDefaultAndZeroToTenSecondsMayBeSet() {
        assertThat(TetherConfig.defaults().handshakeMaxDelay()).isEqualTo(Duration.ofSeconds(1));
        assertThat(TetherConfig.builder().handshakeMaxDelay(Duration.ZERO).build().handshakeMaxDelay()).isZero();
        assertThat(TetherConfig.builder().handshakeMaxDelay(Duration.ofSeconds(10)).build().handshakeMaxDelay())
                .isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void nullHandlerExecutorIsAllowedAndMeansAnOwnedPool() {
        assertThat(TetherConfig.builder().handlerExecutor(null).build().handlerExecutor()).isNull();
    }

    @Test
    void builtConfigIsUnaffectedByLaterBuilderChanges() {
        Executor executor = Runnable::run;
        TetherConfig.Builder builder = TetherConfig.builder()
                .heartbeatInterval(Duration.ofSeconds(30))
                .outboundQueueCapacity(64)
                .volatileQueueLimit(32)
                .maxMessageBytes(4096)
                .handlerExecutor(executor);
        TetherConfig first = builder.build();

        builder.heartbeatInterval(Duration.ofSeconds(60))
                .outboundQueueCapacity(128)
                .volatileQueueLimit(64)
                .maxMessageBytes(8192)
                .handlerExecutor(null);
        TetherConfig second = builder.build();

        assertThat(first.heartbeatInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(first.outboundQueueCapacity()).isEqualTo(64);
        assertThat(first.volatileQueueLimit()).isEqualTo(32);
        assertThat(first.maxMessageBytes()).isEqualTo(4096);
        assertThat(first.handlerExecutor()).isSameAs(executor);
        assertThat(second.heartbeatInterval()).isEqualTo(Duration.ofSeconds(60));
        assertThat(second.outboundQueueCapacity()).isEqualTo(128);
        assertThat(second.handlerExecutor()).isNull();
    }

    @Test
    void failedBuildLeavesTheBuilderUsable() {
        TetherConfig.Builder builder = TetherConfig.builder().maxMessageBytes(1);
        assertThatThrownBy(builder::build).isInstanceOf(IllegalArgumentException.class);

        assertThat(builder.maxMessageBytes(256).build().maxMessageBytes()).isEqualTo(256);
    }
}
