use std::collections::BTreeSet;

use ipnet::IpNet;
use proptest::prelude::*;

use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn overlap() {
    assert!(overlaps(&net("10.0.0.0/16"), &net("10.0.5.0/24")));
    assert!(overlaps(&net("10.0.5.0/24"), &net("10.0.0.0/16")));
    assert!(!overlaps(&net("10.0.0.0/24"), &net("10.0.1.0/24")));
    assert!(!overlaps(&net("10.0.0.0/24"), &net("fd00::/64")));
}

#[test]
fn v4_addresses_skip_network_gateway_and_broadcast() {
    let pool = net("10.0.0.0/29");
    assert_eq!(capacity(&pool), 5);
    assert_eq!(address_at(&pool, 1), None);
    assert_eq!(address_at(&pool, 2).unwrap().to_string(), "10.0.0.2");
    assert_eq!(address_at(&pool, 6).unwrap().to_string(), "10.0.0.6");
    assert_eq!(address_at(&pool, 7), None);
}

#[test]
fn v6_addresses() {
    let pool = net("fd00:1::/64");
    assert_eq!(address_at(&pool, 2).unwrap().to_string(), "fd00:1::2");
}

#[test]
fn free_indices_fill_gaps_first() {
    let pool = net("10.0.0.0/29");
    assert_eq!(free_indices(&pool, &[2, 4], 2), vec![3, 5]);
    assert_eq!(free_indices(&pool, &[2, 3, 4, 5, 6], 1), Vec::<u64>::new());
    assert_eq!(free_indices(&pool, &[], 10), vec![2, 3, 4, 5, 6]);
}

proptest! {
    #[test]
    fn free_indices_are_unused_distinct_and_in_pool(
        used in proptest::collection::btree_set(2u64..300, 0..200),
        count in 0usize..100,
    ) {
        let pool = net("10.9.0.0/23");
        let used_vec: Vec<u64> = used.iter().copied().collect();
        let free = free_indices(&pool, &used_vec, count);
        let distinct: BTreeSet<u64> = free.iter().copied().collect();
        prop_assert_eq!(distinct.len(), free.len());
        for index in &free {
            prop_assert!(!used.contains(index));
            prop_assert!(address_at(&pool, *index).is_some());
        }
        let available = capacity(&pool) as usize - used.len();
        prop_assert_eq!(free.len(), count.min(available));
    }
}

proptest! {
    /// Without gaps, the shortcut gives what the full search gives.
    #[test]
    fn indices_after_agrees_with_the_gap_search(prefix in 22u8..30, used in 0u64..2000, count in 1usize..40) {
        let pool = net(&format!("10.8.0.0/{prefix}"));
        let max_used = FIRST_DEVICE_INDEX.checked_add(used).and_then(|end| end.checked_sub(1));
        let max_used = max_used.filter(|_| used > 0).map(|max| max.min(last_index(&pool)));
        let used: Vec<u64> = max_used.map_or_else(Vec::new, |max| (FIRST_DEVICE_INDEX..=max).collect());
        prop_assert_eq!(indices_after(&pool, max_used, count), free_indices(&pool, &used, count));
    }
}
