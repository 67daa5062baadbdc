package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.spi.HandshakeRequest;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Credentials that expire inside a live session (PROTOCOL.md §12), on the in-memory transport:
 * the refresh request, the {@code auth} frame and its answers, and the close at expiry. The
 * hub's own timer drives it, with lifetimes of a second or two.
 */
class CredentialRefreshTest {

    /** A principal with one claim, its token's expiry, so that a test can tell fresh from stale. */
    record TokenPrincipal(String name, long exp) implements Principal {
        @Override
        public String getName() {
            return name;
        }
    }

    /**
     * Tokens {@code "<name>:<expiry epoch ms>"}; {@code "slow"} is never answered; anything else
     * is refused with 401.
     */
    static final Authenticator TOKENS = new Authenticator() {
        @Override
        public CompletionStage<AuthResult> authenticate(HandshakeRequest request) {
            return CompletableFuture.completedFuture(check(request.bearerToken().orElse("")));
        }

        @Override
        public CompletionStage<AuthResult> refresh(Principal current, String token) {
            return token.equals("slow") ? new CompletableFuture<>() : CompletableFuture.completedFuture(check(token));
        }
    };

    static AuthResult check(String token) {
        int colon = token.indexOf(':');
        if (colon <= 0) {
            return AuthResult.unauthorized("Not a token.");
        }
        long exp = Long.parseLong(token.substring(colon + 1));
        return accepted(token.substring(0, colon), exp);
    }

    static AuthResult.Accepted accepted(String name, long exp) {
        return new AuthResult.Accepted(new TokenPrincipal(name, exp), Instant.ofEpochMilli(exp));
    }

    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<Principal> subscribers = new LinkedBlockingQueue<>();
    private Tether tether;

