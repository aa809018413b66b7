//! Inserting into and removing from exactly-sized boxed slices.
//!
//! Node values and child lists are `Box<[T]>`: 16 bytes instead of a `Vec`'s 24,
//! and no spare capacity. An update reallocates the slice once.

/// Inserts `value` at `at` (clamped to the length), reallocating exactly.
/// (Growing the block with `realloc` and shifting the tail was slower: the
/// block rarely grows in place, so the tail is copied twice.)
pub(crate) fn boxed_insert<T>(slice: &mut Box<[T]>, at: usize, value: T) {
    let old = std::mem::take(slice).into_vec();
    let at = at.min(old.len());
    let mut new = Vec::with_capacity(old.len() + 1);
    let mut rest = old.into_iter();
    new.extend(rest.by_ref().take(at));
    new.push(value);
    new.extend(rest);
    *slice = new.into_boxed_slice();
}

/// Removes and returns the element at `at`, reallocating exactly (a block
/// shrinks in place); `None` when `at` is out of bounds.
pub(crate) fn boxed_remove<T>(slice: &mut Box<[T]>, at: usize) -> Option<T> {
    if at >= slice.len() {
        return None;
    }
    let mut v = std::mem::take(slice).into_vec();
    let removed = v.remove(at);
    *slice = v.into_boxed_slice();
    Some(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_remove_keep_exact_size() {
        let mut s: Box<[String]> = Box::default();
        boxed_insert(&mut s, 0, "b".to_owned());
        boxed_insert(&mut s, 0, "a".to_owned());
        boxed_insert(&mut s, 9, "c".to_owned());
        assert_eq!(&*s, ["a", "b", "c"]);
        assert_eq!(boxed_remove(&mut s, 1).as_deref(), Some("b"));
        assert_eq!(boxed_remove(&mut s, 2), None);
        assert_eq!(&*s, ["a", "c"]);
        assert_eq!(s.len(), 2);
    }
}
