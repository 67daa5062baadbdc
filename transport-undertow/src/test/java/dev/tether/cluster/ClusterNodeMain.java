package dev.tether.cluster;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.redis.RedisBroker;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.redis.RedisBrokerConfig;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * One node of the multi-process cluster tests, run by {@link NodeProcess} in its own JVM: a hub
 * on a {@link RedisBroker} behind a {@link TetherServer} on an ephemeral port of 127.0.0.1, and
 * a Socket.IO server on the same hub (connection state recovery on; every socket joins the room
 * {@code room}, the hub topic {@code sio:/#room}) on another. Prints {@code socketio <port>},
 * then {@code listening <port>} once it accepts connections, and each failure its error handler
 * gets as {@code error <context>: <cause>}. Exits when its standard input closes (the test ended
 * or died), so a node never outlives its test; a test kills it with SIGKILL to simulate a crash.
 * Commands on standard input: {@code publish <id> <topic> <body>} (see {@link #command}).
 *
 * <p>The application, in the terms the tests check:
 * <ul>
 *   <li>request {@code join} (payload: a topic): the session subscribes to it (server side, so
 *       the subscription lives in the session's record), then the reply;</li>
 *   <li>message {@code echo}: sent back to the session as {@code echo}, same payload;</li>
 *   <li>message {@code pub} (payload {@code topic|body}): published on the topic as {@code tick}
 *       with payload {@code body}.</li>
 * </ul>
 */
public final class ClusterNodeMain {

    private ClusterNodeMain() {
    }

    public static void main(String[] args) throws IOException {
        String redisUri = args[0];
        Handler handler = new Handler();
        Tether tether = Tether.create(TetherConfig.builder()
                .broker(new RedisBroker(RedisBrokerConfig.of(redisUri)))
                .inboundRateLimit(0, TetherConfig.DEFAULT_INBOUND_BURST)
                .errorHandler((context, error) -> System.out.println("error " + context + ": " + error))
                .build(), handler);
        handler.tether = tether;
        TetherServer server = TetherServer.start(tether,
                TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        SocketIo io = SocketIo.create(tether, SocketIoConfig.builder().connectionStateRecovery(true).build());
        io.on("connection", socket -> socket.join("room"));
        TetherServer socketIoServer = TetherServer.start(io,
                TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        System.out.println("socketio " + socketIoServer.port());
        System.out.println("listening " + server.port());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            command(tether, line.split(" ", 4));
        }
        // End of input: the test is gone.
        socketIoServer.close();
        server.close();
        tether.close();
        System.exit(0);
    }

    /**
     * {@code publish <id> <topic> <body>}: {@link Tether#publishAsync}, answered with
     * {@code published <id> <ms>} or {@code publish-failed <id> <ms> <error>}.
     */
    private static void command(Tether tether, String[] words) {
        if (words.length == 4 && words[0].equals("publish")) {
            long start = System.nanoTime();
            tether.publishAsync(words[2], "tick", Payload.text(words[3])).whenComplete((v, error) -> {
                long ms = (System.nanoTime() - start) / 1_000_000;
                System.out.println(error == null ? "published " + words[1] + " " + ms
                        : "publish-failed " + words[1] + " " + ms + " " + error);
            });
        } else {
            System.out.println("error unknown command " + String.join(" ", words));
        }
    }

    private static final class Handler implements SessionHandler {
        volatile Tether tether;

        @Override
        public void onMessage(Session session, Message message) {
            switch (message.event()) {
                case "echo" -> session.send("echo", message.payload());
                case "pub" -> {
                    String text = message.payload().asText();
                    int bar = text.indexOf('|');
                    tether.publish(text.substring(0, bar), "tick", Payload.text(text.substring(bar + 1)));
                }
                default -> throw new IllegalArgumentException("unknown event " + message.event());
            }
        }

        @Override
        public void onRequest(Session session, Message message, Responder responder) {
            if (message.event().equals("join")) {
                session.subscribe(message.payload().asText());
                responder.reply(Payload.text("ok"));
            } else {
                SessionHandler.super.onRequest(session, message, responder);
            }
        }
    }
}
