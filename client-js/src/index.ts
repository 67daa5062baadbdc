/**
 * `@tether/client`: a browser and Node client for Tether's native protocol `tether-json`
 * (PROTOCOL.md in the Tether repository). No runtime dependencies: it uses
 * `globalThis.WebSocket`, or the constructor given in the options (in Node 20, the `ws`
 * package's).
 *
 * @packageDocumentation
 */
export {
  TetherClient,
  RequestError,
  HandshakeError,
  ConnectionClosedError,
  DEFAULTS,
  reconnectable,
} from "./client.js";
export type {
  ClientState,
  SendResult,
  Message,
  RequestHandler,
  WebSocketLike,
  WebSocketConstructor,
  TokenSource,
  TetherClientOptions,
  ClientEvents,
  ClientStats,
} from "./client.js";
export { PROTOCOL_VERSION, FrameError, encodeFrame, decodeFrame } from "./codec.js";
export type { Payload, JsonValue, WireFrame, DecodedFrame } from "./codec.js";
export { Backoff } from "./backoff.js";
