/**
 * Frame encoding and decoding of the `tether-json` protocol (PROTOCOL.md §1, §2): a text frame is
 * a UTF-8 JSON object; a binary frame is a 4-byte unsigned big-endian header length, the UTF-8
 * JSON header (the object without `d`) and the payload bytes.
 *
 * Pure functions over strings, `Uint8Array` and `ArrayBuffer`: no Node-only API.
 *
 * @packageDocumentation
 */

/** The highest protocol version this client speaks (PROTOCOL.md §3). */
export const PROTOCOL_VERSION = 3;

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A message payload: a `string` is a text payload, a `Uint8Array` a binary one (sent as a binary
 * frame), anything else a JSON value (`undefined` is sent as JSON `null`).
 */
export type Payload = JsonValue | Uint8Array;

/** An encoded frame, ready for `WebSocket.send`: text, or the bytes of a binary frame. */
export type WireFrame = string | Uint8Array;

/** A frame the server broke the protocol with. */
export class FrameError extends Error {
  override name = "FrameError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Room for `t`, `seq`, `rid` and punctuation, as the Java client's size bound. */
const FRAME_OVERHEAD_BYTES = 96;

/**
 * Encodes a frame: `header` is the frame without `d`; with a binary `payload` the result is a
 * binary frame, otherwise a text frame with `d` (left out for `undefined`).
 */
export function encodeFrame(header: Record<string, unknown>, payload?: Payload | undefined): WireFrame {
  if (payload instanceof Uint8Array) {
    const head = encoder.encode(JSON.stringify(header));
    const out = new Uint8Array(4 + head.length + payload.length);
    new DataView(out.buffer).setUint32(0, head.length, false);
    out.set(head, 4);
    out.set(payload, 4 + head.length);
    return out;
  }
  if (payload === undefined) {
    return JSON.stringify(header);
  }
  return JSON.stringify({ ...header, d: payload });
}

/** An upper bound of the encoded size in bytes of a `msg` with these names and payload. */
export function frameBytes(event: string, topic: string | undefined, payload: Payload | undefined): number {
  let n = FRAME_OVERHEAD_BYTES + utf8Length(event) + (topic === undefined ? 0 : utf8Length(topic));
  if (payload instanceof Uint8Array) {
    n += payload.length + 4;
  } else if (payload !== undefined) {
    n += utf8Length(JSON.stringify(payload) ?? "null");
  }
  return n;
}

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      n += 1;
    } else if (c < 0x800) {
      n += 2;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else {
      n += 3;
    }
  }
  return n;
}

/** A decoded server frame: its JSON object, and the payload (`d`, or the binary bytes). */
export interface DecodedFrame {
  /** The frame's fields (for a binary frame, the header). */
  readonly fields: Record<string, unknown>;
  /** The frame type, `t`. */
  readonly type: string;
  /** The payload: `d` of a text frame (`null` if absent), the bytes of a binary frame. */
  readonly payload: Payload;
}

/**
 * Decodes one WebSocket message.
 *
 * @param data a `string` (text frame), or an `ArrayBuffer` / `Uint8Array` (binary frame)
 * @throws FrameError if it is not a well-formed frame
 */
export function decodeFrame(data: string | ArrayBuffer | ArrayBufferView): DecodedFrame {
  if (typeof data === "string") {
    const fields = parseObject(data);
    const d = fields["d"];
    return { fields, type: frameType(fields), payload: d === undefined ? null : (d as JsonValue) };
  }
  const bytes = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 4) {
    throw new FrameError("binary frame shorter than its 4-byte header length");
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  if (headerLength > bytes.length - 4) {
    throw new FrameError(`binary frame header length ${headerLength} exceeds the frame (${bytes.length} bytes)`);
  }
  let headerText: string;
  try {
    headerText = decoder.decode(bytes.subarray(4, 4 + headerLength));
  } catch {
    throw new FrameError("binary frame header is not UTF-8");
  }
  const fields = parseObject(headerText);
  if ("d" in fields) {
    throw new FrameError("binary frame header carries 'd'");
  }
  // A copy: the application owns it, whatever the socket does with its buffer.
  return { fields, type: frameType(fields), payload: bytes.slice(4 + headerLength) };
}

function parseObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameError("frame is not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FrameError("frame is not a JSON object");
  }
  return value as Record<string, unknown>;
}

function frameType(fields: Record<string, unknown>): string {
  const t = fields["t"];
  if (typeof t !== "string" || t.length === 0) {
    throw new FrameError("frame without a type 't'");
  }
  return t;
}

/**
 * A non-negative integer field: `fallback` if absent (throws if `fallback` is `undefined`),
 * a {@link FrameError} if present and not an integer `>= min`.
 */
export function intField(fields: Record<string, unknown>, name: string, min: number, fallback?: number): number {
  const v = fields[name];
  if (v === undefined || v === null) {
    if (fallback === undefined) {
      throw new FrameError(`'${String(fields["t"])}' without '${name}'`);
    }
    return fallback;
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new FrameError(`'${String(fields["t"])}'.${name} is not an integer >= ${min}: ${JSON.stringify(v)}`);
  }
  return v;
}

/** A string field: `fallback` if absent (throws if `fallback` is `undefined`). */
export function textField(fields: Record<string, unknown>, name: string, fallback?: string): string {
  const v = fields[name];
  if (v === undefined || v === null) {
    if (fallback === undefined) {
      throw new FrameError(`'${String(fields["t"])}' without '${name}'`);
    }
    return fallback;
  }
  if (typeof v !== "string") {
    throw new FrameError(`'${String(fields["t"])}'.${name} is not a string`);
  }
  return v;
}

/** An object field, or `undefined` if absent. */
export function objectField(fields: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = fields[name];
  if (v === undefined || v === null) {
    return undefined;
  }
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new FrameError(`'${String(fields["t"])}'.${name} is not an object`);
  }
  return v as Record<string, unknown>;
}

/**
 * `hello`: a new session without `sid`; a resume with `sid`, `token`, `last`, `attempt` and, for
 * a message that had one, its cluster position `pos` (PROTOCOL.md §3, §13).
 */
export function hello(resume?: { sid: string; token: string; last: number; attempt: number; pos: number }): string {
  if (resume === undefined) {
    return JSON.stringify({ t: "hello", v: PROTOCOL_VERSION });
  }
  const frame: Record<string, unknown> = {
    t: "hello", v: PROTOCOL_VERSION, sid: resume.sid, token: resume.token, last: resume.last, attempt: resume.attempt,
  };
  if (resume.pos > 0) {
    frame["pos"] = resume.pos;
  }
  return JSON.stringify(frame);
}

/** `msg`: `seq` 0 for a volatile message, `rid` 0 if no reply is expected. */
export function message(seq: number, rid: number, event: string, topic: string | undefined, payload: Payload): WireFrame {
  const header: Record<string, unknown> = { t: "msg" };
  if (seq > 0) {
    header["seq"] = seq;
  }
  if (rid > 0) {
    header["rid"] = rid;
  }
  header["e"] = event;
  if (topic !== undefined) {
    header["topic"] = topic;
  }
  return encodeFrame(header, payload === undefined ? null : payload);
}

/** `reply` with a payload. */
export function reply(rid: number, payload: Payload): WireFrame {
  return encodeFrame({ t: "reply", rid }, payload === undefined ? null : payload);
}

/** `reply` with an error. */
export function replyError(rid: number, code: string, message: string): string {
  return JSON.stringify({ t: "reply", rid, err: { code, message } });
}

/** `ack`: cumulative acknowledgement up to `seq`. */
export function ack(seq: number): string {
  return JSON.stringify({ t: "ack", seq });
}

/** `pong`, with the cumulative acknowledgement if `ackSeq > 0`. */
export function pong(ackSeq: number): string {
  return ackSeq > 0 ? JSON.stringify({ t: "pong", ack: ackSeq }) : JSON.stringify({ t: "pong" });
}

/** `sub` or `unsub`. */
export function topicFrame(subscribe: boolean, id: number, topic: string): string {
  return JSON.stringify({ t: subscribe ? "sub" : "unsub", id, topic });
}

/** `auth`: a fresh token for the live connection (PROTOCOL.md §12). */
export function auth(id: number, token: string): string {
  return JSON.stringify({ t: "auth", id, token });
}
