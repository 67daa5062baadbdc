package dev.tether.client;

/**
 * A snapshot of one client's counters (totals since it was built) and gauges (now). Values are
 * read one by one without a lock, so two of them may be a few events apart.
 *
 * @param connectAttempts     counter: WebSocket connections attempted (first connect and reconnects)
 * @param welcomes            counter: {@code welcome} frames received (successful handshakes)
 * @param resumes             counter: welcomes that resumed the previous session
 * @param sessionsLost        counter: resumes the server refused ({@code resumed:false}): state lost
 * @param gaps                counter: ranges of server messages reported lost ({@code gap})
 * @param messagesIn          counter: server messages handed to the listener
 * @param duplicatesIn        counter: replayed server messages dropped as already received
 * @param messagesOut         counter: application messages written (reliable, volatile, requests)
 * @param resent              counter: reliable messages written again after a resume
 * @param volatileDropped     counter: volatile messages dropped (not connected, or backed up)
 * @param protocolErrors      counter: connections dropped because the server broke the protocol
 * @param callbackErrors      counter: listener callbacks that threw
 * @param unacknowledged      gauge: reliable messages queued or sent and not yet acknowledged
 * @param pendingRequests     gauge: requests waiting for a reply
 * @since 0.1.0
 */
public record ClientStats(
        long connectAttempts,
        long welcomes,
        long resumes,
        long sessionsLost,
        long gaps,
        long messagesIn,
        long duplicatesIn,
        long messagesOut,
        long resent,
        long volatileDropped,
        long protocolErrors,
        long callbackErrors,
        long unacknowledged,
        long pendingRequests) {
}
