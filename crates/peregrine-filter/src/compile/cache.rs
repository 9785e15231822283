//! Field slots shared by all filters of an engine, and the per-event cache
//! of extracted values indexed by slot.

use super::ir::Check;
use crate::extract::{Ctx, extract};
use crate::field::Field;
use crate::value::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Gives every distinct field reference (`proc.name`, `proc.aname[2]`) a
/// slot number. Filters compiled with the same interner share slots, so a
/// [`FieldCache`] extracts `proc.name` once per event however many rules
/// read it.
pub struct FieldInterner {
    by_name: HashMap<String, u32>,
    fields: Vec<Field>,
    /// Checks by key, for [`FieldCache`]'s per-event check results.
    pub(crate) checks: HashMap<String, u32>,
    /// Per check id: the check, once built, for filters that have it too.
    built: Vec<Option<Arc<Check>>>,
    layout: u64,
}

static NEXT_LAYOUT: AtomicU64 = AtomicU64::new(1);

impl Default for FieldInterner {
    fn default() -> Self {
        FieldInterner {
            by_name: HashMap::new(),
            fields: Vec::new(),
            checks: HashMap::new(),
            built: Vec::new(),
            layout: NEXT_LAYOUT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl FieldInterner {
    /// An empty interner.
    pub fn new() -> FieldInterner {
        FieldInterner::default()
    }

    /// Identifies this interner's slot layout.
    pub(crate) fn layout(&self) -> u64 {
        self.layout
    }

    /// Number of slots handed out.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no slot was handed out.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The slot of `field`, allocated on first use.
    pub fn intern(&mut self, field: &Field) -> u32 {
        let key = field.canonical();
        if let Some(&s) = self.by_name.get(&key) {
            return s;
        }
        let s = self.fields.len() as u32;
        self.fields.push(field.clone());
        self.by_name.insert(key, s);
        s
    }

    /// The id of the check named `key` (equal keys: equal checks).
    pub(crate) fn intern_check(&mut self, key: String) -> u32 {
        let n = self.checks.len() as u32;
        *self.checks.entry(key).or_insert(n)
    }

    /// The check of id `id`, if one was built ([`FieldInterner::keep`]).
    pub(crate) fn built(&self, id: u32) -> Option<Arc<Check>> {
        self.built.get(id as usize)?.clone()
    }

    /// Keeps `check`, of id `id`, for the next filters that have it.
    pub(crate) fn keep(&mut self, id: u32, check: &Arc<Check>) {
        let i = id as usize;
        if i >= self.built.len() {
            self.built.resize(i + 1, None);
        }
        self.built[i] = Some(Arc::clone(check));
    }

    /// The field of slot `slot`.
    pub fn field(&self, slot: u32) -> Option<&Field> {
        self.fields.get(slot as usize)
    }
}

/// Where a slot's value for the current event is, if extracted.
#[derive(Clone, Copy, Debug)]
struct Entry {
    generation: u32,
    /// Index into [`FieldCache::values`].
    index: u32,
}

/// Per-event cache of extracted field values, indexed by the slots of a
/// [`FieldInterner`]. [`FieldCache::reset`] starts a new event (a
/// generation counter, and dropping the values extracted for the last
/// event only); [`FieldCache::recycle`] moves the cache, with its
/// allocations, to events of another lifetime (the usual case when events
/// borrow a reader's reused buffer), also in time independent of the
/// number of slots.
pub struct FieldCache<'a> {
    generation: u32,
    layout: u64,
    /// Per slot: when and where its value was stored. No lifetime, so it
    /// survives [`FieldCache::recycle`] untouched.
    entries: Vec<Entry>,
    /// The values extracted for the current event, in extraction order.
    values: Vec<Option<Value<'a>>>,
    /// Per check id: `generation << 1 | result` of its last evaluation.
    memo: Vec<u64>,
    pub(crate) bufs: Vec<Vec<u8>>,
}

impl Default for FieldCache<'_> {
    fn default() -> Self {
        FieldCache {
            generation: 1,
            layout: 0,
            entries: Vec::new(),
            values: Vec::new(),
            memo: Vec::new(),
            bufs: Vec::new(),
        }
    }
}

const EMPTY: Entry = Entry {
    generation: 0,
    index: 0,
};

impl<'a> FieldCache<'a> {
    /// A cache sized for the slots of `interner` (it grows when filters
    /// compiled later need more).
    pub fn new(interner: &FieldInterner) -> FieldCache<'a> {
        let mut c = FieldCache {
            layout: interner.layout,
            ..FieldCache::default()
        };
        c.entries.resize(interner.len(), EMPTY);
        c.memo.resize(interner.checks.len(), 0);
        c.values.reserve(interner.len().min(64));
        c
    }

