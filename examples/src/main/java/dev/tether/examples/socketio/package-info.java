/** The seed's Socket.IO server rewritten on Tether: stock socket.io-client apps connect unchanged. */
package dev.tether.examples.socketio;
