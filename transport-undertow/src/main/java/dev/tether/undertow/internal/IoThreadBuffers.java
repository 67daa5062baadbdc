package dev.tether.undertow.internal;

import java.nio.ByteBuffer;

/**
 * The two buffers one I/O thread shares among all its connections: the one each read lands in
 * and the one each batch of outbound frames is encoded into. A connection holds neither while it
 * is idle; it only keeps bytes of its own when they outlive the call that produced them (a
 * partial header, or reads suspended in the middle of a buffer; frames the socket did not take).
 *
 * <p>Threading: only the owning I/O thread touches them ({@link #current()} on it). The write
 * buffer holds the frames of one connection at a time, {@link #writer}; a connection that needs
 * it while another's frames are in it writes those to their socket first, so that bytes of
 * different connections never mix and nothing waits for a flush that is not coming.
 */
final class IoThreadBuffers {

    /** Bytes read from the socket per read call: a few typical messages, or part of a large one. */
    static final int READ_BYTES = 32 * 1024;
    /** Bytes of frames one flush can write in a single system call. */
    static final int WRITE_BYTES = 64 * 1024;

    private static final ThreadLocal<IoThreadBuffers> BUFFERS = ThreadLocal.withInitial(IoThreadBuffers::new);

    /** Heap, so that payloads can be unmasked and checked in its array. */
    final ByteBuffer read = ByteBuffer.allocate(READ_BYTES);
    /** Direct, so that the socket write copies nothing. */
    final ByteBuffer write = ByteBuffer.allocateDirect(WRITE_BYTES);
    /** The connection whose unflushed frames are in {@link #write}, or null when it is empty. */
    UndertowConnection writer;

    private IoThreadBuffers() {
    }

    /** The buffers of the calling thread, an I/O thread. */
    static IoThreadBuffers current() {
        return BUFFERS.get();
    }
}
