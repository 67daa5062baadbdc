import * as codec from "./codec.js";
import { FrameError, intField, objectField, textField } from "./codec.js";
import type { DecodedFrame, Payload, WireFrame } from "./codec.js";
import { Backoff } from "./backoff.js";
import { Accept, InboundSequence, UnackedBuffer } from "./sequence.js";
import type { SentMessage } from "./sequence.js";

/**
 * The states of a {@link TetherClient}, reported by its `"state"` event:
 *
 * - `idle`: never connected, or the first connect failed (`connect()` may be called again);
 * - `connecting`: the first connection is being opened;
 * - `connected`: welcomed into a new session;
 * - `reconnecting`: the connection was lost; waiting (backoff) or opening the next one;
 * - `resumed`: welcomed on a new connection, the previous session continues;
 * - `closed`: stopped for good, never reconnects.
 */
export type ClientState = "idle" | "connecting" | "connected" | "reconnecting" | "resumed" | "closed";

/**
 * The outcome of {@link TetherClient.send}:
 *
 * - `queued`: a reliable message is numbered and kept until the server acknowledges it (it is
 *   sent when connected and resent after a resume); a volatile one was handed to the socket;
 * - `full`: `maxUnacked` reliable messages already wait for an acknowledgement; nothing was
 *   queued, try again later;
 * - `dropped`: a volatile message while not connected, or while the socket is backed up;
 * - `closed`: the client is closed.
 */
export type SendResult = "queued" | "full" | "dropped" | "closed";

/** A message from the server, or (in `sessionLost`) one of the application's reliable messages. */
export interface Message {
  /** The event name, not empty. */
  readonly event: string;
  /** A `string` (text), a `Uint8Array` (binary) or a JSON value. */
  readonly payload: Payload;
  /** The topic it was published on, if any. */
  readonly topic?: string | undefined;
}

/**
 * Answers a request from the server (PROTOCOL.md §6): return (or resolve with) the reply's
 * payload; throw (or reject with) a {@link RequestError} to answer with its `code`, any other
 * error answers with code `error`.
 */
export type RequestHandler = (request: Message) => Payload | Promise<Payload>;

/**
 * The minimal WebSocket this client needs: the browser's `WebSocket` and the `ws` package's both
 * fit. A `terminate()` method, if present (as in `ws`), is used to drop a dead connection at once.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  terminate?(): void;
}

/** A WebSocket constructor, such as `globalThis.WebSocket` or `ws`'s `WebSocket`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Where a bearer token comes from: a fixed token, or a function asked on every connect. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of a {@link TetherClient}; every one has a default. */
export interface TetherClientOptions {
  /**
   * The bearer token, sent as the `access_token` query parameter of every upgrade request
   * (browsers cannot set headers, PROTOCOL.md §1), and in `auth` when the server asks for a
   * fresh one (§12). A function is asked before every connection attempt and every refresh; it
   * may return a promise. Default: none.
   */
  token?: TokenSource;
  /** The WebSocket constructor. Default: `globalThis.WebSocket` (Node 20 has none: inject `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** First reconnect's longest wait (full jitter, PROTOCOL.md §10). Default 250 ms. */
  backoffBaseMs?: number;
  /** Longest wait of any reconnect. Default 30 000 ms. */
  backoffMaxMs?: number;
  /** Acknowledge server messages after this many at the latest. Default 32. */
  ackEvery?: number;
  /** Acknowledge server messages this long after the first unacknowledged one. Default 200 ms. */
  ackDelayMs?: number;
  /** Reliable messages queued or sent and not yet acknowledged, past which `send` says `full`. Default 1024. */
  maxUnacked?: number;
  /** Bound on each connection attempt, from asking for the token to the `welcome`. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Default timeout of {@link TetherClient.request}. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /**
   * Heartbeat watchdog: when nothing at all arrived for the server's `hb + hbTimeout` plus this
   * grace, the connection is dropped and resumed (PROTOCOL.md §7). Default 0; a negative value
   * turns the watchdog off.
   */
  watchdogGraceMs?: number;
  /** Bytes buffered in the socket past which volatile messages are dropped. Default 1 MiB. */
  volatileBacklogBytes?: number;
  /** A uniform random number in `[0, 1)`, for the backoff jitter. Default `Math.random`. */
  random?: () => number;
}

/** Defaults of {@link TetherClientOptions}, as the Java reference client's. */
export const DEFAULTS = Object.freeze({
  backoffBaseMs: 250,
  backoffMaxMs: 30_000,
  ackEvery: 32,
  ackDelayMs: 200,
  maxUnacked: 1024,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  watchdogGraceMs: 0,
  volatileBacklogBytes: 1 << 20,
});

/** A request, subscription or refresh that failed; `code` says why. */
export class RequestError extends Error {
  override name = "RequestError";
  /** No reply within the timeout. */
  static readonly TIMEOUT = "timeout";
  /** The client closed, or the session was lost, first. */
  static readonly CLOSED = "closed";
  /** `maxUnacked` messages wait for an acknowledgement. */
  static readonly OVERFLOW = "overflow";

  /**
   * @param code `timeout`, `closed`, `overflow`, or the server's code (`unhandled`, `forbidden`, ...)
   * @param message what happened
   */
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The server refused the WebSocket upgrade, or the upgrade failed. `status` is the HTTP status
 * (401, 403, 503) when the WebSocket implementation exposes it (`ws` does, browsers do not).
 */
export class HandshakeError extends Error {
  override name = "HandshakeError";

