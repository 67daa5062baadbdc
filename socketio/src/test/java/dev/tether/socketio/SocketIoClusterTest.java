package dev.tether.socketio;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.InMemoryCluster;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.testing.Await;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Socket.IO on two hubs of one {@link InMemoryCluster}, on an in-memory transport: rooms and
 * {@code except} across nodes, and connection state recovery through the broker on any node.
 */
class SocketIoClusterTest {

    private static final Principal ALICE = () -> "alice";
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ROOM = "sio:/#room";

    private InMemoryCluster cluster = new InMemoryCluster();
    private final List<Tether> hubs = new ArrayList<>();

    /** One node: a hub, Socket.IO with recovery, and the sockets as they connect. */
    private final class Node {
        final Tether tether;
        final SocketIo io;
        final BlockingQueue<Socket> connected = new LinkedBlockingQueue<>();

        Node(int replayBufferMessages) {
            tether = Tether.create(TetherConfig.builder().broker(cluster.node()).replayBufferMessages(replayBufferMessages)
                    .errorHandler((c, e) -> { }).drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
            hubs.add(tether);
            io = SocketIo.create(tether, SocketIoConfig.builder().connectionStateRecovery(true).build());
            io.on("connection", socket -> {
                socket.join("room");
                socket.on("shout", (args, ack) -> socket.to("room").emit("shouted", args.get(0)));
                connected.add(socket);
            });
        }

        Socket nextSocket() throws InterruptedException {
            Socket s = connected.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(s).as("connection listener").isNotNull();
            return s;
        }

        /** A client connected to the main namespace with {@code auth}; returns it with the CONNECT reply read. */
        SioConnection connect(String auth, JsonNode[] reply) throws Exception {
            SioConnection c = SioConnection.open(io, ALICE);
            c.next(); // open packet
            c.send("40" + auth);
            String r = c.next();
            assertThat(r).startsWith("40{");
            reply[0] = JSON.readTree(r.substring(2));
            return c;
        }
    }

    @AfterEach
    void stop() {
        hubs.forEach(Tether::close);
    }

    private static String pidOffset(JsonNode connectReply, long offset) {
        return "{\"pid\":\"" + connectReply.path("pid").asText() + "\",\"offset\":\"" + offset + "\"}";
    }

    @Test
    void aRoomEmitOnOneNodeReachesTheRoomOnEveryNodeAndExceptLeavesOutTheSenderWhereverItIs() throws Exception {
        Node a = new Node(1024);
        Node b = new Node(1024);
        JsonNode[] reply = new JsonNode[1];
        SioConnection onA = a.connect("", reply);
        a.nextSocket();
        SioConnection onB = b.connect("", reply);
        b.nextSocket();
        Await.until(() -> a.tether.subscribers(ROOM) == 1 && b.tether.subscribers(ROOM) == 1, WAIT,
                "both sockets in the room through the broker");

        b.io.to("room").emit("n", 1);
        assertThat(onA.next()).isEqualTo("42[\"n\",1,\"1\"]");
        assertThat(onB.next()).isEqualTo("42[\"n\",1,\"1\"]");

        onA.send("42[\"shout\",\"hey\"]"); // A's handler: socket.to("room").emit, which excludes the sender
        assertThat(onB.next()).isEqualTo("42[\"shouted\",\"hey\",\"2\"]");
        a.io.to("room").emit("n", 2);
        assertThat(onA.next()).as("the excepted entry takes no offset of the sender's").isEqualTo("42[\"n\",2,\"2\"]");
        assertThat(onB.next()).isEqualTo("42[\"n\",2,\"3\"]");
    }

    @Test
    void aClientWhoseNodeIsGoneRecoversOnAnotherWithWhatItMissedOnceInOrder() throws Exception {
        Node a = new Node(1024);
        Node b = new Node(1024);
        JsonNode[] first = new JsonNode[1];
        SioConnection c = a.connect("", first);
        Socket onA = a.nextSocket();
        Await.until(() -> a.tether.subscribers(ROOM) == 1, WAIT, "in the room through the broker");
        b.io.to("room").emit("n", 1);
        assertThat(c.next()).isEqualTo("42[\"n\",1,\"1\"]");
        onA.to("room").emit("not-for-me", 0); // excepts the socket itself: no offset of its own
        onA.emit("n", 2);
        assertThat(c.next()).isEqualTo("42[\"n\",2,\"2\"]");

        c.drop(); // received up to offset 2 ... but says 1, as if the last one was lost with the transport
        b.io.to("room").emit("n", 3);
        onA.to("room").emit("not-for-me", 0); // left out of the replay as it was left out live
        onA.emit("n", 4); // a direct emit through the socket A still holds: the broker routes it
        JsonNode[] again = new JsonNode[1];
        SioConnection d = b.connect(pidOffset(first[0], 1), again);
        assertThat(again[0].path("sid").asText()).isEqualTo(first[0].path("sid").asText());
        assertThat(again[0].path("pid").asText()).isEqualTo(first[0].path("pid").asText());
        assertThat(d.next()).isEqualTo("42[\"n\",2,\"2\"]");
        assertThat(d.next()).isEqualTo("42[\"n\",3,\"3\"]");
        assertThat(d.next()).isEqualTo("42[\"n\",4,\"4\"]");
        Socket onB = b.nextSocket();
        assertThat(onB.recovered()).isTrue();
        assertThat(onB.id()).isEqualTo(onA.id());
        assertThat(onB.rooms()).contains("room", onB.id());

        a.io.to("room").emit("n", 5);
        assertThat(d.next()).isEqualTo("42[\"n\",5,\"5\"]");
        Await.until(() -> a.io.sockets().sockets().isEmpty(), WAIT, "node A forgot the socket that moved");
        assertThat(b.io.sockets().socket(onA.id())).containsSame(onB);
        assertThat(b.tether.stats().resumed()).isEqualTo(1);
    }

