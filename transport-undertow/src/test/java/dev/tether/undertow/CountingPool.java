package dev.tether.undertow;

import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the pooled buffers handed out and not yet closed. */
final class CountingPool implements ByteBufferPool {
    final AtomicInteger outstanding = new AtomicInteger();
    private final ByteBufferPool delegate;

    CountingPool(ByteBufferPool delegate) {
        this.delegate = delegate;
    }

    @Override
    public PooledByteBuffer allocate() {
        PooledByteBuffer pooled = delegate.allocate();
        outstanding.incrementAndGet();
        AtomicBoolean closed = new AtomicBoolean();
        return new PooledByteBuffer() {
            @Override
            public ByteBuffer getBuffer() {
                return pooled.getBuffer();
            }

            @Override
            public void close() {
                if (closed.compareAndSet(false, true)) {
                    outstanding.decrementAndGet();
                    pooled.close();
                }
            }

            @Override
            public boolean isOpen() {
                return !closed.get();
            }
        };
    }

    @Override
    public ByteBufferPool getArrayBackedPool() {
        return delegate.getArrayBackedPool();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public int getBufferSize() {
        return delegate.getBufferSize();
    }

    @Override
    public boolean isDirect() {
        return delegate.isDirect();
    }
}