  constructor(readonly status: number | undefined, message: string) {
    super(message);
  }
}

/** A connection closed with `code` before the `welcome`, or with a terminal code. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";

  constructor(readonly code: number, readonly reason: string) {
    super(`connection closed with ${code}${reason ? `: ${reason}` : ""}`);
  }
}

/** The events of a {@link TetherClient} and their listeners' arguments. */
export interface ClientEvents {
  /** The state changed. */
  state: (state: ClientState) => void;
  /** A connection was welcomed; `resumed` if the previous session continues. */
  open: (info: { resumed: boolean }) => void;
  /** A message from the server: reliable ones exactly once and in order. */
  message: (message: Message) => void;
  /** Server messages `from..to` are lost for good: re-fetch the state they carried. */
  gap: (gap: { from: number; to: number; reason: string }) => void;
  /**
   * The server no longer had the session: the client has a new one (re-subscribing by itself).
   * `unacknowledged` are the old session's reliable messages the server had not acknowledged:
   * they may or may not have been processed, and are not resent. Before `open`.
   */
  sessionLost: (info: { reason: string; unacknowledged: Message[] }) => void;
  /** A welcomed connection ended; unless `closed` follows, the client reconnects and resumes. */
  disconnected: (info: { code: number; reason: string }) => void;
  /** Something not reported elsewhere: a refused publish or re-subscription, a listener that threw. */
  error: (error: Error) => void;
  /** Stopped for good: `cause` is `undefined` after {@link TetherClient.close}. The last event. */
  closed: (cause: Error | undefined) => void;
}

/** Counters of a client, for tests and monitoring. */
export interface ClientStats {
  connectAttempts: number;
  welcomes: number;
  resumes: number;
  sessionsLost: number;
  gaps: number;
  messagesIn: number;
  duplicatesIn: number;
  messagesOut: number;
  resent: number;
  volatileDropped: number;
  protocolErrors: number;
  listenerErrors: number;
  unacked: number;
  pendingRequests: number;
}

type Timer = ReturnType<typeof setTimeout>;

/** One WebSocket and its progress. */
class Connection {
  socket: WebSocketLike | undefined;
  opened = false;
  /** The last `error` event's message, for the HTTP status of a refused upgrade. */
  lastError = "";
  constructor(readonly resumeAsked: boolean) {}
}

interface PendingRequest {
  readonly event: string;
  readonly timeoutMs: number;
  readonly resolve: (payload: Payload) => void;
  readonly reject: (error: Error) => void;
  rid: number;
  timer: Timer | undefined;
  settled: boolean;
}

interface TopicOp {
  readonly subscribe: boolean;
  readonly topic: string;
  /** `undefined` for an automatic re-subscription. */
  readonly done: { resolve: () => void; reject: (e: Error) => void } | undefined;
  id: number;
}

type Internal = "idle" | "connecting" | "handshaking" | "open" | "waiting" | "closed";

/** WebSocket close codes the client reconnects after (PROTOCOL.md §9). */
export function reconnectable(code: number): boolean {
  if (code >= 4000 && code < 4500) {
    return code !== 4010;
  }
  return code === 1001 || code === 1002 || code === 1006 || code === 1011
    || code === 1012 || code === 1013 || code === 1014;
}

const OPEN = 1;
/** The close code this client uses when it drops a connection it will resume (not 1000: that ends the session). */
const ABANDON_CODE = 4000;

/**
 * A Tether client: one logical session with a Tether server, kept across connection losses
 * (protocol `tether-json` version 3, PROTOCOL.md).
 *
 * ```ts
 * const client = new TetherClient("ws://127.0.0.1:8080/tether", { token: () => getToken() });
 * client.on("message", (m) => console.log(m.event, m.payload));
 * await client.connect();
 * client.send("chat", { text: "hi" });
 * const answer = await client.request("echo", "ping", { timeoutMs: 5000 });
 * ```
 *
 * **Delivery.** Reliable messages (`send`, `request`) are numbered, kept until the server
 * acknowledges them (at most `maxUnacked`) and resent after a resume, so the server application
 * sees each exactly once. Server messages are de-duplicated by sequence number, so `"message"`
 * listeners see each exactly once and in order. What cannot be repaired is reported, never
 * dropped silently: `"gap"` for server messages lost for good, `"sessionLost"` when the server no
 * longer had the session.
 *
 * **Reconnecting.** After the first successful `connect()`, a connection lost for any reason but
 * `close()` or a terminal close code (1000, 1003, 1007-1010, 4010, 4500-4999, or an upgrade
 * refused with HTTP 403, or 401 twice) is re-established with exponential backoff and full
 * jitter, and the session resumed.
 *
 * **Threading.** Everything runs on the JavaScript event loop; listeners are called
 * synchronously, in order. A listener that throws is counted and reported to `"error"`.
 */
export class TetherClient {
  private readonly url: URL;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly tokenSource: TokenSource | undefined;
  private readonly backoff: Backoff;
  private readonly ackEvery: number;
  private readonly ackDelayMs: number;
  private readonly maxUnacked: number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly watchdogGraceMs: number;
  private readonly volatileBacklogBytes: number;
  private readonly random: () => number;

  private readonly listeners = new Map<keyof ClientEvents, Set<(...args: any[]) => void>>();
  private requestHandler: RequestHandler | undefined;
  private readonly counters: Omit<ClientStats, "unacked" | "pendingRequests"> = {
    connectAttempts: 0, welcomes: 0, resumes: 0, sessionsLost: 0, gaps: 0, messagesIn: 0,
    duplicatesIn: 0, messagesOut: 0, resent: 0, volatileDropped: 0, protocolErrors: 0, listenerErrors: 0,
  };

  private publicState: ClientState = "idle";
  private phase: Internal = "idle";
  private current: Connection | undefined;
  private connectWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> | undefined;
  private everWelcomed = false;
  private sid: string | undefined;
  private resumeToken: string | undefined;
  private sessionEpoch = 0;
  private readonly inbound: InboundSequence;
  private readonly outbound = new UnackedBuffer();
  private highestWrittenSeq = 0;
  private readonly requests = new Map<number, PendingRequest>();
  private nextRid = 1;
  private readonly wantedTopics = new Set<string>();
  private topicOps: TopicOp[] = [];
  private readonly topicOpsById = new Map<number, TopicOp>();
  private nextOpId = 1;
  private attempt = 0;
  private minReconnectDelayMs = 0;
  private heartbeatLimitMs = 0;
  private resumeAttempt = 0;
  private unauthorizedRetried = false;
  private refreshing: Connection | undefined;
  private authId = 0;
  private maxMessageBytes = 0;
  private ackTimer: Timer | undefined;
  private watchdog: Timer | undefined;
  private handshakeTimer: Timer | undefined;
  private reconnectTimer: Timer | undefined;

