import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeFrame, encodeFrame, FrameError } from "../../dist/index.js";
import * as codec from "../../dist/codec.js";

test("a text frame is the JSON object with d", () => {
  const frame = encodeFrame({ t: "msg", seq: 3, e: "chat" }, { text: "hé" });
  assert.equal(typeof frame, "string");
  assert.deepEqual(JSON.parse(frame), { t: "msg", seq: 3, e: "chat", d: { text: "hé" } });
  const decoded = decodeFrame(frame);
  assert.equal(decoded.type, "msg");
  assert.deepEqual(decoded.payload, { text: "hé" });
});

test("a text payload is a JSON string; a missing d decodes as null", () => {
  assert.deepEqual(JSON.parse(codec.message(1, 0, "e", undefined, "hi")), { t: "msg", seq: 1, e: "e", d: "hi" });
  assert.equal(decodeFrame('{"t":"msg","e":"x"}').payload, null);
});

test("a binary frame is a 4-byte big-endian header length, the JSON header and the payload", () => {
  const payload = Uint8Array.from([0, 1, 2, 255, 254]);
  const frame = codec.message(7, 2, "blob", "room", payload);
  assert.ok(frame instanceof Uint8Array);
  const headerLength = (frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3];
  const header = JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + headerLength)));
  assert.deepEqual(header, { t: "msg", seq: 7, rid: 2, e: "blob", topic: "room" });
  assert.deepEqual([...frame.subarray(4 + headerLength)], [...payload]);
});

test("a binary frame decodes from an ArrayBuffer and a view, into a copy", () => {
  const bytes = codec.reply(9, Uint8Array.from([5, 6, 7]));
  const fromBuffer = decodeFrame(bytes.buffer.slice(0));
  assert.equal(fromBuffer.type, "reply");
  assert.equal(fromBuffer.fields.rid, 9);
  assert.deepEqual([...fromBuffer.payload], [5, 6, 7]);
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  const fromView = decodeFrame(padded.subarray(3));
  assert.deepEqual([...fromView.payload], [5, 6, 7]);
  padded[padded.length - 1] = 0;
  assert.deepEqual([...fromView.payload], [5, 6, 7], "the payload does not alias the socket's buffer");
});

test("an empty binary payload round-trips", () => {
  const decoded = decodeFrame(codec.reply(1, new Uint8Array(0)));
  assert.ok(decoded.payload instanceof Uint8Array);
  assert.equal(decoded.payload.length, 0);
});

test("malformed frames are FrameErrors", () => {
  for (const bad of ["not json", "[1,2]", "null", '{"x":1}', '{"t":""}']) {
    assert.throws(() => decodeFrame(bad), FrameError, bad);
  }
  assert.throws(() => decodeFrame(new Uint8Array([0, 0])), FrameError);
  assert.throws(() => decodeFrame(new Uint8Array([0, 0, 0, 9, 123])), FrameError);
  const withD = new TextEncoder().encode('{"t":"msg","d":1}');
  const frame = new Uint8Array(4 + withD.length);
  frame[3] = withD.length;
  frame.set(withD, 4);
  assert.throws(() => decodeFrame(frame), /carries 'd'/);
});

test("hello: new session, and a resume with attempt and pos only when known", () => {
  assert.deepEqual(JSON.parse(codec.hello()), { t: "hello", v: 3 });
  assert.deepEqual(JSON.parse(codec.hello({ sid: "s", token: "k", last: 4, attempt: 2, pos: 0 })),
    { t: "hello", v: 3, sid: "s", token: "k", last: 4, attempt: 2 });
  assert.equal(JSON.parse(codec.hello({ sid: "s", token: "k", last: 4, attempt: 2, pos: 901733 })).pos, 901733);
});

test("utf8Length counts bytes as TextEncoder does", () => {
  for (const s of ["", "abc", "hé", "€", "😀x", "a\u0000b"]) {
    assert.equal(codec.utf8Length(s), new TextEncoder().encode(s).length, s);
  }
});

test("pong carries the ack only when there is one", () => {
  assert.deepEqual(JSON.parse(codec.pong(0)), { t: "pong" });
  assert.deepEqual(JSON.parse(codec.pong(5)), { t: "pong", ack: 5 });
});
