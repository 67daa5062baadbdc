package dev.tether.socketio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.CloseCodes;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.HandshakeRequest;
import java.security.Principal;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Namespace middleware that answers later, on the in-memory transport: the CONNECT waits for the
 * whole chain, packets for the namespace wait with it, and a deadline, a DISCONNECT or a closed
 * transport end the wait. The test completes every stage itself, from its own thread.
 */
class SocketIoMiddlewareTest {

    private static final Principal ALICE = () -> "alice";
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Long enough never to pass in a test that does not wait for it. */
    private static final Duration NO_TIMEOUT = Duration.ofSeconds(60);

    /** One call of a middleware: what it was asked, and the answer it owes. */
    private record Call(String who, HandshakeRequest request, CompletableFuture<AuthResult> answer) { }

    private final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();
    private final BlockingQueue<Socket> connected = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> errors = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> refusals = new LinkedBlockingQueue<>();
    private Tether tether;
    private SocketIo io;

    /** A server whose namespace {@code /slow} has the given middleware. */
    private void start(UnaryOperator<TetherConfig.Builder> hub, SocketIoConfig config, Authenticator... middleware) {
        tether = Tether.create(hub.apply(TetherConfig.builder()
                .authenticationTimeout(NO_TIMEOUT)
                .drainTimeout(Duration.ZERO)
                .errorHandler((context, error) -> errors.add(context + ": " + error.getMessage()))
                .metrics(new dev.tether.core.spi.MetricsListener() {
                    @Override
                    public void refused(String what) {
                        refusals.add(what);
                    }
                })).build(), new SessionHandler() { });
        io = SocketIo.create(tether, config);
        Namespace slow = io.of("/slow");
        for (Authenticator m : middleware) {
            slow.use(m);
        }
        slow.on("connection", socket -> {
            socket.on("say", (args, ack) -> events.add(socket.principal().getName() + ":" + args));
            connected.add(socket);
        });
        io.on("connection", connected::add);
    }

    private void start(Authenticator... middleware) {
        start(b -> b, SocketIoConfig.defaults(), middleware);
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
    }

    /** Middleware that answers later: each call waits for the test to complete it. */
    private Authenticator later(String who) {
        return request -> {
            Call call = new Call(who, request, new CompletableFuture<>());
            calls.add(call);
            return call.answer();
        };
    }

    /**
     * The next middleware call on {@code c}, once the I/O thread is done with it: the stage is then
     * awaited (completed earlier, it would count as an answer given at once).
     */
    private Call nextCall(SioConnection c) throws InterruptedException {
        Call call = calls.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(call).as("middleware called").isNotNull();
        c.onIo(() -> { });
        return call;
    }

    private SioConnection open() {
        SioConnection c = SioConnection.open(io, ALICE);
        assertThat(c.next()).startsWith("0{");
        return c;
    }

    private Socket nextSocket() throws InterruptedException {
        Socket s = connected.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(s).as("connection listener").isNotNull();
        return s;
    }