    private void start(TetherConfig.Builder config) {
        tether = Tether.create(config
                .authenticator(TOKENS)
                .authorizer(new Authorizer() {
                    @Override
                    public boolean canSubscribe(Principal principal, String topic) {
                        subscribers.add(principal);
                        return true;
                    }
                })
                .errorHandler((context, error) -> { })
                .drainTimeout(Duration.ZERO)
                .build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        opened.add(session);
                    }
                });
    }

    private void start() {
        start(TetherConfig.builder());
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
    }

    private Session openedSession() throws InterruptedException {
        Session s = opened.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("onOpen").isNotNull();
        return s;
    }

    private static long in(long ms) {
        return System.currentTimeMillis() + ms;
    }

    private static String auth(long id, String token) {
        return "{\"t\":\"auth\",\"id\":" + id + ",\"token\":\"" + token + "\"}";
    }

    @Test
    void theVersionIsTheLowerOfTheClientsAndTheServers() {
        start();
        assertThat(InMemoryConnection.open(tether, accepted("alice", in(60_000))).hello(1).path("v").asInt()).isEqualTo(1);
        assertThat(InMemoryConnection.open(tether, accepted("alice", in(60_000))).hello(2).path("v").asInt()).isEqualTo(2);
        assertThat(InMemoryConnection.open(tether, accepted("alice", in(60_000))).hello(3).path("v").asInt()).isEqualTo(3);
        assertThat(InMemoryConnection.open(tether, accepted("alice", in(60_000))).hello(7).path("v").asInt()).isEqualTo(3);
    }

    @Test
    void aFreshTokenOfTheSamePrincipalAnswersTheRefreshRequestAndExtendsTheConnection() throws Exception {
        start();
        // The refresh comes a quarter of the lifetime before the expiry: 1.5 s to answer it, which a
        // loaded machine needs (a 1.5 s lifetime left 375 ms, and ran out once under load).
        long firstExpiry = in(6_000);
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", firstExpiry));
        assertThat(c.hello(2).path("v").asInt()).isEqualTo(2);
        Session s = openedSession();

        JsonNode ask = c.next("refresh");
        assertThat(ask.path("exp").asLong()).isEqualTo(firstExpiry);
        assertThat(ask.path("expiresInMs").asLong()).isBetween(0L, 6_000L);
        assertThat(c.closeCode).isNotDone();

        long secondExpiry = in(8_000);
        c.send(auth(7, "alice:" + secondExpiry));
        JsonNode ok = c.next("ok");
        assertThat(ok.path("id").asLong()).isEqualTo(7);
        assertThat(ok.path("exp").asLong()).isEqualTo(secondExpiry);
        assertThat(s.principal()).isEqualTo(new TokenPrincipal("alice", secondExpiry));

        // The next request is for the new expiry and comes after the first one passed: the
        // connection outlived its first credentials.
        JsonNode again = c.next("refresh");
        assertThat(again.path("exp").asLong()).isEqualTo(secondExpiry);
        assertThat(System.currentTimeMillis()).isGreaterThan(firstExpiry);
        assertThat(c.closeCode).isNotDone();

        // The authorizer sees the fresh claims.
        c.send("{\"t\":\"sub\",\"id\":8,\"topic\":\"room\"}");
        assertThat(c.next("ok").path("id").asLong()).isEqualTo(8);
        assertThat(subscribers.poll()).isEqualTo(new TokenPrincipal("alice", secondExpiry));
    }

    @Test
    void aTokenOfAnotherPrincipalOrABadOneIsRefusedAndTheConnectionClosesAtTheOldExpiry() throws Exception {
        start();
        long expiry = in(4_000); // a second, after the refresh, for two refusals
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", expiry));
        c.hello(2);
        Session s = openedSession();
        c.next("refresh");

        c.send(auth(1, "mallory:" + in(60_000)));
        JsonNode forbidden = c.next("error");
        assertThat(forbidden.path("id").asLong()).isEqualTo(1);
        assertThat(forbidden.path("code").asText()).isEqualTo("forbidden");

        c.send(auth(2, "garbage"));
        JsonNode unauthorized = c.next("error");
        assertThat(unauthorized.path("id").asLong()).isEqualTo(2);
        assertThat(unauthorized.path("code").asText()).isEqualTo("unauthorized");
        assertThat(unauthorized.path("message").asText()).isEqualTo("Not a token.");

        assertThat(c.awaitClose()).isEqualTo(CloseCodes.CREDENTIALS_EXPIRED);
        assertThat(System.currentTimeMillis()).isGreaterThanOrEqualTo(expiry);
        assertThat(s.principal()).isEqualTo(new TokenPrincipal("alice", expiry));
        assertThat(s.isClosed()).isFalse();
    }

    @Test
    void aTokenThatDoesNotExtendTheExpiryIsAcceptedButNotAskedForAgain() throws Exception {
        start();
        long expiry = in(4_000); // a second, after the refresh, for the answer
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", expiry));
        c.hello(2);
        openedSession();
        c.next("refresh");
        c.send(auth(1, "alice:" + expiry));
        assertThat(c.next("ok").path("exp").asLong()).isEqualTo(expiry);
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.CREDENTIALS_EXPIRED);
        assertThat(c.received.stream().filter(f -> f.path("t").asText().equals("refresh"))).isEmpty();
    }

    @Test
    void aVersion2ClientThatSendsNoTokenIsClosedWithCredentialsExpired() throws Exception {
        start();
        long expiry = in(1_000);
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", expiry));
        c.hello(2);
        Session s = openedSession();
        c.next("refresh");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.CREDENTIALS_EXPIRED);
        assertThat(c.closeReason).isEqualTo("credentials expired");
        assertThat(System.currentTimeMillis()).isGreaterThanOrEqualTo(expiry);
        assertThat(CloseCodes.isResumable(CloseCodes.CREDENTIALS_EXPIRED)).isTrue();
        assertThat(s.isClosed()).isFalse();
    }

    @Test
    void aVersion1ClientIsNeverAskedAndIsClosedWithCredentialsExpired() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", in(800)));
        assertThat(c.hello(1).path("v").asInt()).isEqualTo(1);
        openedSession();
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.CREDENTIALS_EXPIRED);
        assertThat(c.received).noneMatch(f -> f.path("t").asText().equals("refresh"));
    }

    @Test
    void aVersion1ClientMayNotSendAuth() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", in(60_000)));
        c.hello(1);
        c.send(auth(1, "alice:" + in(120_000)));
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
    }

    @Test
    void afterTheExpiryTheSessionResumesWithAFreshTokenOfTheSamePrincipalOnly() throws Exception {
        start();
        InMemoryConnection first = InMemoryConnection.open(tether, accepted("alice", in(800)));
        JsonNode welcome = first.hello(1);
        Session s = openedSession();
        assertThat(first.awaitClose()).isEqualTo(CloseCodes.CREDENTIALS_EXPIRED);
        s.send("while-away", Payload.text("kept"));
        String resume = "{\"t\":\"hello\",\"v\":2,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"" + welcome.path("token").asText() + "\",\"last\":0,\"attempt\":1}";

        InMemoryConnection thief = InMemoryConnection.open(tether, accepted("mallory", in(60_000)));
        thief.send(resume);
        assertThat(thief.awaitClose()).isEqualTo(CloseCodes.FORBIDDEN);

        long fresh = in(60_000);
        InMemoryConnection second = InMemoryConnection.open(tether, accepted("alice", fresh));
        second.send(resume);
        JsonNode resumed = second.next("welcome");
        assertThat(resumed.path("resumed").asBoolean()).isTrue();
        assertThat(resumed.path("v").asInt()).isEqualTo(2);
        JsonNode replayed = second.next("msg");
        assertThat(replayed.path("e").asText()).isEqualTo("while-away");
        assertThat(s.principal()).isEqualTo(new TokenPrincipal("alice", fresh));
    }

    @Test
    void aRefreshTheAuthenticatorDoesNotAnswerInTimeIsUnavailableAndOneAtATimeIsChecked() throws Exception {
        start(TetherConfig.builder().authenticationTimeout(Duration.ofMillis(200)));
        InMemoryConnection c = InMemoryConnection.open(tether, accepted("alice", in(60_000)));
        c.hello(2);
        Session s = openedSession();

        c.send(auth(1, "slow"));
        c.send(auth(2, "alice:" + in(120_000)));
        JsonNode busy = c.next("error");
        assertThat(busy.path("id").asLong()).isEqualTo(2);
        assertThat(busy.path("code").asText()).isEqualTo("busy");
        JsonNode unavailable = c.next("error");
        assertThat(unavailable.path("id").asLong()).isEqualTo(1);
        assertThat(unavailable.path("code").asText()).isEqualTo("unavailable");

        long later = in(120_000);
        c.send(auth(3, "alice:" + later));
        assertThat(c.next("ok").path("exp").asLong()).isEqualTo(later);
        assertThat(s.principal()).isEqualTo(new TokenPrincipal("alice", later));
        assertThat(c.closeCode).isNotDone();
    }

    @Test
    void credentialsThatNeverExpireAreNeverAskedFor() throws Exception {
        start();
        InMemoryConnection c = InMemoryConnection.open(tether, () -> "alice");
        c.hello(2);
        Session s = openedSession();
        s.send("hello", Payload.EMPTY);
        assertThat(c.next("msg").path("e").asText()).isEqualTo("hello");
        assertThat(c.received).noneMatch(f -> f.path("t").asText().equals("refresh"));
        assertThat(c.closeCode).isNotDone();
    }
}
