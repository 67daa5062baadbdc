/**
 * Socket.IO v4 compatibility: a familiar server API ({@link dev.tether.socketio.SocketIo},
 * {@link dev.tether.socketio.Namespace}, {@link dev.tether.socketio.Socket}) over the Tether engine,
 * so that existing {@code socket.io-client} 4.x applications connect to a Tether server unchanged.
 * Every socket is a Tether session: the same bounded queues, replay buffer, limits and
 * slow-consumer policy as native sessions. A transport (such as {@code SocketIoHandler} of the
 * Undertow module) serves the Engine.IO endpoint.
 */
package dev.tether.socketio;