    @Test
    void chainRunsInOrderEachWaitingForTheOneBeforeAndPacketsSentMeanwhileArriveAfterTheConnect() throws Exception {
        start(later("first"), later("second"));
        SioConnection c = open();
        c.send("40/slow,{\"token\":\"t0k\"}");
        Call first = nextCall(c);
        assertThat(first.who()).isEqualTo("first");
        assertThat(first.request().bearerToken()).contains("t0k");
        c.send("42/slow,[\"say\",1]");
        c.send("42/slow,[\"say\",2]");

        first.answer().complete(AuthResult.accept(() -> "from-first"));
        Call second = nextCall(c);
        assertThat(second.who()).as("called once the first accepted").isEqualTo("second");
        c.send("42/slow,[\"say\",3]");
        second.answer().complete(AuthResult.accept(() -> "bob"));

        assertThat(c.next()).startsWith("40/slow,{\"sid\":");
        Socket socket = nextSocket();
        assertThat(socket.principal().getName()).as("the last acceptance names the socket").isEqualTo("bob");
        c.send("42/slow,[\"say\",4]");
        for (int k = 1; k <= 4; k++) {
            assertThat(events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("bob:[" + k + "]");
        }
        assertThat(errors).isEmpty();
    }

    @Test
    void refusalThatComesLaterIsAConnectErrorWithItsReasonAndDropsWhatWasHeld() throws Exception {
        start(later("only"));
        SioConnection c = open();
        c.send("40/slow,");
        Call call = nextCall(c);
        c.send("42/slow,[\"say\",\"held\"]");
        call.answer().complete(AuthResult.forbidden("Not in this room"));
        assertThat(c.next()).isEqualTo("44/slow,{\"message\":\"Not in this room\"}");
        assertThat(refusals.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("socketio.connect");

        // The connection stays; a CONNECT to the main namespace, which has no middleware, is answered at once.
        c.send("40");
        assertThat(c.next()).startsWith("40{\"sid\":");
        assertThat(nextSocket().namespace().name()).isEqualTo("/");
        assertThat(events).isEmpty();
    }

    @Test
    void failingStageIsReportedAndRefusedAsUnauthorized() throws Exception {
        start(later("only"));
        SioConnection c = open();
        c.send("40/slow,");
        nextCall(c).answer().completeExceptionally(new IllegalStateException("introspection down"));
        assertThat(c.next()).isEqualTo("44/slow,{\"message\":\"Unauthorized\"}");
        assertThat(errors.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .isEqualTo("socketio.middleware: introspection down");

        c.send("40/slow,");
        nextCall(c).answer().complete(null);
        assertThat(c.next()).isEqualTo("44/slow,{\"message\":\"Unauthorized\"}");
        assertThat(errors.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)).startsWith("socketio.middleware: ");
        assertThat(errors).isEmpty();
    }

    @Test
    void chainThatDoesNotFinishInTimeIsAConnectErrorAndItsLateAnswerIsIgnored() throws Exception {
        start(b -> b.authenticationTimeout(Duration.ofMillis(200)), SocketIoConfig.defaults(), later("slow"));
        SioConnection c = open();
        c.send("40/slow,");
        Call call = nextCall(c);
        assertThat(c.next()).isEqualTo("44/slow,{\"message\":\"Authentication timed out\"}");
        assertThat(refusals.poll()).isEqualTo("socketio.connect");

        call.answer().complete(AuthResult.accept(() -> "too-late"));
        // The late answer's hop is queued on the I/O thread before this CONNECT: it would be answered first.
        c.send("40");
        assertThat(c.next()).startsWith("40{\"sid\":");
        assertThat(nextSocket().namespace().name()).isEqualTo("/");
        assertThat(connected).isEmpty();
        assertThat(errors).isEmpty();
    }

    @Test
    void disconnectOrClosedTransportWhileWaitingDropsTheConnectQuietly() throws Exception {
        start(later("only"));
        SioConnection leaving = open();
        leaving.send("40/slow,");
        Call givenUp = nextCall(leaving);
        leaving.send("41/slow,");
        givenUp.answer().complete(AuthResult.accept(() -> "nobody"));
        leaving.send("40");
        assertThat(leaving.next()).as("nothing for /slow comes first").startsWith("40{\"sid\":");
        assertThat(nextSocket().namespace().name()).isEqualTo("/");

        SioConnection dropped = open();
        dropped.send("40/slow,");
        Call orphan = nextCall(dropped);
        dropped.drop();
        assertThat(dropped.awaitClose()).isEqualTo(1006);
        orphan.answer().complete(AuthResult.accept(() -> "nobody"));
        dropped.onIo(() -> { }); // the late answer's hop has run
        assertThat(connected).isEmpty();
        assertThat(errors).isEmpty();
        assertThat(io.of("/slow").sockets()).isEmpty();
        assertThat(tether.stats().connections()).isEqualTo(1);
    }

    @Test
    void tooManyPacketsBeforeTheNamespaceConnectsCloseTheConnection() throws Exception {
        start(later("only"));
        SioConnection c = open();
        c.send("40/slow,");
        nextCall(c);
        for (int k = 0; k <= 16; k++) {
            c.send("42/slow,[\"say\"," + k + "]");
        }
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
        assertThat(c.closeReason).isEqualTo("too many packets before the namespace connected");
    }

    @Test
    void connectDeadlineClosesASilentClientButWaitsForAConnectUnderWay() throws Exception {
        start(b -> b, SocketIoConfig.builder().connectTimeout(Duration.ofMillis(200)).build(), later("only"));
        SioConnection silent = open();
        assertThat(silent.awaitClose()).isEqualTo(CloseCodes.HELLO_TIMEOUT);

        SioConnection accepted = open();
        accepted.send("40/slow,");
        Call first = nextCall(accepted);
        SioConnection refused = open();
        refused.send("40/slow,");
        Call second = nextCall(refused);
        // Both connect deadlines pass while the middleware has not answered (the close would come first).
        assertThat(refused.poll(Duration.ofMillis(600))).isNull();

        first.answer().complete(AuthResult.accept(() -> "late-but-fine"));
        assertThat(accepted.next()).startsWith("40/slow,{\"sid\":");
        assertThat(nextSocket().principal().getName()).isEqualTo("late-but-fine");
        second.answer().complete(AuthResult.unauthorized("No"));
        assertThat(refused.next()).isEqualTo("44/slow,{\"message\":\"No\"}");
        assertThat(refused.awaitClose()).isEqualTo(CloseCodes.HELLO_TIMEOUT);
        assertThat(accepted.closeCode).as("a connected namespace keeps it open").isNotDone();
        assertThat(io.of("/slow").sockets()).hasSize(1);
    }
}
