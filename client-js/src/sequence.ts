import type { Payload, WireFrame } from "./codec.js";

/** What {@link InboundSequence.accept} found. */
export const Accept = {
  /** The next message in order: hand it to the application. */
  Deliver: 0,
  /** Already received (a replay after resume): drop it silently. */
  Duplicate: 1,
  /** A hole in the numbering: impossible for a correct server. */
  OutOfOrder: 2,
} as const;

/** One of the values of {@link Accept}. */
export type Accept = (typeof Accept)[keyof typeof Accept];

/**
 * De-duplication and acknowledgement pacing of the server's reliable messages in one session
 * (PROTOCOL.md §4, §5).
 */
export class InboundSequence {
  private lastSeq = 0;
  private lastPos = 0;
  private lastAcked = 0;
  private sinceAck = 0;

  /** @param ackEvery acknowledge after this many messages at the latest, at least 1 */
  constructor(private readonly ackEvery: number) {
    if (!(ackEvery >= 1)) {
      throw new RangeError("ackEvery must be at least 1");
    }
  }

  /** Classifies a received `seq`; records it (with its cluster position, 0 if none) if delivered. */
  accept(seq: number, pos: number): Accept {
    if (seq === this.lastSeq + 1) {
      this.lastSeq = seq;
      this.lastPos = pos;
      this.sinceAck++;
      return Accept.Deliver;
    }
    return seq <= this.lastSeq ? Accept.Duplicate : Accept.OutOfOrder;
  }

  /**
   * Validates a gap `from..to`: `false` for one already behind us (replayed), an error for one
   * that would leave a hole.
   */
  checkSkip(from: number, to: number): boolean {
    if (from < 1 || to < from) {
      throw new RangeError(`bad gap ${from}..${to}`);
    }
    if (to <= this.lastSeq) {
      return false;
    }
    if (from > this.lastSeq + 1) {
      throw new RangeError(`gap ${from}..${to} leaves a hole after ${this.lastSeq}`);
    }
    return true;
  }

  /** Records a gap; `false` if it was already behind us. */
  skip(from: number, to: number): boolean {
    if (!this.checkSkip(from, to)) {
      return false;
    }
    this.lastSeq = to;
    this.lastPos = 0;
    this.sinceAck++;
    return true;
  }

  /** Whether `ackEvery` messages arrived since the last acknowledgement. */
  ackDue(): boolean {
    return this.sinceAck >= this.ackEvery;
  }

  /** Whether the last accepted message is the first since the last acknowledgement. */
  firstUnacked(): boolean {
    return this.sinceAck === 1;
  }

  /** Whether something was received that the server has not been told about. */
  hasUnacked(): boolean {
    return this.lastSeq > this.lastAcked;
  }

  /** Marks everything received as acknowledged and returns the cumulative value to send. */
  takeAck(): number {
    this.lastAcked = this.lastSeq;
    this.sinceAck = 0;
    return this.lastSeq;
  }

  /** A resume told the server `last`: nothing is pending. */
  resumed(): void {
    this.lastAcked = this.lastSeq;
    this.sinceAck = 0;
  }

  /** A new session: numbering restarts at 1. */
  reset(): void {
    this.lastSeq = 0;
    this.lastPos = 0;
    this.lastAcked = 0;
    this.sinceAck = 0;
  }

  /** The highest server `seq` received, 0 if none. */
  get last(): number {
    return this.lastSeq;
  }

  /** The cluster position of message {@link last}, 0 if it had none (PROTOCOL.md §13). */
  get lastPosition(): number {
    return this.lastPos;
  }
}

/** A reliable message the application sent, as the session-lost event reports it. */
export interface SentMessage {
  readonly event: string;
  readonly payload: Payload;
  readonly topic?: string | undefined;
}

interface Entry {
  readonly frame: WireFrame;
  /** `undefined` for requests: they fail instead of being reported. */
  readonly message: SentMessage | undefined;
}

/**
 * The client's reliable messages from numbering until the server acknowledges them, with their
 * encoded frames, so that a resend after resume writes the same frame with the original `seq`.
 * Bounded by the caller ({@link size} against `maxUnacked`).
 */
export class UnackedBuffer {
  private entries: Entry[] = [];
  /** The seq of `entries[0]`. */
  private head = 1;

  /** The seq the next {@link append} gets. */
  get nextSeq(): number {
    return this.head + this.entries.length;
  }

  /** The highest seq assigned, 0 if none. */
  get highestSeq(): number {
    return this.nextSeq - 1;
  }

  /** The oldest unacknowledged seq ({@link nextSeq} if none). */
  get firstSeq(): number {
    return this.head;
  }

  /** Messages held. */
  get size(): number {
    return this.entries.length;
  }

  /** Stores a numbered frame and returns its seq. */
  append(frame: WireFrame, message: SentMessage | undefined): number {
    this.entries.push({ frame, message });
    return this.nextSeq - 1;
  }

  /** The frame of an unacknowledged `seq`. */
  frame(seq: number): WireFrame {
    const e = this.entries[seq - this.head];
    if (e === undefined) {
      throw new RangeError(`seq ${seq} not held`);
    }
    return e.frame;
  }

  /** Frees everything up to `seq` (a cumulative acknowledgement); returns how many. */
  releaseUpTo(seq: number): number {
    const n = Math.max(0, Math.min(seq - this.head + 1, this.entries.length));
    if (n > 0) {
      this.entries.splice(0, n);
      this.head += n;
    }
    return n;
  }

  /** Empties the buffer for a new session; returns the messages held (requests excluded). */
  clear(): SentMessage[] {
    const held = this.entries.flatMap((e) => (e.message === undefined ? [] : [e.message]));
    this.entries = [];
    this.head = 1;
    return held;
  }
}
