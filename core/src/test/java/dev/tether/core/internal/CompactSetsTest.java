package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class CompactSetsTest {

    @Test
    void staysImmutableUpToSmallThenGrowsIntoOneConcurrentSetChangedInPlace() {
        Set<String> set = Set.of();
        for (int i = 1; i <= CompactSets.SMALL; i++) {
            Set<String> before = set;
            set = CompactSets.plus(set, "t" + i);
            assertThat(set).isNotSameAs(before).hasSize(i).contains("t" + i);
            assertThat(CompactSets.isLarge(set)).isFalse();
            assertThat(before).hasSize(i - 1); // a reader's snapshot is unchanged
        }
        Set<String> large = CompactSets.plus(set, "t5");
        assertThat(CompactSets.isLarge(large)).isTrue();
        assertThat(large).containsExactlyInAnyOrder("t1", "t2", "t3", "t4", "t5");
        assertThat(CompactSets.plus(large, "t6")).isSameAs(large).hasSize(6);
        assertThat(CompactSets.minus(large, "t1")).isSameAs(large).hasSize(5).doesNotContain("t1");
    }

    @Test
    void removingFromASmallSetMakesANewOneAndTheLastLeavesItEmpty() {
        Set<String> set = CompactSets.plus(CompactSets.plus(Set.of(), "a"), "b");
        Set<String> one = CompactSets.minus(set, "a");
        assertThat(one).containsExactly("b");
        assertThat(set).containsExactlyInAnyOrder("a", "b");
        assertThat(CompactSets.minus(one, "b")).isEmpty();
    }
}
