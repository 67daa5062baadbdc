// An in-memory WebSocket for unit tests: the test plays the server.
import { decodeFrame } from "../../dist/index.js";

export class FakeSocket {
  /** Every socket the client opened, oldest first. */
  static instances = [];

  static reset() {
    FakeSocket.instances = [];
  }

  /** The socket the client opened last. */
  static get last() {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  constructor(url) {
    this.url = new URL(url);
    this.binaryType = "blob";
    this.readyState = 0;
    this.bufferedAmount = 0;
    this.sent = [];
    this.closedWith = undefined;
    this.terminated = false;
    this.listeners = new Map();
    FakeSocket.instances.push(this);
  }

  addEventListener(type, listener) {
    if (!this.listeners.has(type)) {
      this.listeners.set(type, []);
    }
    this.listeners.get(type).push(listener);
  }

  dispatch(type, event) {
    for (const l of this.listeners.get(type) ?? []) {
      l(event);
    }
  }

  send(data) {
    if (this.readyState !== 1) {
      throw new Error("not open");
    }
    this.sent.push(data);
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  terminate() {
    this.terminated = true;
    this.readyState = 3;
  }

  // ---- the test's side

  /** The upgrade succeeded. */
  open() {
    this.readyState = 1;
    this.dispatch("open", {});
  }

  /** The server sends a frame: an object (text JSON), a string, or bytes (binary frame). */
  receive(frame) {
    let data = frame;
    if (frame instanceof Uint8Array) {
      data = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
    } else if (typeof frame !== "string") {
      data = JSON.stringify(frame);
    }
    this.dispatch("message", { data });
  }

  /** The server closes the connection. */
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.dispatch("close", { code, reason });
  }

  /** The upgrade failed (as `ws` reports a refused one). */
  refuse(status) {
    this.readyState = 3;
    this.dispatch("error", { message: `Unexpected server response: ${status}` });
    this.dispatch("close", { code: 1006, reason: "" });
  }

  /** The frames the client sent, decoded: `{...fields, d?}`, binary payloads as `payload`. */
  frames() {
    return this.sent.map((data) => {
      const f = decodeFrame(typeof data === "string" ? data : data);
      return typeof data === "string" ? f.fields : { ...f.fields, payload: f.payload };
    });
  }

  /** The decoded frames of type `t`. */
  framesOf(t) {
    return this.frames().filter((f) => f.t === t);
  }
}

/** A welcome with the server's defaults and `overrides`. */
export function welcome(overrides = {}) {
  return {
    t: "welcome", v: 3, sid: "s-1", token: "tok-1", resumed: false, lastClientSeq: 0,
    hb: 25_000, hbTimeout: 20_000, maxMessageBytes: 65_536, ...overrides,
  };
}