  /**
   * A client of the server at `url`, not connected yet: call {@link connect}.
   *
   * @param url the WebSocket address, `ws://` or `wss://`, such as `ws://127.0.0.1:8080/tether`
   * @param options see {@link TetherClientOptions}
   * @throws TypeError if the URL is not `ws:`/`wss:` or no WebSocket implementation is available
   * @throws RangeError naming the first invalid option
   */
  constructor(url: string | URL, options: TetherClientOptions = {}) {
    this.url = new URL(String(url));
    if (this.url.protocol !== "ws:" && this.url.protocol !== "wss:") {
      throw new TypeError(`url: scheme must be ws or wss: ${String(url)}`);
    }
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (impl === undefined) {
      throw new TypeError("no WebSocket implementation: pass options.WebSocket (in Node 20, the 'ws' package's)");
    }
    this.WebSocketImpl = impl;
    this.tokenSource = options.token;
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    positive("ackEvery", o.ackEvery);
    positive("ackDelayMs", o.ackDelayMs);
    positive("connectTimeoutMs", o.connectTimeoutMs);
    positive("requestTimeoutMs", o.requestTimeoutMs);
    positive("volatileBacklogBytes", o.volatileBacklogBytes);
    if (!Number.isInteger(o.maxUnacked) || o.maxUnacked < 1 || o.maxUnacked > 1 << 20) {
      throw new RangeError(`maxUnacked: must be in 1..1048576, was ${o.maxUnacked}`);
    }
    this.backoff = new Backoff(o.backoffBaseMs, o.backoffMaxMs);
    this.ackEvery = o.ackEvery;
    this.ackDelayMs = o.ackDelayMs;
    this.maxUnacked = o.maxUnacked;
    this.connectTimeoutMs = o.connectTimeoutMs;
    this.requestTimeoutMs = o.requestTimeoutMs;
    this.watchdogGraceMs = o.watchdogGraceMs;
    this.volatileBacklogBytes = o.volatileBacklogBytes;
    this.random = options.random ?? Math.random;
    this.inbound = new InboundSequence(this.ackEvery);
  }

  // ================================================================== public API

  /** The current state, as last reported by the `"state"` event. */
  get state(): ClientState {
    return this.publicState;
  }

  /** Whether a connection is open and welcomed now. */
  get connected(): boolean {
    return this.phase === "open";
  }

  /** The current session id, `undefined` before the first `welcome`. */
  get sessionId(): string | undefined {
    return this.sid;
  }

  /** The topics this client wants to be subscribed to (a copy). */
  get topics(): string[] {
    return [...this.wantedTopics];
  }

  /** A snapshot of the client's counters. */
  stats(): ClientStats {
    return { ...this.counters, unacked: this.outbound.size, pendingRequests: this.requests.size };
  }

  /**
   * Adds a listener; returns a function that removes it.
   *
   * @param type the event, see {@link ClientEvents}
   * @param listener called synchronously, in order of the events
   */
  on<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => this.off(type, listener);
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof ClientEvents>(type: K, listener: ClientEvents[K]): void {
    this.listeners.get(type)?.delete(listener);
  }

  /**
   * Sets the handler of requests from the server (PROTOCOL.md §6). Without one, requests are
   * answered with the error code `unhandled`. If the connection is lost before the answer is
   * written, the answer is dropped and the server's request times out.
   */
  onRequest(handler: RequestHandler | undefined): this {
    this.requestHandler = handler;
    return this;
  }