    @Test
    void aRecoveryOnTheSameNodeGoesThroughTheBrokerToo() throws Exception {
        Node a = new Node(1024);
        new Node(1024);
        JsonNode[] first = new JsonNode[1];
        SioConnection c = a.connect("", first);
        Socket before = a.nextSocket();
        before.emit("n", 1);
        assertThat(c.next()).isEqualTo("42[\"n\",1,\"1\"]");
        c.drop();
        before.emit("n", 2);
        JsonNode[] again = new JsonNode[1];
        SioConnection d = a.connect(pidOffset(first[0], 1), again);
        assertThat(again[0].path("sid").asText()).isEqualTo(first[0].path("sid").asText());
        assertThat(d.next()).isEqualTo("42[\"n\",2,\"2\"]");
        Socket after = a.nextSocket();
        assertThat(after.recovered()).isTrue();
        assertThat(after.id()).isEqualTo(before.id());
        assertThat(a.io.sockets().sockets()).containsExactly(after);
    }

    @Test
    void aLongLivedSocketRecoversElsewhereThoughTheRoomsHistoryIsShorterThanItsLife() throws Exception {
        // The broker keeps 10 entries of the room; the socket's checkpoint follows its replay window (8).
        cluster = new InMemoryCluster(10);
        Node a = new Node(8);
        Node b = new Node(8);
        JsonNode[] first = new JsonNode[1];
        SioConnection c = a.connect("", first);
        a.nextSocket();
        Await.until(() -> a.tether.subscribers(ROOM) == 1, WAIT, "in the room through the broker");
        for (int i = 1; i <= 20; i++) {
            b.io.to("room").emit("n", i);
        }
        for (int i = 1; i <= 20; i++) {
            assertThat(c.next()).isEqualTo("42[\"n\"," + i + ",\"" + i + "\"]");
        }
        c.drop();
        JsonNode[] again = new JsonNode[1];
        SioConnection d = b.connect(pidOffset(first[0], 15), again);
        assertThat(again[0].path("sid").asText()).isEqualTo(first[0].path("sid").asText());
        for (int i = 16; i <= 20; i++) {
            assertThat(d.next()).isEqualTo("42[\"n\"," + i + ",\"" + i + "\"]");
        }
        assertThat(b.nextSocket().recovered()).isTrue();
    }

    /** A socket on {@code node} that was sent {@code events} events, read them, and lost its transport. */
    private static JsonNode socketThatReceivedAndLeft(Node node, int events) throws Exception {
        JsonNode[] reply = new JsonNode[1];
        SioConnection c = node.connect("", reply);
        Socket s = node.nextSocket();
        for (int i = 1; i <= events; i++) {
            s.emit("n", i);
        }
        for (int i = 1; i <= events; i++) {
            assertThat(c.next()).isEqualTo("42[\"n\"," + i + ",\"" + i + "\"]");
        }
        c.drop();
        return reply[0];
    }

    /** Asserts that a CONNECT with {@code auth} on {@code node} gets a new socket, not {@code sid}'s. */
    private static void getsANewSession(Node node, String auth, String sid) throws Exception {
        JsonNode[] reply = new JsonNode[1];
        SioConnection d = node.connect(auth, reply);
        assertThat(reply[0].path("sid").asText()).as(auth).isNotEqualTo(sid);
        assertThat(node.nextSocket().recovered()).isFalse();
        d.drop();
    }

    @Test
    void aRecoveryThatCannotBeHonouredGetsANewSessionOnAnyNode() throws Exception {
        Node a = new Node(8);
        Node b = new Node(8);
        JsonNode first = socketThatReceivedAndLeft(a, 20);
        String pid = first.path("pid").asText();
        String sid = first.path("sid").asText();
        String token = pid.substring(pid.indexOf('~') + 1);
        for (Node n : List.of(a, b)) {
            getsANewSession(n, "{\"pid\":\"" + pid + "x\",\"offset\":\"19\"}", sid);             // forged token
            getsANewSession(n, "{\"pid\":\"" + sid.substring(1) + "~" + token + "\",\"offset\":\"19\"}", sid); // unknown id
            getsANewSession(n, "{\"pid\":\"" + pid + "\",\"offset\":\"1x\"}", sid);              // not one of ours
        }
        // Those left it recoverable; an offset that left the replay window (8) ends it, as on one node.
        JsonNode[] reply = new JsonNode[1];
        SioConnection back = b.connect(pidOffset(first, 19), reply);
        assertThat(reply[0].path("sid").asText()).isEqualTo(sid);
        assertThat(back.next()).isEqualTo("42[\"n\",20,\"20\"]");
        assertThat(b.nextSocket().recovered()).isTrue();
        back.drop();
        getsANewSession(b, pidOffset(first, 2), sid);
        getsANewSession(b, pidOffset(first, 19), sid);

        JsonNode second = socketThatReceivedAndLeft(a, 3);
        getsANewSession(b, pidOffset(second, 99), second.path("sid").asText()); // beyond what was sent
        getsANewSession(a, pidOffset(second, 3), second.path("sid").asText());
    }
}
