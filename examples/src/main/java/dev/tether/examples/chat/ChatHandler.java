package dev.tether.examples.chat;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import java.util.Objects;

/**
 * The seed scenario in Tether's terms: every session joins the room {@value #ROOM}; a
 * {@code message} is answered with {@code response} / "Message received!" and broadcast to the
 * room as {@code chat}. A {@code echo} request is answered with its own payload. No per-message
 * logging: at ten thousand clients that alone saturates a core.
 */
public final class ChatHandler implements SessionHandler {

    /** The room every session joins. */
    public static final String ROOM = "chat";

    private volatile Tether tether;

    /** Gives the handler the hub to publish on; call once, before the server starts. */
    public void bind(Tether tether) {
        this.tether = Objects.requireNonNull(tether, "tether");
    }

    @Override
    public void onOpen(Session session) {
        session.subscribe(ROOM);
    }

    @Override
    public void onMessage(Session session, Message message) {
        if (message.event().equals("message")) {
            session.send("response", Payload.text("Message received!"));
            tether.publish(ROOM, "chat", message.payload());
        }
    }

    @Override
    public void onRequest(Session session, Message message, Responder responder) {
        if (message.event().equals("echo")) {
            responder.reply(message.payload());
        } else {
            SessionHandler.super.onRequest(session, message, responder);
        }
    }
}