    /// Forgets every value: the next lookups extract again. Drops only the
    /// values extracted since the last reset.
    pub fn reset(&mut self) {
        self.values.clear();
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.entries.fill(EMPTY);
            self.memo.fill(0);
            self.generation = 1;
        }
    }

    /// The same cache (and its allocations), empty, for events of another
    /// lifetime. No allocation; independent of the number of slots.
    pub fn recycle<'b>(mut self) -> FieldCache<'b> {
        self.reset();
        self.retype()
    }

    /// The same cache for events of another lifetime, keeping the current
    /// generation: for a cache that [`FieldCache::recycle`] already emptied
    /// (a lifetime change needs no new generation). Values still held are
    /// dropped.
    pub fn retype<'b>(mut self) -> FieldCache<'b> {
        self.values.clear();
        let FieldCache {
            entries,
            values,
            memo,
            bufs,
            layout,
            generation,
        } = self;
        // `values` is empty: the in-place collect only re-types it and
        // keeps its allocation.
        let values: Vec<Option<Value<'b>>> = values.into_iter().map(|_| None).collect();
        FieldCache {
            generation,
            layout,
            entries,
            values,
            memo,
            bufs,
        }
    }

    /// Switches the cache to the slot layout `layout`, forgetting values
    /// stored under another layout.
    #[inline]
    pub(crate) fn bind(&mut self, layout: u64) {
        if self.layout != layout {
            self.layout = layout;
            self.reset();
        }
    }

    /// Makes sure slot `slot` holds the value of `field` for this event.
    #[inline]
    pub(crate) fn fill(&mut self, slot: u32, field: &Field, cx: &Ctx<'a>) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries.resize(i + 1, EMPTY);
        }
        if self.entries[i].generation != self.generation {
            let index = self.values.len() as u32;
            self.values.push(extract(field, cx));
            self.entries[i] = Entry {
                generation: self.generation,
                index,
            };
        }
    }

    /// The value of slot `slot` (after [`FieldCache::fill`]).
    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&Value<'a>> {
        let e = self.entries.get(slot as usize)?;
        if e.generation != self.generation {
            return None;
        }
        self.values.get(e.index as usize)?.as_ref()
    }

    /// The result of check `id` if it already ran on this event.
    #[inline]
    pub(crate) fn recalled(&self, id: u32) -> Option<bool> {
        let m = *self.memo.get(id as usize)?;
        (m >> 1 == self.generation as u64).then_some(m & 1 != 0)
    }

    /// Records the result of check `id` for this event.
    #[inline]
    pub(crate) fn remember(&mut self, id: u32, result: bool) {
        let i = id as usize;
        if i >= self.memo.len() {
            self.memo.resize(i + 1, 0);
        }
        self.memo[i] = (self.generation as u64) << 1 | result as u64;
    }

    /// Takes a scratch buffer out of the cache (give it back with
    /// [`FieldCache::give`]).
    pub(crate) fn take_buf(&mut self) -> Vec<u8> {
        self.bufs.pop().unwrap_or_default()
    }

    /// Returns a scratch buffer.
    pub(crate) fn give(&mut self, mut b: Vec<u8>) {
        b.clear();
        if self.bufs.len() < 16 {
            self.bufs.push(b);
        }
    }
}

/// A fast non-cryptographic hasher (FxHash) for the constant sets of `in`
/// checks: keys come from rules files, not from events.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hash builder for [`FxHasher`].
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