  /**
   * Opens the first connection and starts the session. Resolves when the server's `welcome`
   * arrives. Rejects, and the client stays `idle` so that `connect()` may be called again, when
   * that first attempt fails: with a {@link HandshakeError} if the upgrade failed (status 401,
   * 403, 503 when known), a {@link ConnectionClosedError} if the connection closed before the
   * `welcome`, or the token source's error. The first connect is not retried; once connected, the
   * client reconnects by itself. Calling it again while connecting or connected returns the
   * same outcome.
   *
   * @throws Error if the client was closed
   */
  connect(): Promise<void> {
    if (this.phase === "closed") {
      return Promise.reject(new Error("client is closed"));
    }
    if (this.everWelcomed) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const first = this.connectWaiters === undefined;
      (this.connectWaiters ??= []).push({ resolve, reject });
      if (first && this.phase === "idle") {
        this.openConnection();
      }
    });
  }

  /**
   * Sends a message to the server application. Reliable by default: numbered, kept until the
   * server acknowledges it, resent after a resume; queued even while disconnected (and before
   * `connect()`). `{reliable: false}` sends a volatile message: never resent, dropped when not
   * connected. `{topic}` publishes on a topic instead (if the server's authorizer allows it).
   *
   * @returns see {@link SendResult}; never drops a reliable message silently
   * @throws TypeError if `event` is not a non-empty string
   * @throws RangeError if the message exceeds the server's `maxMessageBytes`
   */
  send(event: string, payload: Payload = null, options: { reliable?: boolean; topic?: string } = {}): SendResult {
    requireName("event", event);
    const topic = options.topic;
    if (topic !== undefined) {
      requireName("topic", topic);
    }
    if (this.phase === "closed") {
      return "closed";
    }
    this.checkSize(event, topic, payload);
    if (options.reliable === false) {
      const conn = this.current;
      if (this.phase !== "open" || conn?.socket === undefined
          || conn.socket.bufferedAmount > this.volatileBacklogBytes) {
        this.counters.volatileDropped++;
        return "dropped";
      }
      this.write(conn, codec.message(0, 0, event, topic, payload));
      this.counters.messagesOut++;
      return "queued";
    }
    if (this.outbound.size >= this.maxUnacked) {
      return "full";
    }
    this.appendReliable({ event, payload, topic }, undefined);
    return "queued";
  }

  /**
   * Sends a reliable message that expects a reply from the server application.
   *
   * @param options `timeoutMs`: how long to wait, counted from now across reconnects
   *     (default `requestTimeoutMs`)
   * @returns the reply's payload; rejects with a {@link RequestError}: `timeout`, the server's
   *     code (such as `unhandled`), `overflow` if `maxUnacked` messages wait for an
   *     acknowledgement, or `closed` if the client closed or the session was lost first
   * @throws TypeError / RangeError for an empty event, a bad timeout or a too large message
   */
  request(event: string, payload: Payload = null, options: { timeoutMs?: number } = {}): Promise<Payload> {
    requireName("event", event);
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    positive("timeoutMs", timeoutMs);
    if (this.phase === "closed") {
      return Promise.reject(new RequestError(RequestError.CLOSED, "client is closed"));
    }
    this.checkSize(event, undefined, payload);
    if (this.outbound.size >= this.maxUnacked) {
      return Promise.reject(new RequestError(RequestError.OVERFLOW,
        `${this.maxUnacked} messages are waiting for an acknowledgement`));
    }
    return new Promise<Payload>((resolve, reject) => {
      const request: PendingRequest = {
        event, timeoutMs, resolve, reject, rid: 0, timer: undefined, settled: false,
      };
      this.appendReliable({ event, payload, topic: undefined }, request);
    });
  }

  /**
   * Subscribes the session to a topic (PROTOCOL.md §8). Remembered: the server keeps it across
   * a resume, and the client subscribes again by itself in a new session. Sent once connected.
   *
   * @returns resolves when the server confirmed; rejects with a {@link RequestError} with the
   *     server's code (such as `forbidden`; the topic is then forgotten) or `closed`
   */
  subscribe(topic: string): Promise<void> {
    return this.topicOperation(true, topic);
  }

  /** Unsubscribes the session from a topic and forgets it; resolves when the server confirmed. */
  unsubscribe(topic: string): Promise<void> {
    return this.topicOperation(false, topic);
  }

  /**
   * For tests and fault injection: drops the current connection without a close handshake, as
   * if the network had failed; the client reconnects with backoff and resumes.
   */
  dropConnection(): void {
    const conn = this.current;
    if (conn?.socket !== undefined && (this.phase === "open" || this.phase === "handshaking")) {
      this.connectionEnded(conn, 1006, "dropped by the application", true);
    }
  }

  /**
   * Closes the client: a close frame with code 1000 ends the session on the server; the client
   * never reconnects. Unacknowledged messages are discarded, pending requests and subscriptions
   * reject with `closed`, then `"closed"` is emitted with no cause. Idempotent.
   */
  close(): void {
    if (this.phase === "closed") {
      return;
    }
    const conn = this.current;
    this.current = undefined;
    if (conn?.socket !== undefined) {
      const socket = conn.socket;
      if (socket.readyState === OPEN) {
        try {
          socket.close(1000, "client closed");
        } catch {
          abort(socket);
        }
      } else {
        abort(socket);
      }
    }
    this.terminate(undefined);
  }

  // ================================================================== sending

  private appendReliable(message: SentMessage, request: PendingRequest | undefined): void {
    let rid = 0;
    if (request !== undefined) {
      rid = this.nextRid++;
      request.rid = rid;
      this.requests.set(rid, request);
      request.timer = setTimeout(() => this.requestTimedOut(request), request.timeoutMs);
    }
    const seq = this.outbound.nextSeq;
    const frame = codec.message(seq, rid, message.event, message.topic, message.payload);
    this.outbound.append(frame, request === undefined ? message : undefined);
    if (this.phase === "open" && this.current !== undefined) {
      this.write(this.current, frame);
      this.highestWrittenSeq = seq;
      this.counters.messagesOut++;
    }
  }

  private requestTimedOut(request: PendingRequest): void {
    if (this.requests.get(request.rid) !== request) {
      return;
    }
    this.requests.delete(request.rid);
    settle(request, new RequestError(RequestError.TIMEOUT,
      `no reply to '${request.event}' within ${request.timeoutMs} ms`));
  }

  private failRequests(why: string): void {
    for (const request of this.requests.values()) {
      settle(request, new RequestError(RequestError.CLOSED, `'${request.event}': ${why}`));
    }
    this.requests.clear();
  }

  private checkSize(event: string, topic: string | undefined, payload: Payload): void {
    const max = this.maxMessageBytes;
    if (max > 0) {
      const size = codec.frameBytes(event, topic, payload);
      if (size > max) {
        throw new RangeError(`message of up to ${size} bytes exceeds the server's maxMessageBytes ${max}`);
      }
    }
  }

  private write(conn: Connection, frame: WireFrame): void {
    const socket = conn.socket;
    if (socket === undefined || socket.readyState !== OPEN) {
      return; // its close event follows; a reliable frame stays in the buffer for the resume
    }
    try {
      socket.send(frame);
    } catch (e) {
      this.connectionEnded(conn, 1006, `send failed: ${errorMessage(e)}`, true);
    }
  }

  // ================================================================== topics

  private topicOperation(subscribe: boolean, topic: string): Promise<void> {
    requireName("topic", topic);
    if (this.phase === "closed") {
      return Promise.reject(new RequestError(RequestError.CLOSED, "client is closed"));
    }
    return new Promise<void>((resolve, reject) => {
      const op: TopicOp = { subscribe, topic, done: { resolve, reject }, id: 0 };
      if (subscribe) {
        this.wantedTopics.add(topic);
      } else {
        this.wantedTopics.delete(topic);
      }
      this.topicOps.push(op);
      if (this.phase === "open" && this.current !== undefined) {
        this.writeTopicOp(this.current, op);
      }
    });
  }

  private writeTopicOp(conn: Connection, op: TopicOp): void {
    op.id = this.nextOpId++;
    this.topicOpsById.set(op.id, op);
    this.write(conn, codec.topicFrame(op.subscribe, op.id, op.topic));
  }

  /** After a welcome: resend unanswered operations; in a new session, subscribe again to every topic. */
  private restoreTopics(conn: Connection, resumed: boolean): void {
    this.topicOpsById.clear();
    const ops: TopicOp[] = [];
    if (!resumed) {
      const covered = new Set(this.topicOps.map((op) => op.topic));
      for (const topic of this.wantedTopics) {
        if (!covered.has(topic)) {
          ops.push({ subscribe: true, topic, done: undefined, id: 0 });
        }
      }
      // A new session has no subscription: an unsubscribe without a pending subscribe is done.
      const subscribing = new Set<string>();
      this.topicOps = this.topicOps.filter((op) => {
        if (op.subscribe) {
          subscribing.add(op.topic);
          return true;
        }
        if (!subscribing.has(op.topic)) {
          op.done?.resolve();
          return false;
        }
        return true;
      });
    }
    this.topicOps = [...ops, ...this.topicOps];
    for (const op of this.topicOps) {
      this.writeTopicOp(conn, op);
    }
  }

  private topicAnswer(id: number, code: string | undefined, message: string): void {
    const op = this.topicOpsById.get(id);
    if (op === undefined) {
      return; // an answer for a connection we already left
    }
    this.topicOpsById.delete(id);
    this.topicOps = this.topicOps.filter((o) => o !== op);
    if (code === undefined) {
      op.done?.resolve();
      return;
    }
    if (op.subscribe && !this.topicOps.some((o) => o.subscribe && o.topic === op.topic)) {
      this.wantedTopics.delete(op.topic);
    }
    const refused = new RequestError(code,
      `${op.subscribe ? "subscribe to" : "unsubscribe from"} '${op.topic}' refused: ${message}`);
    if (op.done !== undefined) {
      op.done.reject(refused);
    } else {
      this.emit("error", refused);
    }
  }

  // ================================================================== connections

  private openConnection(): void {
    const conn = new Connection(this.sid !== undefined);
    this.current = conn;
    this.phase = "connecting";
    this.setState(this.everWelcomed ? "reconnecting" : "connecting");
    this.counters.connectAttempts++;
    this.handshakeTimer = setTimeout(() => {
      if (conn === this.current && (this.phase === "connecting" || this.phase === "handshaking")) {
        const what = this.phase === "connecting" ? "no connection" : "no welcome";
        if (conn.socket === undefined || !conn.opened) {
          if (conn.socket !== undefined) {
            abort(conn.socket);
          }
          this.upgradeFailed(conn, new HandshakeError(undefined, `${what} within ${this.connectTimeoutMs} ms`));
        } else {
          this.connectionEnded(conn, 1006, `${what} within ${this.connectTimeoutMs} ms`, true);
        }
      }
    }, this.connectTimeoutMs);
    if (this.tokenSource === undefined) {
      this.upgrade(conn, undefined);
      return;
    }
    this.fetchToken().then((token) => {
      if (conn === this.current && this.phase === "connecting") {
        this.upgrade(conn, token);
      }
    }, (error: unknown) => {
      if (conn === this.current && this.phase === "connecting") {
        const failure = new Error(`no token: ${errorMessage(error)}`, { cause: error });
        if (this.everWelcomed) {
          this.emit("error", failure);
        }
        this.upgradeFailed(conn, failure);
      }
    });
  }

  private async fetchToken(): Promise<string> {
    const source = this.tokenSource;
    const token = typeof source === "function" ? await source() : source;
    if (typeof token !== "string" || token.length === 0) {
      throw new Error("the token source gave no token");
    }
    return token;
  }

  private upgrade(conn: Connection, token: string | undefined): void {
    const url = new URL(this.url.href);
    if (token !== undefined) {
      url.searchParams.set("access_token", token);
    }
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketImpl(url.href);
      socket.binaryType = "arraybuffer";
    } catch (e) {
      this.upgradeFailed(conn, new HandshakeError(undefined, `cannot open the WebSocket: ${errorMessage(e)}`));
      return;
    }
    conn.socket = socket;
    socket.addEventListener("open", () => this.opened(conn));
    socket.addEventListener("message", (event: { data: unknown }) => this.received(conn, event.data));
    socket.addEventListener("error", (event: { message?: unknown; error?: unknown }) => {
      conn.lastError = String(event?.message ?? errorMessage(event?.error) ?? "");
    });
    socket.addEventListener("close", (event: { code?: number; reason?: string }) => {
      if (conn !== this.current) {
        return;
      }
      if (!conn.opened) {
        this.upgradeFailed(conn, refusal(conn.lastError));
      } else {
        this.connectionEnded(conn, event?.code ?? 1006, event?.reason ?? "", false);
      }
    });
  }

  private opened(conn: Connection): void {
    if (conn !== this.current || this.phase !== "connecting" || conn.socket === undefined) {
      if (conn.socket !== undefined && conn !== this.current) {
        abort(conn.socket);
      }
      return;
    }
    conn.opened = true;
    this.phase = "handshaking";
    const resume = conn.resumeAsked && this.sid !== undefined && this.resumeToken !== undefined
      ? { sid: this.sid, token: this.resumeToken, last: this.inbound.last, attempt: ++this.resumeAttempt,
        pos: this.inbound.lastPosition }
      : undefined;
    this.write(conn, codec.hello(resume));
  }

  private upgradeFailed(conn: Connection, error: Error): void {
    if (conn !== this.current || !this.forgetConnection(() => error)) {
      return;
    }
    const status = error instanceof HandshakeError ? error.status : undefined;
    if (status === 401 && typeof this.tokenSource === "function" && !this.unauthorizedRetried) {
      // The token may have expired while we were away: one more, fresh from the source.
      this.unauthorizedRetried = true;
      this.scheduleReconnect();
      return;
    }
    if (status === 401 || status === 403) {
      this.terminate(error);
      return;
    }
    this.scheduleReconnect();
  }

  /**
   * The current connection is gone: forgets it and its timers. False when there is nothing more
   * to do: the client is closed, or no connection was ever welcomed, in which case `connect()`
   * fails with `error()` and the client is idle again (the first connect is never retried).
   */
  private forgetConnection(error: () => Error): boolean {
    this.current = undefined;
    this.cancelConnectionTimers();
    if (this.phase === "closed") {
      return false;
    }
    if (!this.everWelcomed) {
      this.phase = "idle";
      this.setState("idle");
      this.failConnect(error());
      return false;
    }
    return true;
  }

  /**
   * A welcomed (or handshaking) connection ended. `drop`: the client itself gives the
   * connection up (watchdog, protocol violation, fault injection), so it is aborted first.
   */
  private connectionEnded(conn: Connection, code: number, reason: string, drop: boolean): void {
    if (conn !== this.current) {
      return;
    }
    if (drop && conn.socket !== undefined) {
      abort(conn.socket);
    }
    const wasOpen = this.phase === "open";
    if (!this.forgetConnection(() => new ConnectionClosedError(code, reason))) {
      return;
    }
    if (wasOpen) {
      this.emit("disconnected", { code, reason });
    }
    if (!reconnectable(code)) {
      this.terminate(new ConnectionClosedError(code, reason));
      return;
    }
    this.scheduleReconnect();
  }

  private violation(conn: Connection, problem: string): void {
    this.counters.protocolErrors++;
    this.connectionEnded(conn, 1002, `protocol violation: ${problem}`, true);
  }

  private scheduleReconnect(): void {
    this.phase = "waiting";
    this.setState("reconnecting");
    const delayMs = this.backoff.delayMs(this.attempt, this.minReconnectDelayMs, this.random);
    this.attempt = Math.min(this.attempt + 1, 62);
    this.minReconnectDelayMs = 0;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.phase === "waiting") {
        this.openConnection();
      }
    }, delayMs);
  }

  private failConnect(cause: Error): void {
    const waiters = this.connectWaiters;
    this.connectWaiters = undefined;
    waiters?.forEach((w) => w.reject(cause));
  }

  /** Stops for good: fails what waits, emits `closed` last. */
  private terminate(cause: Error | undefined): void {
    this.phase = "closed";
    this.current = undefined;
    this.cancelConnectionTimers();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failRequests("client closed");
    for (const op of this.topicOps) {
      op.done?.reject(new RequestError(RequestError.CLOSED, "client closed"));
    }
    this.topicOps = [];
    this.topicOpsById.clear();
    this.outbound.clear();
    this.failConnect(cause ?? new Error("client closed before connecting"));
    this.setState("closed");
    this.emit("closed", cause);
  }

  private cancelConnectionTimers(): void {
    clearTimeout(this.ackTimer);
    clearTimeout(this.watchdog);
    clearTimeout(this.handshakeTimer);
    this.ackTimer = undefined;
    this.watchdog = undefined;
    this.handshakeTimer = undefined;
  }

  // ================================================================== receiving

  private received(conn: Connection, data: unknown): void {
    if (conn !== this.current) {
      return;
    }
    try {
      if (typeof data !== "string" && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
        throw new FrameError("a WebSocket message that is neither text nor binary (binaryType must be 'arraybuffer')");
      }
      this.handle(conn, codec.decodeFrame(data));
    } catch (e) {
      if (e instanceof FrameError || e instanceof RangeError) {
        this.violation(conn, e.message);
        return;
      }
      throw e;
    }
  }

  private handle(conn: Connection, frame: DecodedFrame): void {
    this.armWatchdog(conn);
    const f = frame.fields;
    if (this.phase === "handshaking") {
      if (frame.type === "welcome") {
        this.welcome(conn, f);
      } else if (frame.type === "reconnect") {
        this.minReconnectDelayMs = intField(f, "afterMs", 0);
      } else {
        throw new FrameError(`expected 'welcome', got '${frame.type}'`);
      }
      return;
    }
    switch (frame.type) {
      case "msg":
        this.message(conn, frame);
        break;
      case "reply":
        this.reply(frame);
        break;
      case "ack":
        this.acknowledged(intField(f, "seq", 0));
        break;
      case "ping":
        this.ping(conn, f);
        break;
      case "ok":
        this.ok(intField(f, "id", 1));
        break;
      case "error":
        this.error(f);
        break;
      case "gap":
        this.gap(conn, f);
        break;
      case "refresh":
        this.refreshRequested(conn, f);
        break;
      case "reconnect":
        this.minReconnectDelayMs = intField(f, "afterMs", 0);
        break;
      case "welcome":
        throw new FrameError("'welcome' on an established connection");
      default:
        // A frame type of a later protocol version: ignored (PROTOCOL.md §2).
        break;
    }
  }

  private welcome(conn: Connection, f: Record<string, unknown>): void {
    const newSid = textField(f, "sid");
    const newToken = textField(f, "token");
    const resumed = f["resumed"] === true;
    if (typeof f["resumed"] !== "boolean") {
      throw new FrameError("'welcome' without a boolean 'resumed'");
    }
    const lastClientSeq = intField(f, "lastClientSeq", 0, 0);
    const hbMs = intField(f, "hb", 1, 25_000);
    const hbTimeoutMs = intField(f, "hbTimeout", 1, 20_000);
    const maxBytes = intField(f, "maxMessageBytes", 1, 0);
    const gap = objectField(f, "gap");
    if (resumed && !conn.resumeAsked) {
      throw new FrameError("'welcome' resumed a session the client did not ask to resume");
    }
    if (resumed && lastClientSeq > this.outbound.highestSeq) {
      throw new FrameError(`'welcome'.lastClientSeq ${lastClientSeq} is beyond the highest seq sent, ${this.outbound.highestSeq}`);
    }
    let gapFrom = 0;
    let gapTo = 0;
    let gapReason: string | undefined;
    if (resumed && gap !== undefined) {
      gapFrom = intField(gap, "from", 1);
      gapTo = intField(gap, "to", gapFrom, gapFrom);
      gapReason = textField(gap, "reason", "overflow");
      this.inbound.checkSkip(gapFrom, gapTo);
    }
    const lostReason = !resumed && gap !== undefined ? textField(gap, "reason", "unknown") : "unknown";
    // Validated: nothing below may fail, so a broken welcome leaves the state untouched.
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;

    let lost: SentMessage[] | undefined;
    if (resumed) {
      this.release(lastClientSeq);
      this.inbound.resumed();
      this.counters.resumes++;
    } else {
      if (conn.resumeAsked) {
        lost = this.outbound.clear();
        this.highestWrittenSeq = 0;
        this.failRequests("session lost before the reply");
        this.counters.sessionsLost++;
      }
      this.inbound.reset();
      this.sessionEpoch++;
      this.resumeAttempt = 0;
    }
    const reportGap = gapReason !== undefined && this.inbound.skip(gapFrom, gapTo);

    this.sid = newSid;
    this.resumeToken = newToken;
    this.maxMessageBytes = maxBytes;
    this.heartbeatLimitMs = hbMs + hbTimeoutMs + this.watchdogGraceMs;
    this.phase = "open";
    this.everWelcomed = true;
    this.unauthorizedRetried = false;
    this.refreshing = undefined;
    this.authId = 0;
    this.attempt = 0;
    this.minReconnectDelayMs = 0;
    this.counters.welcomes++;

    // Subscriptions first, so that they are in place before messages that may trigger publishes;
    // then the resend, before any listener runs (a listener may send).
    this.restoreTopics(conn, resumed);
    const from = Math.max(resumed ? lastClientSeq + 1 : 1, this.outbound.firstSeq);
    for (let seq = from; seq <= this.outbound.highestSeq; seq++) {
      this.write(conn, this.outbound.frame(seq));
      if (seq <= this.highestWrittenSeq) {
        this.counters.resent++;
      } else {
        this.counters.messagesOut++;
        this.highestWrittenSeq = seq;
      }
    }
    this.armWatchdog(conn);

    if (lost !== undefined) {
      this.emit("sessionLost", { reason: lostReason, unacknowledged: lost.map((m) => ({ ...m })) });
    }
    this.setState(resumed ? "resumed" : "connected");
    this.emit("open", { resumed });
    if (reportGap) {
      this.counters.gaps++;
      this.emit("gap", { from: gapFrom, to: gapTo, reason: gapReason as string });
      this.afterAccept(conn);
    }
    const waiters = this.connectWaiters;
    this.connectWaiters = undefined;
    waiters?.forEach((w) => w.resolve());
  }

  private message(conn: Connection, frame: DecodedFrame): void {
    const f = frame.fields;
    const event = textField(f, "e");
    if (event.length === 0) {
      throw new FrameError("'msg' with an empty event");
    }
    const seq = intField(f, "seq", 1, 0);
    const rid = intField(f, "rid", 1, 0);
    const pos = intField(f, "pos", 1, 0);
    const topic = f["topic"] === undefined ? undefined : textField(f, "topic");
    if (seq > 0) {
      const verdict = this.inbound.accept(seq, pos);
      if (verdict === Accept.Duplicate) {
        this.counters.duplicatesIn++;
        return;
      }
      if (verdict === Accept.OutOfOrder) {
        throw new FrameError(`'msg'.seq ${seq} after ${this.inbound.last} leaves a hole`);
      }
      this.afterAccept(conn);
    }
    this.counters.messagesIn++;
    const message: Message = topic === undefined
      ? { event, payload: frame.payload }
      : { event, payload: frame.payload, topic };
    if (rid > 0) {
      this.answer(rid, message);
    } else {
      this.emit("message", message);
    }
  }

  /** Runs the request handler for a server request and writes its answer, if still possible. */
  private answer(rid: number, message: Message): void {
    const epoch = this.sessionEpoch;
    const handler = this.requestHandler;
    const send = (frame: WireFrame) => {
      if (this.phase === "open" && this.current !== undefined && epoch === this.sessionEpoch) {
        this.write(this.current, frame);
      }
    };
    const fail = (e: unknown) => {
      if (e instanceof RequestError) {
        send(codec.replyError(rid, e.code, e.message));
      } else {
        send(codec.replyError(rid, "error", "the client's request handler failed"));
        this.emit("error", e instanceof Error ? e : new Error(String(e)));
      }
    };
    if (handler === undefined) {
      send(codec.replyError(rid, "unhandled", `no request handler for '${message.event}'`));
      return;
    }
    let result: Payload | Promise<Payload>;
    try {
      result = handler(message);
    } catch (e) {
      fail(e);
      return;
    }
    Promise.resolve(result).then((payload) => {
      try {
        send(codec.reply(rid, payload));
      } catch (e) {
        fail(e); // a payload that cannot be encoded (a BigInt, a cycle)
      }
    }, fail);
  }

  private reply(frame: DecodedFrame): void {
    const f = frame.fields;
    const rid = intField(f, "rid", 1);
    const err = objectField(f, "err");
    const request = this.requests.get(rid);
    if (request === undefined) {
      return; // it timed out, or belonged to a lost session
    }
    this.requests.delete(rid);
    if (err !== undefined) {
      settle(request, new RequestError(textField(err, "code", "error"), textField(err, "message", "")));
    } else {
      settle(request, undefined, frame.payload);
    }
  }

  private ping(conn: Connection, f: Record<string, unknown>): void {
    this.acknowledged(intField(f, "ack", 0, 0));
    let ours = 0;
    if (this.inbound.hasUnacked()) {
      ours = this.inbound.takeAck();
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
    this.write(conn, codec.pong(ours));
  }

  private acknowledged(seq: number): void {
    if (seq > this.outbound.highestSeq) {
      throw new FrameError(`ack ${seq} is beyond the highest seq sent, ${this.outbound.highestSeq}`);
    }
    this.release(seq);
  }

  private release(seq: number): void {
    this.outbound.releaseUpTo(seq);
  }

  private gap(conn: Connection, f: Record<string, unknown>): void {
    const from = intField(f, "from", 1);
    const to = intField(f, "to", 1);
    const reason = textField(f, "reason", "overflow");
    if (this.inbound.skip(from, to)) {
      this.counters.gaps++;
      this.emit("gap", { from, to, reason });
      this.afterAccept(conn);
    }
  }

  private ok(id: number): void {
    if (id === this.authId) {
      this.refreshing = undefined;
      this.authId = 0;
    } else {
      this.topicAnswer(id, undefined, "");
    }
  }

  private error(f: Record<string, unknown>): void {
    const id = intField(f, "id", 1, 0);
    const seq = intField(f, "seq", 0, 0);
    const code = textField(f, "code", "error");
    const message = textField(f, "message", "");
    if (id > 0 && id === this.authId) {
      this.refreshing = undefined;
      this.authId = 0;
      this.emit("error", new RequestError(code, `token refresh refused: ${message}`));
      return;
    }
    if (id > 0 && this.topicOpsById.has(id)) {
      this.topicAnswer(id, code, message);
      return;
    }
    this.emit("error", new RequestError(code,
      `server refused ${seq === 0 ? "a volatile message" : `message seq ${seq}`}: ${message}`));
  }

  /** The server asks for a fresh token (PROTOCOL.md §12): fetch one and send `auth`. */
  private refreshRequested(conn: Connection, f: Record<string, unknown>): void {
    intField(f, "expiresInMs", 0, 0);
    if (this.tokenSource === undefined || this.refreshing === conn) {
      return;
    }
    this.refreshing = conn;
    this.authId = 0;
    this.fetchToken().then((token) => {
      if (conn !== this.current || this.phase !== "open" || this.refreshing !== conn) {
        return;
      }
      this.authId = this.nextOpId++; // one numbering with sub/unsub, so that answers cannot be confused
      this.write(conn, codec.auth(this.authId, token));
    }, (error: unknown) => {
      if (this.refreshing === conn) {
        this.refreshing = undefined;
        this.emit("error", new Error(`no token: ${errorMessage(error)}`, { cause: error }));
      }
    });
  }

  // ================================================================== acknowledging, watchdog

  /** A reliable message (or a gap) was accepted: acknowledge now, or arm the ack timer. */
  private afterAccept(conn: Connection): void {
    if (this.inbound.ackDue()) {
      this.sendAck(conn);
    } else if (this.inbound.firstUnacked()) {
      clearTimeout(this.ackTimer);
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        if (conn === this.current && this.phase === "open" && this.inbound.hasUnacked()) {
          this.sendAck(conn);
        }
      }, this.ackDelayMs);
    }
  }

  private sendAck(conn: Connection): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.write(conn, codec.ack(this.inbound.takeAck()));
  }

  /** Every inbound frame re-arms the watchdog: silence past `hb + hbTimeout` drops the connection. */
  private armWatchdog(conn: Connection): void {
    if (this.phase !== "open" || this.watchdogGraceMs < 0 || this.heartbeatLimitMs <= 0) {
      return;
    }
    clearTimeout(this.watchdog);
    const limitMs = this.heartbeatLimitMs;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (conn === this.current && this.phase === "open") {
        this.connectionEnded(conn, 4002, `nothing from the server for ${limitMs} ms`, true);
      }
    }, limitMs);
  }

  // ================================================================== events

  private setState(state: ClientState): void {
    if (this.publicState !== state) {
      this.publicState = state;
      this.emit("state", state);
    }
  }

  private emit<K extends keyof ClientEvents>(type: K, ...args: Parameters<ClientEvents[K]>): void {
    const set = this.listeners.get(type);
    if (set === undefined) {
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (e) {
        this.counters.listenerErrors++;
        if (type !== "error") {
          this.emit("error", e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
  }
}

// ==================================================================== helpers

function settle(request: PendingRequest, error: Error | undefined, payload?: Payload): void {
  if (request.settled) {
    return;
  }
  request.settled = true;
  clearTimeout(request.timer);
  if (error !== undefined) {
    request.reject(error);
  } else {
    request.resolve(payload === undefined ? null : payload);
  }
}

/** Drops a socket without waiting for the peer: `terminate()` where there is one (`ws`). */
function abort(socket: WebSocketLike): void {
  try {
    if (typeof socket.terminate === "function") {
      socket.terminate();
    } else {
      socket.close(ABANDON_CODE, "client gives the connection up");
    }
  } catch {
    // Already closed.
  }
}

/** The error of an upgrade that never opened: with the HTTP status when the implementation said it. */
function refusal(lastError: string): HandshakeError {
  const match = /\b([1-5]\d\d)\b/.exec(/response|status/i.test(lastError) ? lastError : "");
  const status = match ? Number(match[1]) : undefined;
  const what = status === 401 ? "unauthorized" : status === 403 ? "forbidden" : status === 503 ? "unavailable" : "refused";
  return new HandshakeError(status, status !== undefined
    ? `${what}: the server refused the WebSocket upgrade with HTTP ${status}`
    : `the WebSocket upgrade failed${lastError ? `: ${lastError}` : " (refused or unreachable)"}`);
}

function requireName(what: string, name: unknown): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

function positive(what: string, value: number): void {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${what}: must be a positive number, was ${value}`);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
