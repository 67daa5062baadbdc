package dev.tether.benchmarks.load;

import java.util.Arrays;

/** A reusable byte buffer for building small ASCII/JSON texts without allocating per message. */
final class AsciiBuilder {

    private byte[] bytes = new byte[256];
    private int length;

    AsciiBuilder clear() {
        length = 0;
        return this;
    }

    AsciiBuilder append(String ascii) {
        int n = ascii.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            bytes[length++] = (byte) ascii.charAt(i);
        }
        return this;
    }

    AsciiBuilder append(long value) {
        if (value == Long.MIN_VALUE) {
            return append(Long.toString(value));
        }
        ensure(20);
        if (value < 0) {
            bytes[length++] = '-';
            value = -value;
        }
        int start = length;
        do {
            bytes[length++] = (byte) ('0' + value % 10);
            value /= 10;
        } while (value != 0);
        for (int i = start, j = length - 1; i < j; i++, j--) {
            byte t = bytes[i];
            bytes[i] = bytes[j];
            bytes[j] = t;
        }
        return this;
    }

    byte[] bytes() {
        return bytes;
    }

    int length() {
        return length;
    }

    private void ensure(int more) {
        if (length + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
        }
    }
}
