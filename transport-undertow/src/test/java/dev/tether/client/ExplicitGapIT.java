package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.testing.Await;
import dev.tether.testing.ChaosProxy;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What cannot be repaired is reported, with the right numbers, to both applications: a session
 * that expired while its client was away, and messages that overflowed a detached session's queue.
 * The client is kept away by a proxy that resets new connections.
 */
class ExplicitGapIT {

    private final BlockingQueue<String> serverEvents = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> clientEvents = new LinkedBlockingQueue<>();
    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private Tether tether;
    private TetherServer server;
    private ChaosProxy proxy;
    private TetherClient client;

    private void start(TetherConfig.Builder config) throws Exception {
        tether = Tether.create(config.build(), new SessionHandler() {
            @Override
            public void onOpen(Session session) {
                opened.add(session);
            }

            @Override
            public void onClose(Session session, int code, String reason) {
                serverEvents.add("closed:" + reason);
            }

            @Override
            public void onGap(Session session, long fromSeq, long toSeq, String reason) {
                serverEvents.add("gap:" + fromSeq + ".." + toSeq + ":" + reason);
            }

            @Override
            public void onResumeFailed(Session session, String previousSessionId, String reason) {
                serverEvents.add("resumeFailed:" + reason);
            }
        });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        proxy = ChaosProxy.start(new InetSocketAddress("127.0.0.1", server.port()));
        client = TetherClient.builder(URI.create("ws://127.0.0.1:" + proxy.port() + "/tether"))
                .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(100))
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onMessage(TetherClient c, Message message) {
                        clientEvents.add("msg:" + message.payload().asText());
                    }

                    @Override
                    public void onGap(TetherClient c, long fromSeq, long toSeq, String reason) {
                        clientEvents.add("gap:" + fromSeq + ".." + toSeq + ":" + reason);
                    }

                    @Override
                    public void onSessionLost(TetherClient c, String reason, List<Message> unacknowledged) {
                        clientEvents.add("lost:" + reason + ":" + unacknowledged.size());
                    }
                }).build();
        client.connect().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        client.close();
        proxy.close();
        tether.close();
        server.close();
    }

    @Test
    void resumeAfterTheRetentionWindowIsReportedAsSessionLostOnBothSides() throws Exception {
        start(TetherConfig.builder().sessionRetention(Duration.ofMillis(300)));
        Session first = opened.poll(10, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        proxy.refuseNew(true);
        proxy.cutAll();
        assertThat(serverEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("closed:session expired");
        proxy.refuseNew(false);

        assertThat(clientEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("lost:expired:0");
        assertThat(serverEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("resumeFailed:expired");
        Session second = opened.poll(10, TimeUnit.SECONDS);
        assertThat(second).isNotNull();
        assertThat(second.id()).isNotEqualTo(first.id()).isEqualTo(client.sessionId());
        assertThat(tether.stats().gaps()).isEqualTo(1);
    }

    @Test
    void overflowWhileAwayIsReportedAsTheSameGapOnBothSides() throws Exception {
        start(TetherConfig.builder().outboundQueueCapacity(8).volatileQueueLimit(0));
        Session session = opened.poll(10, TimeUnit.SECONDS);
        assertThat(session).isNotNull();
        session.send("n", Payload.text("0"));
        assertThat(clientEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("msg:0");
        proxy.refuseNew(true);
        proxy.cutAll();
        awaitDetached(session);
        int queued = 0;
        for (int i = 1; i <= 50; i++) {
            if (session.send("n", Payload.text(Integer.toString(i))) == SendResult.ENQUEUED) {
                queued++;
            }
        }
        proxy.refuseNew(false);

        for (int i = 1; i <= queued; i++) {
            assertThat(clientEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("msg:" + i);
        }
        String gap = "gap:" + (2 + queued) + ".." + 51 + ":overflow"; // seq 1 was "0"
        assertThat(clientEvents.poll(10, TimeUnit.SECONDS)).isEqualTo(gap);
        assertThat(serverEvents.poll(10, TimeUnit.SECONDS)).isEqualTo(gap);
        session.send("n", Payload.text("after"));
        assertThat(clientEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("msg:after");
    }

    private static void awaitDetached(Session session) throws InterruptedException {
        Await.until(() -> !session.isConnected(), Duration.ofSeconds(10), "session detached");
    }
}
