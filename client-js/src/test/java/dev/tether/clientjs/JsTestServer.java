package dev.tether.clientjs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.spi.TransportConnection;
import dev.tether.core.spi.TransportHub;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The Tether server the Node integration tests of {@code client-js} run against (and the browser
 * tests built on them): binds 127.0.0.1 on a free port, prints {@code PORT <n>} on stdout, and
 * stops when stdin reaches end of file.
 *
 * <p>What it offers a client:
 * <ul>
 *   <li>authentication: the bearer token ({@code access_token} or {@code Authorization}) is the
 *       principal's name; the token {@code bad} is refused with 401; no token is {@code anonymous};
 *   <li>every client may subscribe to and publish on any topic ({@link Authorizer#allowAll()});
 *   <li>requests: {@code echo} answers its payload (binary included); {@code ask} sends the
 *       client a request {@code question} with the same payload and answers with the client's
 *       answer; {@code received} answers the JSON array of the {@code n} of every
 *       {@code count} message, and of every {@code message} with an {@code n}, the session sent,
 *       in arrival order;
 *   <li>messages: {@code count} (payload {@code {"n": N}}) is recorded; {@code message} (payload
 *       {@code {"room": R, ...}}) is published on topic {@code R} as event {@code message}; {@code cut} (payload
 *       {@code {"count": N, "event": E}}) closes the caller's connection from the server side
 *       (code 1011, resumable) and sends the session the reliable messages {@code E} with
 *       {@code {"n": 1..N}} while the client is away (a message, not a request: a reply would
 *       race the close). A principal's connection is its latest: give each client its own token.
 * </ul>
 * Any origin is accepted (browser tests load their pages from another port). With
 * {@code --queue N} the queue, volatile and replay bounds are {@code N}; by default small queues
 * ({@value #QUEUE} messages) so that a large {@code cut} count overflows the
 * session's queue and the client is told of a {@code gap}.
 */
public final class JsTestServer {

    static final int QUEUE = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The latest connection of each principal, to cut it from the server side. */
    private final Map<String, TransportConnection> connections = new ConcurrentHashMap<>();
    /** The {@code n} of the {@code count} messages of each session, in arrival order. */
    private final Map<String, List<Long>> counts = new ConcurrentHashMap<>();
    private Tether tether;

    public static void main(String[] args) throws IOException {
        Logger.getLogger("").setLevel(Level.WARNING);
        // "--queue N": the queue, volatile and replay bounds for tests that must not overflow them.
        int queue = args.length == 2 && args[0].equals("--queue") ? Integer.parseInt(args[1]) : QUEUE;
        JsTestServer app = new JsTestServer();
        Tether hub = Tether.create(TetherConfig.builder()
                .authenticator(Authenticator.sync(request -> {
                    String token = request.bearerToken().orElse("anonymous");
                    if (token.equals("bad")) {
                        return AuthResult.unauthorized("Bad token.");
                    }
                    Principal principal = () -> token;
                    return AuthResult.accept(principal);
                }))
                .authorizer(Authorizer.allowAll())
                .outboundQueueCapacity(queue)
                .volatileQueueLimit(queue / 2)
                .replayBufferMessages(queue)
                .build(), app.handler());
        app.tether = hub;
        TetherServer server = TetherServer.start(app.cutting(hub),
                // Any origin: browser tests load their page from another loopback port.
                TetherUndertowConfig.builder().host("127.0.0.1").port(0).allowAnyOrigin(true).build());
        System.out.println("PORT " + server.port());
        System.out.flush();
        InputStream in = System.in;
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
            // Runs until the test closes our stdin (or dies, which closes it too).
        }
        hub.close();
        server.close();
    }

    /**
     * The hub as the transport sees it, remembering each principal's latest connection: the
     * engine has no API to drop one connection and keep its session, which is what {@code cut}
     * needs.
     */
    private Tether cutting(Tether hub) {
        TransportHub transport = TransportHub.of(hub);
        InvocationHandler handler = (proxy, method, args) -> {
            if (method.getName().equals("connect") && method.getDeclaringClass() == TransportHub.class
                    && args.length == 2 && args[1] instanceof AuthResult.Accepted accepted) {
                connections.put(accepted.principal().getName(), (TransportConnection) args[0]);
            }
            try {
                return method.invoke(method.getDeclaringClass() == TransportHub.class ? transport : hub, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Tether) Proxy.newProxyInstance(JsTestServer.class.getClassLoader(),
                new Class<?>[] {Tether.class, TransportHub.class}, handler);
    }

    private SessionHandler handler() {
        return new SessionHandler() {
            @Override
            public void onMessage(Session session, Message message) {
                switch (message.event()) {
                    case "count" -> record(session, json(message.payload()).path("n").asLong());
                    case "message" -> {
                        JsonNode body = json(message.payload());
                        if (body.has("n")) {
                            record(session, body.path("n").asLong());
                        }
                        tether.publish(body.path("room").asText("room"), "message", message.payload());
                    }
                    case "cut" -> cut(session, json(message.payload()));
                    default -> { }
                }
            }

            @Override
            public void onRequest(Session session, Message message, Responder responder) {
                switch (message.event()) {
                    case "echo" -> responder.reply(message.payload());
                    case "ask" -> session.request("question", message.payload(), Duration.ofSeconds(10))
                            .whenComplete((answer, error) -> {
                                if (error != null) {
                                    responder.fail("ask-failed", String.valueOf(error.getMessage()));
                                } else {
                                    responder.reply(answer);
                                }
                            });
                    case "received" -> {
                        ArrayNode list = JSON.createArrayNode();
                        List<Long> got = counts.getOrDefault(session.id(), List.of());
                        synchronized (got) {
                            got.forEach(list::add);
                        }
                        responder.reply(Payload.json(list));
                    }
                    default -> responder.fail("unhandled", "no handler for '" + message.event() + "'");
                }
            }
        };
    }

    private void record(Session session, long n) {
        List<Long> got = counts.computeIfAbsent(session.id(), id -> new ArrayList<>());
        synchronized (got) {
            got.add(n);
        }
    }

    /**
     * Closes the session's connection from the server side with a resumable code, then sends the
     * session {@code count} reliable messages while its client is away.
     */
    private void cut(Session session, JsonNode body) {
        TransportConnection conn = connections.get(session.principal().getName());
        if (conn != null) {
            conn.execute(() -> conn.close(1011, "cut by the test server"));
        }
        String event = body.path("event").asText("replayed");
        for (long n = 1; n <= body.path("count").asLong(0); n++) {
            session.send(event, Payload.json(JSON.createObjectNode().put("n", n)));
        }
    }

    private static JsonNode json(Payload payload) {
        try {
            return payload instanceof Payload.Json j ? j.value()
                    : JSON.readTree(payload.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return JSON.nullNode();
        }
    }
}
