package dev.tether.undertow.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Incremental UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), for text that arrives in pieces: a character may be split between two fragments or
 * two reads, and an invalid byte is found in the piece that holds it, before the message ends.
 *
 * <p>Not thread-safe; one per message being read in pieces. Holds three ints and nothing else.
 * Text that is all here is checked by {@link #isValid}, which needs no instance for ASCII.
 */
final class Utf8Validator {

    private static final long HIGH_BITS = 0x8080_8080_8080_8080L;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** Continuation bytes still expected for the character being read. */
    private int needed;
    /** The allowed range of the next continuation byte (narrower right after some lead bytes). */
    private int lower = 0x80;
    private int upper = 0xBF;

    /** Whether {@code length} bytes are UTF-8 text, whole (no character cut at the end). */
    static boolean isValid(byte[] bytes, int offset, int length) {
        int end = offset + length;
        int i = skipAsciiWords(bytes, offset, end);
        while (i < end && bytes[i] >= 0) {
            i++;
        }
        if (i == end) {
            return true; // ASCII, as most text is
        }
        Utf8Validator v = new Utf8Validator();
        return v.accept(bytes, i, end - i) && v.complete();
    }

    /** Where the run of ASCII from {@code i} stops being whole eight-byte words. */
    private static int skipAsciiWords(byte[] bytes, int i, int end) {
        while (i + 8 <= end && ((long) LONGS.get(bytes, i) & HIGH_BITS) == 0) {
            i += 8;
        }
        return i;
    }

    /** Whether no character is left incomplete: the text so far may end here. */
    boolean complete() {
        return needed == 0;
    }

    /** Checks {@code length} more bytes of the text; false at the first byte that cannot be UTF-8. */
    boolean accept(byte[] bytes, int offset, int length) {
        int i = offset;
        int end = offset + length;
        while (i < end) {
            if (needed == 0) {
                i = skipAsciiWords(bytes, i, end); // ASCII runs, eight bytes at a time
                if (i == end) {
                    break;
                }
                int b = bytes[i++] & 0xFF;
                if (b < 0x80) {
                    continue;
                }
                if (!lead(b)) {
                    return false;
                }
            } else {
                int b = bytes[i++] & 0xFF;
                if (b < lower || b > upper) {
                    return false;
                }
                lower = 0x80;
                upper = 0xBF;
                needed--;
            }
        }
        return true;
    }

    /** Starts a multi-byte character with lead byte {@code b}; false if no character starts so. */
    private boolean lead(int b) {
        if (b >= 0xC2 && b <= 0xDF) {
            needed = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            needed = 2;
            if (b == 0xE0) {
                lower = 0xA0; // overlong below U+0800
            } else if (b == 0xED) {
                upper = 0x9F; // surrogates U+D800..U+DFFF
            }
        } else if (b >= 0xF0 && b <= 0xF4) {
            needed = 3;
            if (b == 0xF0) {
                lower = 0x90; // overlong below U+10000
            } else if (b == 0xF4) {
                upper = 0x8F; // above U+10FFFF
            }
        } else {
            return false; // a continuation byte, C0/C1 (overlong) or F5..FF
        }
        return true;
    }
}
